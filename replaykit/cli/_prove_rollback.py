"""``replaykit saga prove-rollback``: the request the command builds and how it is run.

The command parses its options into a :class:`ProveRollbackRequest`;
:func:`run_prove_rollback_request` loads the scenarios and the snapshot function, starts the
server, runs :func:`~replaykit.prove_rollback` for each scenario and prints the reports.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from replaykit._internal._errors import ReplaykitError
from replaykit._internal._sync import run_sync
from replaykit.faults import FaultRunOptions
from replaykit.record._scenario import Scenario, load_scenarios
from replaykit.sagas._rollback import (
    PHASES,
    Phase,
    RollbackReport,
    Snapshot,
    _run_line,
    load_snapshot,
    prove_rollback_async,
    rollback_probes,
)
from replaykit.sagas._verify import SagaSpec
from replaykit.servers import ServerSpec, start_server_async

__all__ = ["ProveRollbackRequest", "run_prove_rollback_request"]


@dataclass(frozen=True)
class ProveRollbackRequest:
    """Everything ``replaykit saga prove-rollback`` was asked to do.

    Attributes:
        files: Scenario files (or module names).
        pattern: ``-k``: scenario name substring or glob.
        spec: The saga.
        snapshot_ref: ``MODULE:FUNCTION`` of the snapshot function.
        server: The server spec.
        phases: Phases to run.
        only: Only these forward steps.
        ignore: Snapshot keys not compared.
        worker_context: ``MODULE:FUNC`` context the workers run inside.
        plugins: ``module:attr`` plugin references (see :func:`prove_rollback`).
        as_json: Print JSON instead of text.
    """

    files: tuple[str, ...]
    spec: SagaSpec
    snapshot_ref: str
    pattern: str | None = None
    server: ServerSpec = ServerSpec("embedded")
    phases: tuple[Phase, ...] = PHASES
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    worker_context: str | None = None
    plugins: tuple[str, ...] = ()
    as_json: bool = False


def run_prove_rollback_request(request: ProveRollbackRequest, echo: Callable[[str], None]) -> int:
    """Run what the request asks, print the report through ``echo``, return the exit code.

    Exit codes: 0 the world came back after every fault, 1 a leftover or violation, 2 an
    input or harness error.
    """
    try:
        snapshot = load_snapshot(request.snapshot_ref)
        rollback_probes(request.spec, phases=request.phases, only=request.only or None)
        scenarios = load_scenarios(list(request.files), pattern=request.pattern)
    except ReplaykitError as err:
        echo(f"error: {err}")
        return 2
    if not scenarios:
        echo("error: no scenario matched" + (f" -k {request.pattern}" if request.pattern else ""))
        return 2
    return run_sync(lambda: _run_all(request, scenarios, snapshot, echo))


async def _run_all(
    request: ProveRollbackRequest,
    scenarios: Sequence[Scenario],
    snapshot: Snapshot,
    echo: Callable[[str], None],
) -> int:
    try:
        server = await start_server_async(request.server)
    except ReplaykitError as err:
        echo(f"error: {err}")
        return 2
    reports: list[RollbackReport] = []
    progress = None if request.as_json else (lambda r: echo(_run_line(r)))
    try:
        for scn in scenarios:
            report = await prove_rollback_async(
                scn,
                spec=request.spec,
                snapshot=snapshot,
                phases=request.phases,
                only=request.only or None,
                ignore=request.ignore,
                options=FaultRunOptions(
                    server=server,
                    worker_context=request.worker_context,
                    plugins=tuple(request.plugins),
                    scenario_files=tuple(request.files),
                ),
                on_run=progress,
                raise_on_failure=False,
            )
            reports.append(report)
            if not request.as_json:
                echo(report.format())
    finally:
        await asyncio.to_thread(server.stop)
    if request.as_json:
        echo(json.dumps([r.to_json() for r in reports], indent=2, default=str))
    codes = [r.exit_code for r in reports]
    return 2 if 2 in codes else (1 if 1 in codes else 0)
