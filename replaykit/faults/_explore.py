"""Every-step exploration, partial-history replay, and property-based plan search.

``explore_every_step`` runs the scenario once fault-free to learn its steps (workflow tasks,
activities, timers per execution), replays every prefix of the recorded histories with the
current code (cheap: no server), then runs one real fault run per crash point within a budget.
``explore_examples`` draws random plans with Hypothesis, and shrinks the first failing one to a
minimal plan by re-running smaller plans.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import ConfigError
from replaykit._internal._sync import sync_twin
from replaykit.check._engine import CheckOptions, check_histories
from replaykit.history._files import HistoryFile
from replaykit.record._scenario import Scenario
from replaykit.servers import RunningServer, ServerSpec, start_server_async

from ._invariants import InvariantVerdict
from ._options import NOT_GIVEN, FaultRunOptions, resolve_options
from ._plan import FailActivity, Fault, FaultPlan, KillServer, KillWorker, Point, TimeoutActivity
from ._pool import WorkerSupply
from ._runner import FaultRunResult, baseline_of, run_fault_plan_async, run_fault_plan_pooled_async
from ._steps import ScenarioSteps, learn_steps
from ._strategies import draw_plans

__all__ = [
    "ExplorationReport",
    "PrefixResult",
    "ScenarioSteps",
    "explore_every_step",
    "explore_examples",
    "learn_steps",
    "replay_prefixes",
    "shrink_plan",
]

KillTarget = Literal["worker", "server"]

#: Fault runs at once in an every-step exploration (worker kills). Runs mostly wait for
#: heartbeat timeouts and backoffs, so a few share two cores well.
DEFAULT_PARALLEL = 4

_E = EventType


@dataclass(frozen=True)
class PrefixResult:
    """Replay of one history prefix (as a successor worker would replay it after a crash)."""

    workflow_id: str
    cut: str
    events: int
    status: str
    message: str = ""


def _prefixes(
    workflow_id: str, history: temporalio.api.history.v1.History
) -> list[tuple[str, HistoryFile]]:
    events = list(history.events)
    out: list[tuple[str, HistoryFile]] = []
    task = 0
    for i, ev in enumerate(events):
        if ev.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task += 1
            cut = f"workflow task {task} started (event {ev.event_id})"
            out.append(
                (
                    cut,
                    HistoryFile(
                        None, workflow_id, temporalio.api.history.v1.History(events=events[: i + 1])
                    ),
                )
            )
    return out


def replay_prefixes(
    scenario: Scenario,
    histories: Sequence[tuple[str, temporalio.api.history.v1.History]],
    *,
    plugins: Sequence[str] = (),
) -> tuple[PrefixResult, ...]:
    """Partial-history replay: every prefix up to each workflow-task boundary, strictly.

    Cuts are taken after each ``WorkflowTaskStarted``: everything before it replays, and the
    task itself runs as new work, which is what a successor worker does after a crash. (A cut
    right after ``WorkflowTaskCompleted`` would drop that task's command events and report them
    as new commands, so it is not used.)
    """
    cuts: list[tuple[str, str, HistoryFile]] = []
    for workflow_id, history in histories:
        for cut, hf in _prefixes(workflow_id, history):
            cuts.append((workflow_id, cut, hf))
    if not cuts:
        return ()
    report = check_histories(
        [hf for _, _, hf in cuts],
        workflows=list(scenario.workflows),
        jobs=0,
        options=CheckOptions(plugins=(*scenario.plugins, *plugins)),
    )
    out: list[PrefixResult] = []
    for (workflow_id, cut, hf), res in zip(cuts, report.results, strict=False):
        message = ""
        if res.status != "clean":
            message = res.divergences[0].message if res.divergences else (res.error or "")
        out.append(PrefixResult(workflow_id, cut, len(hf.events), res.status, message))
    return tuple(out)


@dataclass(frozen=True)
class ExplorationReport:
    """What an exploration ran and found.

    Attributes:
        scenario: Scenario name.
        baseline: The fault-free run.
        steps: The crash points learned from it.
        prefixes: Partial-history replay results.
        runs: One result per fault run, in order.
        skipped: Plans left out by the budget.
        seconds: Wall time.
    """

    scenario: str
    baseline: FaultRunResult
    steps: ScenarioSteps
    prefixes: tuple[PrefixResult, ...] = ()
    runs: tuple[FaultRunResult, ...] = ()
    skipped: int = 0
    seconds: float = 0.0
    minimal: FaultRunResult | None = field(default=None)

    @property
    def ok(self) -> bool:
        """No violation anywhere (baseline, prefixes, runs) and no error."""
        return (
            self.baseline.ok
            and all(p.status == "clean" for p in self.prefixes)
            and all(r.ok for r in self.runs)
        )

    @property
    def failures(self) -> tuple[FaultRunResult, ...]:
        """Runs with a violation or an error."""
        return tuple(r for r in self.runs if not r.ok)

    @property
    def exit_code(self) -> int:
        """0 all held, 1 a violation, 2 a run could not be carried out."""
        if self.baseline.error or any(r.error for r in self.runs):
            return 2
        return 0 if self.ok else 1


def every_step_plans(steps: ScenarioSteps, *, kill: KillTarget = "worker") -> list[FaultPlan]:
    """One single-fault plan per crash point."""
    make: Callable[[Point], Fault] = KillWorker if kill == "worker" else KillServer
    return [FaultPlan((make(p),)) for p in steps.points]


async def _with_server(
    server: RunningServer | ServerSpec | str | None,
    *,
    persistent: bool,
    workdir: str | None = None,
) -> tuple[RunningServer, bool]:
    if isinstance(server, RunningServer):
        return server, False
    from replaykit.config._settings import fault_server_spec, parse_server

    spec, _ = fault_server_spec(
        parse_server(server) if isinstance(server, str) else server,
        kills_server=persistent,
        workdir=workdir,
    )
    return await start_server_async(spec), True


def _exploration_options(
    options: FaultRunOptions | None, params: Mapping[str, Any], where: str
) -> FaultRunOptions:
    """The run options of an exploration (which learns its baseline from its own first run).

    Raises:
        ConfigError: A baseline in the options.
        TypeError: See :meth:`FaultRunOptions.merge`.
    """
    return resolve_options(
        options,
        params,
        where=where,
        baseline_unused=(
            "an exploration compares every fault run with its own fault-free first run"
        ),
    )


POINT_KINDS = ("workflow-task", "timer", "activity-start", "activity-returned")


def _only_kinds(steps: ScenarioSteps, point_kinds: Sequence[str] | None) -> ScenarioSteps:
    """``steps`` with only the crash points of ``point_kinds`` (all when None).

    Raises:
        ConfigError: A kind that is not a crash point kind.
    """
    if point_kinds is None:
        return steps
    if isinstance(point_kinds, str):
        point_kinds = (point_kinds,)
    unknown = [k for k in point_kinds if k not in POINT_KINDS]
    if unknown:
        raise ConfigError(
            f"point kinds {', '.join(map(repr, unknown))}: not crash point kinds "
            f"(valid: {', '.join(POINT_KINDS)})"
        )
    return ScenarioSteps(tuple(p for p in steps.points if p.kind in point_kinds), steps.activities)


async def explore_every_step_async(
    scenario: Scenario,
    *,
    options: FaultRunOptions | None = None,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    kill: KillTarget = "worker",
    max_runs: int | None = None,
    concurrency: int = NOT_GIVEN.concurrency,
    partial_replay: bool = True,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    on_run: Callable[[FaultRunResult], None] | None = None,
    point_kinds: Sequence[str] | None = None,
    worker_context: str | None = NOT_GIVEN.worker_context,
    data_converter: str | None = NOT_GIVEN.data_converter,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
    parallel: int | None = None,
) -> ExplorationReport:
    """:func:`explore_every_step` for async callers."""
    opts = _exploration_options(options, locals(), "explore_every_step")
    started = time.perf_counter()
    _only_kinds(ScenarioSteps((), ()), point_kinds)  # a bad kind fails before any run
    if parallel is None:
        parallel = DEFAULT_PARALLEL if kill == "worker" else 1
    if kill == "server":
        parallel = 1  # a server kill interrupts every run on that server
    parallel = max(1, parallel)
    running, owned = await _with_server(opts.server, persistent=kill == "server")
    logs = tempfile.mkdtemp(prefix="replaykit-faults-workers-")
    # Warm processes shared by every run: only a killed one has to be replaced.
    supply = WorkerSupply(running.address, running.namespace, logs, spare=parallel + 1)
    try:
        opts = opts.replace(server=running)
        base = await run_fault_plan_pooled_async(scenario, FaultPlan(), options=opts, supply=supply)
        if on_run is not None:
            on_run(base)
        steps = _only_kinds(learn_steps(base.executions), point_kinds)
        if base.error or not base.ok:
            return ExplorationReport(
                scenario.name, base, steps, seconds=time.perf_counter() - started
            )
        plans = every_step_plans(steps, kill=kill)
        budget = len(plans) if max_runs is None else max(0, max_runs)
        against = opts.replace(baseline=baseline_of(base))
        gate = asyncio.Semaphore(parallel)

        async def one(number: int, plan: FaultPlan) -> FaultRunResult:
            async with gate:
                result = await run_fault_plan_pooled_async(
                    scenario,
                    plan,
                    options=against,
                    supply=supply,
                    # Runs share the server at once: each gets its own workflow ids.
                    first_instance=1 + number * against.concurrency,
                )
            if on_run is not None:
                on_run(result)
            return result

        fault_runs = asyncio.gather(*(one(i, p) for i, p in enumerate(plans[:budget])))
        prefixes: tuple[PrefixResult, ...] = ()
        if partial_replay:
            first_instance = [(wid, h) for (wid, _), h in base.histories.items() if "~" not in wid]
            # Replays in a thread while the first fault runs wait for their workers.
            prefixes = await asyncio.to_thread(
                functools.partial(replay_prefixes, plugins=opts.plugins),
                scenario,
                first_instance,
            )
        runs = list(await fault_runs)
        return ExplorationReport(
            scenario=scenario.name,
            baseline=base,
            steps=steps,
            prefixes=prefixes,
            runs=tuple(runs),
            skipped=len(plans) - min(budget, len(plans)),
            seconds=time.perf_counter() - started,
        )
    finally:
        await supply.close()
        shutil.rmtree(logs, ignore_errors=True)
        if owned:
            await asyncio.to_thread(running.stop)


explore_every_step = sync_twin(
    explore_every_step_async,
    doc="""\
    Kill the worker (or the server) at every step of the scenario, one run per point.

    Args:
        scenario: The scenario (loaded from a file).
        options: The run options of every run (:class:`FaultRunOptions`; no ``baseline``:
            the fault-free first run is the baseline). Its server (default: an embedded
            server, persistent when ``kill="server"``) is shared by every run.
        server, concurrency, scenario_files, worker_context, data_converter, plugins: Those
            options as keywords, merged into ``options`` (:meth:`FaultRunOptions.merge`).
        kill: ``worker`` or ``server``.
        max_runs: Budget of fault runs (the baseline does not count).
        partial_replay: Replay every history prefix first.
        on_run: Called after each run (progress output).
        point_kinds: Only these point kinds (``workflow-task``, ``timer``, ``activity-start``,
            ``activity-returned``); default all.
        parallel: Fault runs at once on the shared server (each with its own task queue,
            workflow ids and worker processes). Default: 4 for worker kills (runs mostly wait
            for timeouts), 1 for server kills (a server kill hits every run).

    Returns:
        The report; ``report.exit_code`` is what the CLI exits with.

    Raises:
        TypeError: An option given both in ``options`` and as a keyword, with two values.
        ConfigError: A baseline in ``options``, or an unknown point kind.
