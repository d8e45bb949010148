"""Run one scenario under one fault plan on a real server, with real worker processes, and verify.

The parent process drives the scenario (``run_scenario_async(..., with_worker=False)``); the
scenario's workers run in subprocesses (:mod:`replaykit.faults.worker`) that apply the plan
from the inside. The parent restarts what was killed (a warm standby worker takes over; the
embedded server is restarted on its port and store), serves the workers' requests (kill the
server, cancel, signal), then checks the invariants of :mod:`._invariants`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import temporalio.api.history.v1
import temporalio.client

from replaykit._internal._errors import ReplaykitError
from replaykit._internal._sync import sync_twin
from replaykit.check._engine import CheckOptions, check_histories
from replaykit.config._settings import DEFAULT_SCENARIO_TIMEOUT, fault_server_spec
from replaykit.history._codec import decode_history, has_codec, load_data_converter
from replaykit.history._events import view_of
from replaykit.history._files import HistoryFile, make_meta
from replaykit.record._scenario import Scenario, ScenarioOutcome, run_scenario_async
from replaykit.servers import RunningServer, ServerSpec, parse_server, start_server_async

from ._control import Control
from ._invariants import (
    Baseline,
    ExecutionSummary,
    InvariantVerdict,
    check_exactly_once,
    check_no_rerun,
    check_outcome,
    check_retry_policy,
    check_scenario,
    lenient_reason,
    summarize_run,
)
from ._options import NOT_GIVEN, FaultRunOptions, resolve_options
from ._plan import CancelWorkflow, FaultPlan, instance_id
from ._pool import WorkerPool, WorkerSpec, WorkerSupply

__all__ = [
    "FaultRunResult",
    "baseline_of",
    "reproduce_command",
    "run_fault_plan",
    "run_fault_plan_async",
    "run_fault_plan_pooled_async",
]


@dataclass(frozen=True)
class FaultRunResult:
    """What one fault run did and which invariants held.

    Attributes:
        scenario: Scenario name.
        plan: The plan that was applied.
        verdicts: One verdict per invariant (see :mod:`replaykit.faults._invariants`).
        injected: Readable lines: each fault that fired, where, in which process.
        not_reached: Faults whose point never happened (the plan tested nothing there).
        kills: Worker processes killed by the plan.
        recoveries: Seconds from each worker kill to the first progress on its successor.
        executions: What each execution did (close, result digest, steps).
        scenario_ok: Whether every scenario instance passed its own assertions.
        scenario_result: ``repr`` of the first instance's return value.
        seconds: Wall time of the run.
        error: A harness error (the run could not be carried out); exit code 2.
        reproduce: A command that runs exactly this plan again.
        histories: Every execution's history (by workflow id / run id).
    """

    scenario: str
    plan: FaultPlan
    verdicts: tuple[InvariantVerdict, ...] = ()
    injected: tuple[str, ...] = ()
    not_reached: tuple[str, ...] = ()
    kills: int = 0
    recoveries: tuple[float, ...] = ()
    executions: tuple[ExecutionSummary, ...] = ()
    scenario_ok: bool = True
    scenario_result: str = ""
    seconds: float = 0.0
    error: str | None = None
    reproduce: str | None = None
    histories: dict[tuple[str, str], temporalio.api.history.v1.History] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def ok(self) -> bool:
        """True when the run was carried out and no invariant was violated."""
        return self.error is None and all(v.ok for v in self.verdicts)

    @property
    def violations(self) -> tuple[InvariantVerdict, ...]:
        """The violated invariants."""
        return tuple(v for v in self.verdicts if not v.ok)


def baseline_of(result: FaultRunResult) -> Baseline:
    """The baseline a fault-free run gives for comparing later runs."""
    return Baseline(
        scenario_ok=result.scenario_ok,
        scenario_result=result.scenario_result,
        executions=result.executions,
    )


def reproduce_command(
    scenario: Scenario, plan: FaultPlan, *, files: Sequence[str] | None = None
) -> str:
    """``replaykit faults FILE -k NAME --plan '<json>'``: runs exactly this plan again."""
    sources = list(files or ([scenario.module_path] if scenario.module_path else []))
    rel = []
    for src in sources:
        with contextlib.suppress(ValueError):
            src = str(Path(src).resolve().relative_to(Path.cwd()))
        rel.append(shlex.quote(src))
    # the timeout the scenario ran with, when not the default (a flag, the config or its own)
    timeout = (
        f" --scenario-timeout {scenario.timeout:g}"
        if scenario.timeout != DEFAULT_SCENARIO_TIMEOUT
        else ""
    )
    return (
        f"replaykit faults {' '.join(rel)} -k {shlex.quote(scenario.name)}{timeout} "
        f"--plan {shlex.quote(plan.dumps())}"
    )


class _StartTweaks(temporalio.client.Interceptor):
    """Suffixes workflow ids per concurrent instance; shortens the workflow task timeout.

    A workflow task lost with a killed worker is retried after the task timeout (10 s by
    default); fault runs use a short one so recovery is not dominated by it.
    """

    def __init__(self, instance: int, task_timeout: timedelta | None) -> None:
        self.instance = instance
        self.task_timeout = task_timeout

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _StartTweaksOutbound(next, self)


class _StartTweaksOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, cfg: _StartTweaks) -> None:
        super().__init__(next)
        self._cfg = cfg

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        input.id = instance_id(input.id, self._cfg.instance)
        if input.task_timeout is None and self._cfg.task_timeout is not None:
            input.task_timeout = self._cfg.task_timeout
        return await super().start_workflow(input)


async def run_fault_plan_async(
    scenario: Scenario,
    plan: FaultPlan,
    *,
    options: FaultRunOptions | None = None,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    baseline: Baseline | None = NOT_GIVEN.baseline,
    concurrency: int = NOT_GIVEN.concurrency,
    standby: bool = NOT_GIVEN.standby,
    workflow_task_timeout: float | None = NOT_GIVEN.workflow_task_timeout,
    check_replay: bool = NOT_GIVEN.check_replay,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    worker_context: str | None = NOT_GIVEN.worker_context,
    data_converter: str | None = NOT_GIVEN.data_converter,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
) -> FaultRunResult:
    """:func:`run_fault_plan` for async callers (the same parameters)."""
    opts = resolve_options(options, locals(), where="run_fault_plan_async")
    return await run_fault_plan_pooled_async(scenario, plan, options=opts)


run_fault_plan = sync_twin(
    run_fault_plan_async,
    doc="""\
    Run ``scenario`` under ``plan`` on a real server with worker subprocesses and verify.

    Args:
        scenario: The scenario (loaded from a file: the workers import it by file and name).
        plan: What to inject (an empty plan is a fault-free baseline run).
        options: The run options (:class:`FaultRunOptions`: server, baseline, concurrency,
            standby, workflow task timeout, replay check, scenario files, worker context,
            data converter, plugins; each documented there).
        server, baseline, concurrency, standby, workflow_task_timeout, check_replay,
        scenario_files, worker_context, data_converter, plugins: The same options as
            keywords, merged into ``options`` (:meth:`FaultRunOptions.merge`).

    Returns:
        The result; ``result.ok`` says whether every invariant held.

    Raises:
        TypeError: An option given both in ``options`` and as a keyword, with two values.
