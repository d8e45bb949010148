"""What ``replaykit faults`` does, as a library call (the click command only parses)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from replaykit._internal._errors import ReplaykitError
from replaykit._internal._sync import run_sync
from replaykit.config._settings import Resolver, fault_server_spec, scenario_server_groups
from replaykit.record._scenario import Scenario, load_scenarios
from replaykit.servers import RunningServer, ServerSpec, start_server_async

from ._explore import (
    ExplorationReport,
    explore_every_step_async,
    explore_examples_async,
    prefix_verdict,
)
from ._options import FaultRunOptions
from ._plan import FaultPlan
from ._report import format_result, result_to_json
from ._runner import FaultRunResult, baseline_of, run_fault_plan_async

__all__ = ["FaultsRequest", "format_exploration", "run_faults_request"]


@dataclass(frozen=True)
class FaultsRequest:
    """Everything ``replaykit faults`` was asked to do.

    Attributes:
        files: Scenario files (or module names).
        pattern: ``-k``: scenario name substring or glob.
        mode: ``plan`` (run ``plan`` once, after a baseline), ``every-step`` or ``examples``.
        plan: The plan for ``plan`` mode.
        kill: ``worker`` or ``server`` (every-step mode).
        max_runs: Run budget (every-step mode).
        examples: Random plans to run (examples mode).
        seed: Hypothesis seed (examples mode).
        max_faults: Faults per random plan.
        kinds: Fault kinds random plans draw from.
        concurrency: Scenario instances run at once.
        partial_replay: Replay history prefixes before the real kills (every-step mode).
        server: The server spec (every scenario's, unless ``resolver`` is given; its
            ``db_filename`` applies either way).
        resolver: The settings resolver of the run: when given, each scenario runs on the
            server it picks for that scenario (flag > env > ``[tool.replaykit]`` > the
            scenario's own ``server=`` > default), and with the timeout it picks
            (``--scenario-timeout`` > the scenario's own ``timeout=`` > 300), as
            ``replaykit record`` does.
        as_json: Print JSON instead of text.
        point_kinds: Every-step and examples modes: only these point kinds.
        worker_context: ``MODULE:FUNC`` context the workers run inside.
        data_converter: ``module:attr`` of the DataConverter or PayloadCodec to run with.
        plugins: ``module:attr`` references of Temporal plugins, after each scenario's own.
        parallel: Every-step mode: fault runs at once (default: see ``explore_every_step``).
    """

    files: tuple[str, ...]
    pattern: str | None = None
    mode: Literal["plan", "every-step", "examples"] = "plan"
    plan: FaultPlan = FaultPlan()
    kill: Literal["worker", "server"] = "worker"
    max_runs: int | None = None
    examples: int = 10
    seed: int = 0
    max_faults: int = 2
    kinds: tuple[str, ...] = ("kill-worker", "fail-activity")
    concurrency: int = 1
    partial_replay: bool = True
    server: ServerSpec = ServerSpec("embedded")
    resolver: Resolver | None = None
    as_json: bool = False
    point_kinds: tuple[str, ...] | None = None
    worker_context: str | None = None
    data_converter: str | None = None
    plugins: tuple[str, ...] = ()
    parallel: int | None = None


def run_faults_request(request: FaultsRequest, echo: Callable[[str], None]) -> int:
    """Run what the request asks, print the report through ``echo``, return the exit code.

    Exit codes: 0 every invariant held, 1 a violation, 2 an input or harness error.
    """
    try:
        scenarios = load_scenarios(list(request.files), pattern=request.pattern)
        if request.resolver is not None:  # --scenario-timeout > the scenario's timeout=
            scenarios = request.resolver.with_scenario_timeouts(scenarios)
    except ReplaykitError as err:
        echo(f"error: {err}")
        return 2
    if not scenarios:
        echo("error: no scenario matched" + (f" -k {request.pattern}" if request.pattern else ""))
        return 2
    return run_sync(lambda: _run_all(request, scenarios, echo))


async def _run_all(
    request: FaultsRequest, scenarios: Sequence[Scenario], echo: Callable[[str], None]
) -> int:
    needs_store = (
        request.plan.kills_server
        or (request.mode == "every-step" and request.kill == "server")
        or (request.mode == "examples" and "kill-server" in request.kinds)
    )
    try:
        if request.resolver is None:
            groups: list[tuple[ServerSpec, list[Scenario]]] = [(request.server, list(scenarios))]
        else:
            groups = scenario_server_groups(
                scenarios, request.resolver, db_filename=request.server.db_filename
            )
    except ReplaykitError as err:
        echo(f"error: {err}")
        return 2
    codes: list[int] = []
    payload: list[object] = []
    for group_spec, group in groups:
        try:
            spec, folder = fault_server_spec(group_spec, kills_server=needs_store)
        except ReplaykitError as err:
            echo(f"error: {err}")
            return 2
        try:
            server = await start_server_async(spec)
        except ReplaykitError as err:
            echo(f"error: {err}")
            return 2
        try:
            await _run_group(request, group, server, echo, codes, payload)
        finally:
            await asyncio.to_thread(server.stop)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    if request.as_json:
        echo(json.dumps(payload, indent=2))
    return 2 if 2 in codes else (1 if 1 in codes else 0)


async def _run_group(
    request: FaultsRequest,
    scenarios: Sequence[Scenario],
    server: RunningServer,
    echo: Callable[[str], None],
    codes: list[int],
    payload: list[object],
) -> None:
    """Run the request's mode for each scenario on one server; append codes and payloads."""
    opts = FaultRunOptions(
        server=server,
        concurrency=request.concurrency,
        scenario_files=request.files,
        worker_context=request.worker_context,
        data_converter=request.data_converter,
        plugins=request.plugins,
    )
    progress = None if request.as_json else (lambda r: echo(_one_line(r)))
    for scn in scenarios:
        if request.mode == "every-step":
            report = await explore_every_step_async(
                scn,
                options=opts,
                kill=request.kill,
                max_runs=request.max_runs,
                partial_replay=request.partial_replay,
                on_run=progress,
                point_kinds=request.point_kinds,
                parallel=request.parallel,
            )
            codes.append(report.exit_code)
            payload.append(exploration_to_json(report))
            if not request.as_json:
                echo(format_exploration(report))
        elif request.mode == "examples":
            report = await explore_examples_async(
                scn,
                options=opts,
                examples=request.examples,
                seed=request.seed,
                max_faults=request.max_faults,
                kinds=request.kinds,
                shrink_runs=12,
                on_run=progress,
                point_kinds=request.point_kinds,
            )
            codes.append(report.exit_code)
            payload.append(exploration_to_json(report))
            if not request.as_json:
                echo(format_exploration(report))
        else:
            base = await run_fault_plan_async(scn, FaultPlan(), options=opts)
            results = [base]
            if request.plan.faults and base.error is None:
                results.append(
                    await run_fault_plan_async(
                        scn,
                        request.plan,
                        options=opts.replace(baseline=baseline_of(base)),
                    )
                )
            payload.append([result_to_json(r) for r in results])
            for r in results:
                if not request.as_json:
                    echo(format_result(r, header=_header(r)))
            if any(r.error for r in results):
                codes.append(2)
            else:
                codes.append(0 if all(r.ok for r in results) else 1)


def _header(r: FaultRunResult) -> str:
    kind = "baseline" if not r.plan.faults else "plan"
    return f"{r.scenario} [{kind}]: {r.plan.describe()}"


def _one_line(r: FaultRunResult) -> str:
    state = "ERROR" if r.error else ("ok" if r.ok else "VIOLATION")
    return f"  {state:<9} {r.seconds:5.1f} s  {r.scenario}: {r.plan.describe()}"


def format_exploration(report: ExplorationReport) -> str:
    """The exploration's text report: baseline, partial replay, failures in full, summary."""
    lines = [f"== {report.scenario}: {len(report.steps.points)} crash points learned"]
    if not report.baseline.ok:
        lines.append(format_result(report.baseline, header="baseline run failed:"))
        return "\n".join(lines)
    if report.prefixes:
        v = prefix_verdict(report.prefixes)
        lines.append(f"  partial-history replay: {v.message}")
        if v.verdict == "violation":
            lines.extend(f"    {d}" for d in v.details)
    failures = report.failures
    for r in failures:
        if report.minimal is not None and r is not report.minimal:
            continue
        lines.append(format_result(r, header=f"VIOLATION {r.scenario}: {r.plan.describe()}"))
    if report.minimal is not None and report.minimal not in failures:
        lines.append(
            format_result(report.minimal, header=f"minimal failing plan for {report.scenario}:")
        )
    recoveries = [x for r in report.runs for x in r.recoveries]
    extra = ""
    if recoveries:
        extra = f"; worker recovery median {sorted(recoveries)[len(recoveries) // 2] * 1000:.0f} ms"
    lines.append(
        f"== {report.scenario}: {len(report.runs)} fault runs, {len(failures)} failing, "
        f"{report.skipped} skipped by the budget, {report.seconds:.1f} s{extra}"
    )
    return "\n".join(lines)


def exploration_to_json(report: ExplorationReport) -> dict[str, object]:
    """JSON-ready dict of an exploration."""
    return {
        "scenario": report.scenario,
        "ok": report.ok,
        "points": [p.to_json() for p in report.steps.points],
        "baseline": result_to_json(report.baseline),
        "prefixes": [
            {
                "workflow_id": p.workflow_id,
                "cut": p.cut,
                "events": p.events,
                "status": p.status,
                "message": p.message,
            }
            for p in report.prefixes
        ],
        "runs": [result_to_json(r) for r in report.runs],
        "minimal": result_to_json(report.minimal) if report.minimal else None,
        "skipped": report.skipped,
        "seconds": round(report.seconds, 3),
    }