""",
)


# --------------------------------------------------------------------------- property-based


def _simpler_faults(fault: Fault) -> list[Fault]:
    """One-step simplifications of one fault."""
    simpler: list[Fault] = []
    if isinstance(fault, (FailActivity, TimeoutActivity)):
        if fault.last is None or fault.last > fault.first:
            simpler.append(replace(fault, last=fault.first))
        if fault.first > 1:
            span = None if fault.last is None else fault.last - fault.first + 1
            simpler.append(replace(fault, first=1, last=span))
    elif isinstance(fault, (KillWorker, KillServer)):
        at = fault.at
        if at.attempt > 1:
            simpler.append(replace(fault, at=replace(at, attempt=1)))
        if at.index > 1:
            simpler.append(replace(fault, at=replace(at, index=at.index - 1)))
        if isinstance(fault, KillServer):
            simpler.append(KillWorker(at))
    return simpler


def _smaller(plan: FaultPlan) -> list[FaultPlan]:
    """Candidate simplifications, simplest first: drop a fault, then shrink one, then both.

    The last kind matters when one fault only moves another's point: a kill after workflow
    task 2 that makes ``charge`` reach attempt 2 pairs with a kill after ``charge@2``; neither
    dropping one nor lowering the attempt alone still fails, but ``charge@1`` alone does.
    """
    out: list[FaultPlan] = []
    faults = list(plan.faults)
    if len(faults) > 1:
        for i in range(len(faults)):
            out.append(FaultPlan(tuple(faults[:i] + faults[i + 1 :])))
    for i, fault in enumerate(faults):
        for s in _simpler_faults(fault):
            out.append(FaultPlan(tuple(faults[:i] + [s] + faults[i + 1 :])))
    if len(faults) > 1:
        for i in range(len(faults)):
            rest = faults[:i] + faults[i + 1 :]
            for j, fault in enumerate(rest):
                for s in _simpler_faults(fault):
                    out.append(FaultPlan(tuple(rest[:j] + [s] + rest[j + 1 :])))
    return out


async def shrink_plan(
    failing: FaultRunResult,
    rerun: Callable[[FaultPlan], object],
    *,
    max_runs: int = 12,
) -> FaultRunResult:
    """Greedy shrink: keep any simpler plan that still fails, until none does or the budget ends.

    Args:
        failing: A failing run.
        rerun: Async callable running a plan and returning its :class:`FaultRunResult`.
        max_runs: Budget of re-runs.
    """
    current = failing
    used = 0
    progress = True
    while progress and used < max_runs:
        progress = False
        for candidate in _smaller(current.plan):
            if used >= max_runs:
                break
            used += 1
            result = await rerun(candidate)  # type: ignore[misc]
            assert isinstance(result, FaultRunResult)
            if not result.ok and result.error is None and _same_failure(result, current):
                current = result
                progress = True
                break
    return current


def _same_failure(a: FaultRunResult, b: FaultRunResult) -> bool:
    names_a = {v.name for v in a.violations}
    names_b = {v.name for v in b.violations}
    return bool(names_a & names_b)


async def explore_examples_async(
    scenario: Scenario,
    *,
    options: FaultRunOptions | None = None,
    examples: int,
    seed: int = 0,
    server: RunningServer | ServerSpec | str | None = NOT_GIVEN.server,
    max_faults: int = 2,
    kinds: Sequence[str] = ("kill-worker", "fail-activity"),
    shrink_runs: int = 12,
    concurrency: int = NOT_GIVEN.concurrency,
    scenario_files: Sequence[str] | None = NOT_GIVEN.scenario_files,
    on_run: Callable[[FaultRunResult], None] | None = None,
    point_kinds: Sequence[str] | None = None,
    worker_context: str | None = NOT_GIVEN.worker_context,
    data_converter: str | None = NOT_GIVEN.data_converter,
    plugins: Sequence[str] = NOT_GIVEN.plugins,
) -> ExplorationReport:
    """:func:`explore_examples` for async callers (the same parameters)."""
    opts = _exploration_options(options, locals(), "explore_examples")
    _only_kinds(ScenarioSteps((), ()), point_kinds)  # a bad kind fails before any run
    started = time.perf_counter()
    running, owned = await _with_server(opts.server, persistent="kill-server" in kinds)
    try:
        opts = opts.replace(server=running)
        base = await run_fault_plan_async(scenario, FaultPlan(), options=opts)
        if on_run is not None:
            on_run(base)
        steps = _only_kinds(learn_steps(base.executions), point_kinds)
        if base.error or not base.ok:
            return ExplorationReport(
                scenario.name, base, steps, seconds=time.perf_counter() - started
            )
        against = opts.replace(baseline=baseline_of(base))

        async def rerun(plan: FaultPlan) -> FaultRunResult:
            result = await run_fault_plan_async(scenario, plan, options=against)
            if on_run is not None:
                on_run(result)
            return result

        runs: list[FaultRunResult] = []
        minimal: FaultRunResult | None = None
        for plan in draw_plans(
            steps, count=examples, seed=seed, max_faults=max_faults, kinds=kinds
        ):
            result = await rerun(plan)
            runs.append(result)
            if not result.ok and result.error is None:
                minimal = await shrink_plan(result, rerun, max_runs=shrink_runs)
                break
        return ExplorationReport(
            scenario=scenario.name,
            baseline=base,
            steps=steps,
            runs=tuple(runs),
            seconds=time.perf_counter() - started,
            minimal=minimal,
        )
    finally:
        if owned:
            await asyncio.to_thread(running.stop)


explore_examples = sync_twin(
    explore_examples_async,
    doc="""\
    Property-based: run ``examples`` random plans (Hypothesis, seeded); shrink a failure.

    ``options`` (:class:`FaultRunOptions`, no ``baseline``) and the option keywords
    (``server``, ``concurrency``, ``scenario_files``, ``worker_context``,
    ``data_converter``, ``plugins``) are those of :func:`explore_every_step`.

    Returns:
        The report; ``report.minimal`` is the shrunk failing run, if any.
""",
)


def prefix_verdict(prefixes: Sequence[PrefixResult]) -> InvariantVerdict:
    """One verdict summarising partial-history replay."""
    bad = [p for p in prefixes if p.status != "clean"]
    if not prefixes:
        return InvariantVerdict("partial-replay", "skipped", "no prefixes")
    if not bad:
        return InvariantVerdict(
            "partial-replay", "ok", f"{len(prefixes)} history prefixes replay clean"
        )
    lines = tuple(f"{p.workflow_id} cut after {p.cut}: {p.status}: {p.message}" for p in bad)
    return InvariantVerdict("partial-replay", "violation", lines[0], lines)