""",
)


async def run_fault_plan_pooled_async(
    scenario: Scenario,
    plan: FaultPlan,
    *,
    options: FaultRunOptions | None = None,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    baseline: Baseline | None = NOT_GIVEN.baseline,
    concurrency: int = NOT_GIVEN.concurrency,
    standby: bool = NOT_GIVEN.standby,
    workflow_task_timeout: float | None = NOT_GIVEN.workflow_task_timeout,
    check_replay: bool = NOT_GIVEN.check_replay,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    worker_context: str | None = NOT_GIVEN.worker_context,
    data_converter: str | None = NOT_GIVEN.data_converter,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
    supply: WorkerSupply | None = None,
    first_instance: int = 0,
) -> FaultRunResult:
    """:func:`run_fault_plan_async` on warm workers other runs share (explorations, rollback).

    Args:
        supply: Warm worker processes shared by several runs (default: this run's own).
        first_instance: Instance number of the first scenario instance; workflow ids get a
            ``~N`` suffix for N > 0, so runs sharing a server at once do not collide.
    """
    opts = resolve_options(options, locals(), where="run_fault_plan_pooled_async")
    reproduce = reproduce_command(scenario, plan, files=opts.scenario_files)
    owned: RunningServer | None = None
    workdir = Path(tempfile.mkdtemp(prefix="replaykit-faults-"))
    try:
        running = opts.server
        if not isinstance(running, RunningServer):
            spec, _ = fault_server_spec(
                parse_server(running) if isinstance(running, str) else running,
                kills_server=plan.kills_server,
                workdir=str(workdir),
            )
            owned = running = await start_server_async(spec)
        if plan.kills_server and (running.kind != "embedded" or running.spec.db_filename is None):
            raise ReplaykitError(
                "a server-kill plan needs the embedded server with a persistent store "
                "(--db-filename)"
            )
        result = await _run(
            scenario,
            plan,
            running,
            workdir,
            opts,
            supply=supply,
            first_instance=first_instance,
        )
        return replace(result, reproduce=reproduce)
    except (ReplaykitError, OSError, asyncio.TimeoutError) as err:
        return FaultRunResult(
            scenario=scenario.name,
            plan=plan,
            error=f"{type(err).__name__}: {err}",
            reproduce=reproduce,
        )
    finally:
        if owned is not None:
            await asyncio.to_thread(owned.stop)
        shutil.rmtree(workdir, ignore_errors=True)


async def _serve_requests(
    control: Control,
    server: RunningServer,
    client: temporalio.client.Client,
    handled: list[str],
) -> None:
    while True:
        for req_id, _fault, action, workflow_id, payload in control.pending_requests():
            error: str | None = None
            try:
                if action == "kill-server":
                    await asyncio.to_thread(server.kill)
                    handled.append(f"server pid killed at {time.time():.3f}")
                    await asyncio.to_thread(server.restart)
                elif action == "cancel":
                    await client.get_workflow_handle(workflow_id).cancel()
                elif action == "signal":
                    await client.get_workflow_handle(workflow_id).signal(
                        payload["signal"], *payload.get("args", [])
                    )
            except Exception as err:
                error = f"{type(err).__name__}: {err}"
            control.finish_request(req_id, error=error)
        await asyncio.sleep(0.01)


async def _run(
    scn: Scenario,
    plan: FaultPlan,
    server: RunningServer,
    workdir: Path,
    opts: FaultRunOptions,
    *,
    supply: WorkerSupply | None,
    first_instance: int,
) -> FaultRunResult:
    if not scn.module_path:
        raise ReplaykitError(f"scenario {scn.name} has no file: fault runs load it by file")
    started = time.perf_counter()
    control_path = workdir / "control.db"
    ledger_path = workdir / "ledger.db"
    control = Control(control_path)
    control.set_meta("plan", plan.to_json())
    queue = f"{scn.queue}-{uuid.uuid4().hex[:8]}"
    pool = WorkerPool(
        WorkerSpec(
            address=server.address,
            namespace=server.namespace,
            scenario_file=scn.module_path,
            scenario=scn.name,
            task_queue=queue,
            control=str(control_path),
            log_dir=str(workdir),
            ledger=str(ledger_path),
            worker_context=opts.worker_context,
            data_converter=opts.data_converter,
            plugins=opts.plugins,
        ),
        standby=opts.standby,
        supply=supply,
    )
    converter = load_data_converter(opts.data_converter) if opts.data_converter else None
    client = await server.client(**({"data_converter": converter} if converter else {}))
    handled: list[str] = []
    requests = asyncio.create_task(_serve_requests(control, server, client, handled))
    outcomes: list[ScenarioOutcome] = []
    try:
        await pool.start()
        task_timeout = opts.workflow_task_timeout
        tweak_timeout = timedelta(seconds=task_timeout) if task_timeout else None

        async def one(instance: int) -> ScenarioOutcome:
            config = client.config()
            config["interceptors"] = [
                *config["interceptors"],
                _StartTweaks(first_instance + instance, tweak_timeout),
            ]
            inst_client = temporalio.client.Client(**config)
            return await run_scenario_async(
                scn, inst_client, with_worker=False, task_queue=queue, plugins=opts.plugins
            )

        outcomes = list(await asyncio.gather(*(one(i) for i in range(opts.concurrency))))
    finally:
        requests.cancel()
        with contextlib.suppress(BaseException):
            await requests
        await pool.stop()
    for outcome in outcomes:
        await _terminate_open(client, outcome)
    histories: list[tuple[str, temporalio.api.history.v1.History]] = []
    per_instance: list[list[tuple[str, temporalio.api.history.v1.History]]] = []
    by_ref: dict[tuple[str, str], temporalio.api.history.v1.History] = {}
    for outcome in outcomes:
        instance: list[tuple[str, temporalio.api.history.v1.History]] = []
        for ref in outcome.executions:
            history = outcome.histories.get(ref)
            if history is not None and history.events:
                if has_codec(converter):
                    # The invariants read values: decode once, as the workflow saw them.
                    history = await decode_history(history, converter)
                histories.append((ref.workflow_id, history))
                instance.append((ref.workflow_id, history))
                by_ref[(ref.workflow_id, ref.run_id)] = history
        per_instance.append(instance)
    # Matched with the baseline by place in the scenario, not workflow id (ids may be fresh).
    summaries = summarize_run(per_instance)
    attempts = control.attempts()
    fired = control.fired()
    kill_events = control.events("kill")
    progress = control.events("progress")
    control.close()
    ledger_report = _ledger_report(ledger_path)

    verdicts: list[InvariantVerdict] = []
    lenient = lenient_reason(plan, histories)
    cancelled = sorted(
        {
            f.workflow_id.split("~")[0]
            for f in fired
            if isinstance(plan.faults[f.fault], CancelWorkflow)
        }
    )
    verdicts.append(check_scenario([o.error for o in outcomes], lenient=lenient))
    baseline = opts.baseline
    verdicts.append(check_outcome(summaries, baseline, lenient=lenient, cancelled=cancelled))
    if opts.check_replay:
        verdicts.append(
            await asyncio.to_thread(_check_replay, scn, histories, client.namespace, opts.plugins)
        )
    verdicts.append(
        check_no_rerun(histories, attempts, summaries, baseline if not lenient else None)
    )
    verdicts.append(check_retry_policy(histories, attempts))
    verdicts.append(check_exactly_once(ledger_report, plan, attempts))
    if pool.errors:
        verdicts.append(
            InvariantVerdict("workers", "violation", pool.errors[0], tuple(pool.errors))
        )

    recoveries: list[float] = []
    for at, pid, _, _ in kill_events:
        later = [p_at for p_at, p_pid, _, _ in progress if p_pid != pid and p_at >= at]
        if later:
            recoveries.append(min(later) - at)
    injected = [
        f"#{f.fault} {f.detail} [workflow {f.workflow_id}, worker pid {f.pid}]" for f in fired
    ]
    injected += [
        f"#{a.injected} activity `{a.activity_type}` attempt {a.attempt}: {a.outcome} (injected)"
        for a in attempts
        if a.injected is not None
    ]
    fired_ids = {f.fault for f in fired} | {int(a.injected) for a in attempts if a.injected}
    not_reached = tuple(
        f"#{i} {fault.describe()}" for i, fault in enumerate(plan.faults) if i not in fired_ids
    )
    first = outcomes[0] if outcomes else None
    return FaultRunResult(
        scenario=scn.name,
        plan=plan,
        verdicts=tuple(verdicts),
        injected=tuple(injected),
        not_reached=not_reached,
        kills=len(kill_events),
        recoveries=tuple(recoveries),
        executions=summaries,
        scenario_ok=all(o.ok for o in outcomes),
        scenario_result=repr(first.result) if first is not None else "",
        seconds=time.perf_counter() - started,
        histories=by_ref,
    )


async def _terminate_open(client: temporalio.client.Client, outcome: ScenarioOutcome) -> None:
    """Terminate executions the scenario left running, so the next run can reuse the ids."""
    for ref in outcome.executions:
        history = outcome.histories.get(ref)
        if history is not None and view_of(history).completion is not None:
            continue
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(ref.workflow_id, run_id=ref.run_id).terminate(
                "replaykit fault run ended"
            )


def _ledger_report(path: Path) -> Any:
    if not path.exists():
        return None
    from replaykit.effects._ledger import verify_effects

    return verify_effects(path, raise_on_failure=False)


def _check_replay(
    scn: Scenario,
    histories: Sequence[tuple[str, temporalio.api.history.v1.History]],
    namespace: str,
    plugins: Sequence[str] = (),
) -> InvariantVerdict:
    files = [
        HistoryFile(
            path=None,
            workflow_id=wid,
            history=h,
            meta=make_meta(
                workflow_id=wid,
                run_id=None,
                workflow_type=view_of(h).started_attrs.workflow_type.name,
                task_queue=None,
                namespace=namespace,
                scenario=scn.name,
            ),
        )
        for wid, h in histories
    ]
    if not files:
        return InvariantVerdict("replay", "skipped", "no histories")
    report = check_histories(
        files,
        workflows=list(scn.workflows),
        jobs=0,
        options=CheckOptions(plugins=(*scn.plugins, *plugins)),
    )
    bad = [r for r in report.results if r.status != "clean"]
    if not bad:
        return InvariantVerdict("replay", "ok", f"{len(files)} histories replay clean (strict)")
    lines = []
    for r in bad:
        first = r.divergences[0].message if r.divergences else (r.error or r.status)
        lines.append(f"{r.workflow_id or r.path}: {r.status}: {first}")
    return InvariantVerdict("replay", "violation", lines[0], tuple(lines))
