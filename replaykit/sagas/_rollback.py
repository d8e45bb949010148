"""prove-rollback: fail every forward step of a saga on a real server and compare the world.

For each forward step of a saga, :func:`prove_rollback` runs the scenario under three fault
plans (see :func:`rollback_probes`):

* **before-effect** - the step's first attempt fails with a non-retryable error before its
  function runs: the step never applied; the steps before it must be undone;
* **after-effect** - the step's first attempt applies its side effect and the worker is killed
  before the result reaches the server (the completion is lost); every later attempt stalls
  past its heartbeat timeout, so the workflow finally sees the step *time out*: it may have
  applied, so it must be undone too (with the steps before it);
* **cancel** - the workflow is cancelled while the step is in flight (the step is held until
  its heartbeat timeout, before its side effect): everything applied so far must be undone.

Around each run it takes a snapshot of the world with a user function (for example the rows of
the SQLite tables the activities write) and compares the world afterwards with the world before.
Every difference is a *leftover* (a reservation never released, a charge never refunded). Each
run's histories also go through the saga verifier (:func:`~replaykit.verify_saga`) and, when the
world file holds an effects ledger, the ledger verifier; the fault runner's own invariants
(strict replay, retry policy, no re-run) are kept too.

Each run gets a fresh world: ``$REPLAYKIT_WORLD`` (:data:`ENV_WORLD`) names a new SQLite file
before the run starts. The scenario and the snapshot function run in this process and read it;
the scenario hands the location to the activities in the workflow input (the reference payment
agent's ``Order.db_path``). Do not rely on the worker processes' environment for it: fault runs
may reuse warm worker processes from earlier runs.

Snapshots are compared by :mod:`._world_diff`; the ``saga prove-rollback`` command's request
and runner live with the CLI (:mod:`replaykit.cli._prove_rollback`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit._internal._imports import resolve_ref
from replaykit._internal._sync import run_sync
from replaykit.faults._invariants import InvariantVerdict
from replaykit.faults._options import NOT_GIVEN, FaultRunOptions, resolve_options
from replaykit.faults._plan import (
    CancelWorkflow,
    FailActivity,
    FaultPlan,
    KillWorker,
    Point,
    TimeoutActivity,
)
from replaykit.faults._pool import WorkerSupply
from replaykit.faults._runner import FaultRunResult, run_fault_plan_pooled_async
from replaykit.record._scenario import Scenario
from replaykit.servers import RunningServer, ServerSpec, parse_server, start_server_async

from ._verify import ActivityRef, SagaReport, SagaSpec, SagaStep, saga_argument, verify_saga
from ._world_diff import Leftover, diff_worlds

__all__ = [
    "ENV_WORLD",
    "PHASES",
    "Leftover",
    "Phase",
    "RollbackError",
    "RollbackProbe",
    "RollbackReport",
    "RollbackRun",
    "diff_worlds",
    "load_snapshot",
    "prove_rollback",
    "prove_rollback_async",
    "rollback_probes",
]

ENV_WORLD = "REPLAYKIT_WORLD"
"""Environment variable naming the fresh world file of the current prove-rollback run."""

Phase = Literal["before-effect", "after-effect", "cancel"]
PHASES: tuple[Phase, ...] = ("before-effect", "after-effect", "cancel")

RunStatus = Literal["ok", "leftover", "violation", "not-reached", "not-rolled-back", "error"]
Snapshot = Callable[[], Mapping[str, Any]]

#: Error type of the injected non-retryable failure (visible in histories and reports).
PROBE_ERROR = "ReplaykitRollbackProbe"


# --------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class RollbackProbe:
    """One fault plan aimed at one forward step.

    Attributes:
        step: The forward activity type the fault hits.
        compensation: Its compensating activity type.
        phase: ``before-effect``, ``after-effect`` or ``cancel``.
        plan: The fault plan carried out.
    """

    step: str
    compensation: str
    phase: Phase
    plan: FaultPlan

    def describe(self) -> str:
        """``failing `charge_payment` after its side effect``."""
        if self.phase == "before-effect":
            return f"failing `{self.step}` before its side effect"
        if self.phase == "after-effect":
            return f"failing `{self.step}` after its side effect"
        return f"cancelling the workflow while `{self.step}` runs"


def _probe_plan(step: str, phase: Phase) -> FaultPlan:
    if phase == "before-effect":
        return FaultPlan((FailActivity(step, 1, None, PROBE_ERROR, non_retryable=True),))
    if phase == "after-effect":
        # Attempt 1 applies and its completion is lost; later attempts never report, so the
        # workflow ends up with a timeout - the one failure after which a step "may have
        # applied". Needs bounded retries (maximum_attempts or a schedule-to-close timeout).
        return FaultPlan(
            (
                KillWorker(Point("activity-returned", activity=step, attempt=1)),
                TimeoutActivity(step, 2, None, "heartbeat"),
            )
        )
    # Hold the step (no result, no heartbeat) so the cancellation, not the step's completion,
    # decides how it ends: the SDK hands a workflow the result of an activity that completed
    # after its cancellation was requested, and the cancellation is then gone.
    return FaultPlan(
        (
            CancelWorkflow(Point("activity-start", activity=step, attempt=1)),
            TimeoutActivity(step, 1, None, "heartbeat"),
        )
    )


def _resolve_steps(
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]],
) -> tuple[SagaStep, ...]:
    if isinstance(steps, SagaSpec):
        return steps.steps
    return SagaSpec(steps).steps


def rollback_probes(
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]],
    *,
    phases: Sequence[Phase] = PHASES,
    only: Sequence[str] | None = None,
) -> list[RollbackProbe]:
    """The fault plans :func:`prove_rollback` runs: one per forward step and phase.

    Args:
        steps: The saga (a :class:`SagaSpec` or ``(forward, compensation)`` pairs).
        phases: Which of ``before-effect``, ``after-effect``, ``cancel``.
        only: Only these forward steps (activity type names).

    Raises:
        ConfigError: An unknown phase, or a step in ``only`` that the saga does not have.
    """
    saga = _resolve_steps(steps)
    bad = [p for p in phases if p not in PHASES]
    if bad:
        raise ConfigError(f"unknown phase {bad[0]!r}; expected one of {', '.join(PHASES)}")
    forward = [s.forward for s in saga]
    unknown = [s for s in (only or ()) if s not in forward]
    if unknown:
        raise ConfigError(
            f"`{unknown[0]}` is not a forward step of the saga ({', '.join(forward)})"
        )
    return [
        RollbackProbe(s.forward, s.compensation, phase, _probe_plan(s.forward, phase))
        for s in saga
        if not only or s.forward in only
        for phase in PHASES
        if phase in phases
    ]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RollbackRun:
    """One probe's run: the world before and after, the leftovers and every verdict.

    Attributes:
        probe: What was injected.
        status: ``ok``; ``leftover`` (the world differs); ``violation`` (a saga, ledger or
            fault-run invariant broke); ``not-reached`` (the fault never fired: the scenario
            did not run that step); ``not-rolled-back`` (the workflow completed the saga
            anyway, so nothing was rolled back); ``error`` (the run could not be carried out).
        leftovers: World differences.
        lines: Readable explanation of each leftover.
        verdicts: Saga, effects and fault-run invariants (``world`` first).
        sagas: The saga verifier's report per history.
        fault: The fault run's result (histories, injected faults, timing).
        before: World snapshot before the run.
        after: World snapshot after the run.
        error: The harness error, for ``error``.
    """

    probe: RollbackProbe
    status: RunStatus
    leftovers: tuple[Leftover, ...] = ()
    lines: tuple[str, ...] = ()
    verdicts: tuple[InvariantVerdict, ...] = ()
    sagas: tuple[SagaReport, ...] = ()
    fault: FaultRunResult | None = field(default=None, compare=False, repr=False)
    before: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    after: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the world came back and every verdict held."""
        return self.status == "ok"

    @property
    def seconds(self) -> float:
        """Wall time of the fault run."""
        return self.fault.seconds if self.fault is not None else 0.0


@dataclass(frozen=True)
class RollbackReport:
    """prove-rollback's verdict on one scenario.

    Attributes:
        scenario: Scenario name.
        runs: One run per probe, in saga order.
        seconds: Wall time.
    """

    scenario: str
    runs: tuple[RollbackRun, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every probe left the world as it found it and every verdict held."""
        return bool(self.runs) and all(r.ok for r in self.runs)

    @property
    def leftovers(self) -> tuple[str, ...]:
        """Every leftover line, over all runs."""
        return tuple(line for r in self.runs for line in r.lines)

    @property
    def exit_code(self) -> int:
        """0 all rolled back cleanly, 1 a leftover or violation, 2 a run could not be done."""
        if any(r.status == "error" for r in self.runs) or not self.runs:
            return 2
        return 0 if self.ok else 1

    def format(self) -> str:
        """One line per run, the leftovers and violations under it, then a summary."""
        n = len(self.runs)
        lines = [f"== prove-rollback {self.scenario}: {n} fault run{'s' if n != 1 else ''}"]
        for r in self.runs:
            lines.append(_run_line(r))
            lines.extend(f"    {text}" for text in _run_details(r))
        bad = [r for r in self.runs if not r.ok]
        n_left = sum(len(r.leftovers) for r in self.runs)
        verdict = (
            "the world came back every time"
            if not bad
            else (f"{len(bad)} failing ({n_left} leftover{'s' if n_left != 1 else ''})")
        )
        lines.append(f"== {self.scenario}: {len(self.runs)} runs, {verdict}, {self.seconds:.1f} s")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "runs": [
                {
                    "step": r.probe.step,
                    "compensation": r.probe.compensation,
                    "phase": r.probe.phase,
                    "probe": r.probe.describe(),
                    "plan": r.probe.plan.to_json(),
                    "status": r.status,
                    "leftovers": [
                        {"table": x.table, "change": x.change, "row": x.row, "before": x.before}
                        for x in r.leftovers
                    ],
                    "lines": list(r.lines),
                    "verdicts": [
                        {
                            "name": v.name,
                            "verdict": v.verdict,
                            "message": v.message,
                            "details": list(v.details),
                        }
                        for v in r.verdicts
                    ],
                    "before": dict(r.before),
                    "after": dict(r.after),
                    "error": r.error,
                    "reproduce": r.fault.reproduce if r.fault is not None else None,
                    "seconds": round(r.seconds, 3),
                }
                for r in self.runs
            ],
        }


def _run_line(r: RollbackRun) -> str:
    label = {
        "ok": "ok",
        "leftover": "LEFTOVER",
        "violation": "VIOLATION",
        "not-reached": "UNTESTED",
        "not-rolled-back": "NO-ROLLBACK",
        "error": "ERROR",
    }
    return f"  {label[r.status]:<11} {r.seconds:5.1f} s  {r.probe.describe()}"


def _run_details(r: RollbackRun) -> list[str]:
    out: list[str] = list(r.lines)
    if r.error:
        out.append(f"error: {r.error}")
    for v in r.verdicts:
        if v.verdict == "violation" and v.name != "world":
            out.append(f"{v.name}: {v.message}")
            out.extend(f"  {d}" for d in v.details[1:])
    if r.fault is not None and r.fault.not_reached:
        out.extend(f"fault never fired: {x}" for x in (r.fault.not_reached if r.fault else ()))
    if r.status == "not-rolled-back":
        out.append(
            "the workflow completed the saga despite the fault: rollback unproven at this step"
        )
    if r.status != "ok" and r.fault is not None and r.fault.reproduce:
        out.append(f"fault run: {r.fault.reproduce}")
    return out


class RollbackError(ReplaykitError):
    """prove-rollback found a leftover or a violation (``raise_on_failure=True``).

    Attributes:
        report: The full report.
    """

    def __init__(self, report: RollbackReport) -> None:
        self.report = report
        super().__init__(report.format())


# --------------------------------------------------------------------------- running


def _rollback_options(
    options: FaultRunOptions | None, params: Mapping[str, Any], where: str
) -> FaultRunOptions:
    """The fault-run options of every prove-rollback run.

    Raises:
        ConfigError: A baseline in the options.
        TypeError: See :meth:`~replaykit.faults.FaultRunOptions.merge`.
    """
    return resolve_options(
        options,
        params,
        where=where,
        baseline_unused=(
            "a rolled-back run is compared with the world before it, not with a fault-free run"
        ),
    )


def prove_rollback(
    scenario: Scenario,
    *,
    options: FaultRunOptions | None = None,
    spec: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
    snapshot: Snapshot,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    include_cancel: bool = True,
    phases: Sequence[Phase] | None = None,
    only: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    world_env: str | None = ENV_WORLD,
    ledger: str | os.PathLike[str] | None = None,
    worker_context: str | None = NOT_GIVEN.worker_context,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    on_run: Callable[[RollbackRun], None] | None = None,
    raise_on_failure: bool = True,
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
) -> RollbackReport:
    """Fail every forward step (before and after its side effect, and cancel at it) on a real
    server, and check that the world afterwards equals the world before.

    Args:
        scenario: A scenario loaded from a file (its workers run in subprocesses). It should
            run the saga once and tolerate a rolled-back or cancelled outcome.
        spec: The saga: a :class:`SagaSpec` or ``(forward, compensation)`` pairs.
        options: The fault-run options of every run (:class:`~replaykit.faults.FaultRunOptions`,
            no ``baseline``: a rolled-back run is not compared with a fault-free one). Its
            server (default: embedded) is started once for all runs.
        snapshot: Returns the world as a JSON-able mapping, e.g. ``{table: [row, ...]}`` of
            the effects in force. Called before and after each run, in this process.
        server: A running server, or a spec to start one for all runs (an option, as
            ``worker_context``, ``plugins`` and ``scenario_files`` are: merged into
            ``options`` by :meth:`~replaykit.faults.FaultRunOptions.merge`).
        include_cancel: Also cancel the workflow at each step.
        phases: The phases to run (default: all three, or two without ``include_cancel``).
        only: Only probe these forward steps.
        ignore: Snapshot keys not compared (expected residue).
        world_env: Environment variable set (in this process) to a fresh world file per run;
            ``None`` leaves the world to the caller.
        ledger: Effects-ledger file to verify after each run (default: the run's world file
            when it holds a ledger).
        worker_context: ``MODULE:FUNC`` context the workers run inside.
        plugins: ``module:attr`` references of Temporal plugins for the client, the worker
            processes and the replays, after the scenario's own.
        scenario_files: Files named in the reproduce commands.
        on_run: Called with each run as it finishes (progress).
        raise_on_failure: Raise :class:`RollbackError` unless the report is ok (default).
        steps: Deprecated name of ``spec`` (warns).

    Returns:
        The report; ``report.ok`` says whether every run left no leftover and no violation.

    Raises:
        RollbackError: A leftover, violation or harness error (with ``raise_on_failure``).
        ConfigError: A bad saga, phase or step name, or a baseline in ``options``.
        TypeError: An option given both in ``options`` and as a keyword, with two values.
    """
    opts = _rollback_options(options, locals(), "prove_rollback")
    saga = saga_argument(spec, steps, where="prove_rollback")
    report = run_sync(
        lambda: prove_rollback_async(
            scenario,
            options=opts,
            spec=saga,
            snapshot=snapshot,
            include_cancel=include_cancel,
            phases=phases,
            only=only,
            ignore=ignore,
            world_env=world_env,
            ledger=ledger,
            on_run=on_run,
            raise_on_failure=False,
        )
    )
    if raise_on_failure and not report.ok:
        raise RollbackError(report)
    return report


async def prove_rollback_async(
    scenario: Scenario,
    *,
    options: FaultRunOptions | None = None,
    spec: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
    snapshot: Snapshot,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    include_cancel: bool = True,
    phases: Sequence[Phase] | None = None,
    only: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    world_env: str | None = ENV_WORLD,
    ledger: str | os.PathLike[str] | None = None,
    worker_context: str | None = NOT_GIVEN.worker_context,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    on_run: Callable[[RollbackRun], None] | None = None,
    raise_on_failure: bool = True,
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
) -> RollbackReport:
    """:func:`prove_rollback` for async callers (the same parameters)."""
    opts = _rollback_options(options, locals(), "prove_rollback_async")
    saga = saga_argument(spec, steps, where="prove_rollback_async")
    if phases is None:
        phases = PHASES if include_cancel else ("before-effect", "after-effect")
    elif not include_cancel:
        phases = [p for p in phases if p != "cancel"]
    probes = rollback_probes(saga, phases=phases, only=only)
    started = time.perf_counter()
    owned: RunningServer | None = None
    folder = Path(tempfile.mkdtemp(prefix="replaykit-rollback-"))
    runs: list[RollbackRun] = []
    supply: WorkerSupply | None = None
    try:
        running = opts.server
        if not isinstance(running, RunningServer):
            owned = running = await start_server_async(
                parse_server(running)
                if isinstance(running, str)
                else (running or ServerSpec("embedded"))
            )
        opts = opts.replace(server=running)
        # Warm worker processes shared by the runs: only the ones a probe kills are replaced.
        supply = WorkerSupply(running.address, running.namespace, str(folder), spare=2)
        for number, probe in enumerate(probes):
            world = folder / f"world-{number}.sqlite3"
            with _env(world_env, str(world)):
                run = await _one_run(
                    scenario,
                    probe,
                    saga,
                    snapshot,
                    opts,
                    ignore=ignore,
                    ledger=Path(ledger) if ledger else (world if world_env else None),
                    supply=supply,
                )
            runs.append(run)
            if on_run is not None:
                on_run(run)
    finally:
        if supply is not None:
            await supply.close()
        if owned is not None:
            await asyncio.to_thread(owned.stop)
        shutil.rmtree(folder, ignore_errors=True)
    report = RollbackReport(scenario.name, tuple(runs), time.perf_counter() - started)
    if raise_on_failure and not report.ok:
        raise RollbackError(report)
    return report


@contextlib.contextmanager
def _env(name: str | None, value: str) -> Iterator[None]:
    # Process-wide on purpose: the worker subprocesses inherit os.environ when they start.
    if name is None:
        yield
        return
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _take(snapshot: Snapshot) -> Mapping[str, Any]:
    value = snapshot()
    if not isinstance(value, Mapping):
        raise ConfigError(f"the snapshot function returned {type(value).__name__}, not a mapping")
    # A JSON round trip: snapshots are compared and reported as JSON, and a value that
    # does not survive it must not compare equal by accident.
    loaded: Mapping[str, Any] = json.loads(json.dumps(dict(value), default=str))
    return loaded


async def _one_run(
    scn: Scenario,
    probe: RollbackProbe,
    saga: tuple[SagaStep, ...],
    snapshot: Snapshot,
    opts: FaultRunOptions,
    *,
    ignore: Sequence[str],
    ledger: Path | None,
    supply: WorkerSupply,
) -> RollbackRun:
    try:
        before = await asyncio.to_thread(_take, snapshot)
    except Exception as err:
        return RollbackRun(
            probe, "error", error=f"snapshot before the run failed: {type(err).__name__}: {err}"
        )
    result = await run_fault_plan_pooled_async(scn, probe.plan, options=opts, supply=supply)
    if result.error is not None:
        return RollbackRun(probe, "error", fault=result, before=before, error=result.error)
    try:
        after = await asyncio.to_thread(_take, snapshot)
    except Exception as err:
        return RollbackRun(
            probe,
            "error",
            fault=result,
            before=before,
            error=f"snapshot after the run failed: {type(err).__name__}: {err}",
        )
    sagas = tuple(
        verify_saga(history, spec=saga, raise_on_failure=False)
        for history in result.histories.values()
    )
    leftovers = tuple(diff_worlds(before, after, ignore=ignore))
    lines = tuple(
        f"leftover after {probe.describe()}: {x.describe()} - {_cause(sagas)}" for x in leftovers
    )
    verdicts = [_world_verdict(leftovers, lines), _saga_verdict(sagas), _effects_verdict(ledger)]
    verdicts += [v for v in result.verdicts if v.name != "exactly-once" or v.verdict != "skipped"]
    status: RunStatus = "ok"
    if sagas and not any(s.rolled_back for s in sagas):
        status = "not-rolled-back"
    elif leftovers:
        status = "leftover"
    elif any(not v.ok for v in verdicts):
        status = "violation"
    elif result.not_reached:
        status = "not-reached"
    return RollbackRun(
        probe,
        status,
        leftovers=leftovers,
        lines=lines,
        verdicts=tuple(verdicts),
        sagas=sagas,
        fault=result,
        before=before,
        after=after,
    )


def _cause(sagas: Sequence[SagaReport]) -> str:
    """Why the world did not come back, from the saga verifier's view of the history."""
    missing: list[str] = []
    for report in sagas:
        for s in report.steps:
            if s.state in ("applied", "maybe") and not s.compensation_events:
                how = "may have applied" if s.state == "maybe" else "applied"
                missing.append(f"`{s.forward}` {how} ({s.detail}) and `{s.compensation}` never ran")
    if missing:
        return "; ".join(missing)
    if sagas and not any(s.rolled_back for s in sagas):
        return "the workflow completed the saga instead of rolling it back"
    return "every compensation ran, yet the world differs: a compensation does not undo its step"


def _world_verdict(leftovers: Sequence[Leftover], lines: Sequence[str]) -> InvariantVerdict:
    if not leftovers:
        return InvariantVerdict("world", "ok", "the world after the run equals the world before")
    n = len(leftovers)
    return InvariantVerdict(
        "world", "violation", f"{n} leftover{'s' if n != 1 else ''}: {lines[0]}", tuple(lines)
    )


def _saga_verdict(sagas: Sequence[SagaReport]) -> InvariantVerdict:
    if not sagas:
        return InvariantVerdict("saga", "skipped", "no history")
    bad = [v.message for s in sagas for v in s.violations]
    if bad:
        return InvariantVerdict("saga", "violation", bad[0], tuple(bad))
    return InvariantVerdict("saga", "ok", "; ".join(s.summary() for s in sagas))


def _effects_verdict(ledger: Path | None) -> InvariantVerdict:
    if ledger is None or not ledger.exists() or not _has_ledger(ledger):
        return InvariantVerdict("effects", "skipped", "no effects ledger in the world")
    from replaykit.effects._ledger import verify_effects

    report = verify_effects(ledger, raise_on_failure=False)
    if report.ok:
        return InvariantVerdict("effects", "ok", report.format())
    lines = tuple(v.message for v in report.violations)
    return InvariantVerdict("effects", "violation", lines[0], lines)


def _has_ledger(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'replaykit_attempts'"
        ).fetchone()
        return row is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


# --------------------------------------------------------------------- snapshot references


def load_snapshot(ref: str) -> Snapshot:
    """Resolve ``module:function`` (or ``path/to/file.py:function``) to a snapshot function.

    Raises:
        ConfigError: Not importable, no such attribute, or not callable.
    """
    module_ref, sep, attr = ref.partition(":")
    if not sep or not module_ref.strip() or not attr.strip():
        raise ConfigError(f"--snapshot {ref!r}: expected MODULE:FUNCTION")
    target = resolve_ref(ref, option="--snapshot")
    if not callable(target):
        raise ConfigError(f"--snapshot {ref}: not callable")
    fn: Snapshot = target
    return fn
