"""Recording: run scenarios on a real server and save every execution's history.

The library side of ``replaykit record`` (servers started per group, clients, files) and of
the pytest plugin's ``record_history`` (:func:`write_handle_history`); the one file-name rule
(:func:`safe_name`, :func:`history_file_name`) lives here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import temporalio.api.history.v1
import temporalio.client

from replaykit._internal._output import OutputTail, all_printing_into
from replaykit._internal._sync import sync_twin
from replaykit.config._server_spec import ServerSpec
from replaykit.history._files import make_meta, write_history
from replaykit.integrations._agents import framework_versions
from replaykit.servers import RunningServer, start_server_async

from ._scenario import ExecutionRef, Scenario, ScenarioOutcome, run_scenario_async

__all__ = [
    "RecordReport",
    "RecordedScenario",
    "history_file_name",
    "record_groups",
    "record_groups_async",
    "record_scenarios",
    "record_scenarios_async",
    "safe_name",
    "write_handle_history",
    "write_outcome",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a scenario or test name or a workflow id (the one rule)."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


def history_file_name(ref: ExecutionRef, run_index: int) -> str:
    """``<workflow id>.json`` for a first run, ``<workflow id>.run<N>.json`` for later runs."""
    stem = safe_name(ref.workflow_id)
    return f"{stem}.json" if run_index == 1 else f"{stem}.run{run_index}.json"


@dataclass(frozen=True)
class RecordedScenario:
    """One scenario's outcome and the files written for it."""

    outcome: ScenarioOutcome
    files: tuple[Path, ...]
    skipped_existing: tuple[Path, ...] = ()
    #: What was printed while the scenario ran (its worker's workflows and activities, an
    #: integration printing the model's text), when recorded with ``capture_output``.
    output: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the scenario function passed (its own assertions held)."""
        return self.outcome.ok


@dataclass(frozen=True)
class RecordReport:
    """Everything a ``record`` call did."""

    scenarios: tuple[RecordedScenario, ...]

    @property
    def ok(self) -> bool:
        """True when every scenario passed."""
        return all(s.ok for s in self.scenarios)

    @property
    def files(self) -> list[Path]:
        """Every history file written."""
        return [f for s in self.scenarios for f in s.files]


async def record_scenarios_async(
    scenarios: Sequence[Scenario],
    client: temporalio.client.Client,
    *,
    out_dir: Path | str,
    overwrite: bool = False,
    on_done: Callable[[RecordedScenario], None] | None = None,
    plugins: Sequence[Any] = (),
    capture_output: bool = False,
) -> RecordReport:
    """Run each scenario with an in-process worker and write its executions' histories.

    Files go to ``<out_dir>/<scenario>/<workflow id>[.runN].json``. A scenario that fails
    still has its histories written (they show what happened), and the report says it failed.

    Args:
        scenarios: What to run, in order.
        client: A connected client.
        out_dir: Destination folder.
        overwrite: Replace existing files; otherwise an existing file is left untouched and
            reported in ``skipped_existing``.
        on_done: Called after each scenario (progress output).
        plugins: Plugins for every scenario, after each scenario's own (see
            :func:`~replaykit.record._scenario.run_scenario_async`).
        capture_output: Keep what is printed while each scenario runs (by any thread of
            this process) off the terminal, in :attr:`RecordedScenario.output`.
    """
    done: list[RecordedScenario] = []
    for scn in scenarios:
        printed = OutputTail()
        with all_printing_into(printed) if capture_output else contextlib.nullcontext():
            outcome = await run_scenario_async(scn, client, plugins=plugins)
        recorded = write_outcome(
            scn, outcome, out_dir, namespace=client.namespace, overwrite=overwrite
        )
        if printed.text():
            recorded = dataclasses.replace(recorded, output=printed.text())
        done.append(recorded)
        if on_done is not None:
            on_done(recorded)
    return RecordReport(tuple(done))


def write_outcome(
    scn: Scenario,
    outcome: ScenarioOutcome,
    out_dir: Path | str,
    *,
    namespace: str,
    overwrite: bool,
    extra: dict[str, object] | None = None,
) -> RecordedScenario:
    """Write every execution of one scenario run: ``<out_dir>/<scenario>/<id>[.runN].json``.

    Existing files are kept (and listed in ``skipped_existing``) unless ``overwrite``.
    ``extra`` goes into each file's metadata next to the parent workflow id of children.
    """
    out = Path(out_dir)
    files: list[Path] = []
    skipped: list[Path] = []
    run_index: dict[str, int] = {}
    for ref in outcome.executions:
        run_index[ref.workflow_id] = run_index.get(ref.workflow_id, 0) + 1
        target = out / safe_name(scn.name) / history_file_name(ref, run_index[ref.workflow_id])
        if target.exists() and not overwrite:
            skipped.append(target)
            continue
        history = outcome.histories[ref]
        meta_extra: dict[str, object] = dict(extra or {})
        if ref.parent:
            meta_extra["parent_workflow_id"] = ref.parent
        meta = make_meta(
            workflow_id=ref.workflow_id,
            run_id=ref.run_id,
            workflow_type=ref.workflow_type,
            task_queue=history.events[
                0
            ].workflow_execution_started_event_attributes.task_queue.name,
            namespace=namespace,
            scenario=scn.name,
            frameworks=framework_versions(),
            extra=meta_extra or None,
        )
        files.append(write_history(target, history, meta=meta))
    return RecordedScenario(outcome, tuple(files), tuple(skipped))


async def write_handle_history(
    handle: temporalio.client.WorkflowHandle[Any, Any],
    path: Path | str,
    *,
    namespace: str,
    scenario: str,
) -> Path:
    """Fetch a handle's history and write it to ``path`` with replaykit metadata.

    The metadata names the handle's workflow id, the first run id of its chain (else the
    handle's run id), the workflow type and task queue from the started event, ``namespace``
    (the client's, given explicitly) and ``scenario``. The write is atomic (temp file + rename).
    """
    history = await handle.fetch_history()
    proto = temporalio.api.history.v1.History(events=history.events)
    started = proto.events[0].workflow_execution_started_event_attributes
    meta = make_meta(
        workflow_id=handle.id,
        run_id=started.original_execution_run_id or handle.run_id,
        workflow_type=started.workflow_type.name,
        task_queue=started.task_queue.name,
        namespace=namespace,
        scenario=scenario,
        frameworks=framework_versions(),
    )
    return write_history(path, proto, meta=meta)


async def record_groups_async(
    groups: Sequence[tuple[ServerSpec, Sequence[Scenario]]],
    *,
    out_dir: Path | str,
    overwrite: bool = False,
    converter: Any = None,
    plugins: Sequence[Any] = (),
    on_done: Callable[[RecordedScenario], None] | None = None,
    on_server: Callable[[RunningServer, int], None] | None = None,
    capture_output: bool = False,
) -> RecordReport:
    """Start each group's server in turn and record its scenarios there.

    Args:
        groups: ``(server spec, scenarios)`` pairs, e.g. from the CLI's ``server_groups``.
        out_dir: Destination folder.
        overwrite: Replace existing files.
        converter: The DataConverter for the client (None: the SDK default).
        plugins: Plugins for every scenario, after each scenario's own.
        on_done: Called after each scenario.
        on_server: Called once a group's server is up, with it and the group's size.
        capture_output: Keep what each scenario prints (see :func:`record_scenarios_async`).

    Raises:
        ReplaykitError: A server does not start or cannot be reached.
    """
    done: list[RecordedScenario] = []
    for spec, group in groups:
        async with await start_server_async(spec) as running:
            client = await running.client(
                **({"data_converter": converter} if converter is not None else {})
            )
            if on_server is not None:
                on_server(running, len(group))
            report = await record_scenarios_async(
                group,
                client,
                out_dir=out_dir,
                overwrite=overwrite,
                on_done=on_done,
                plugins=plugins,
                capture_output=capture_output,
            )
            done.extend(report.scenarios)
    return RecordReport(tuple(done))


record_groups = sync_twin(
    record_groups_async, doc=":func:`record_groups_async` from sync code (via ``run_sync``)."
)


record_scenarios = sync_twin(
    record_scenarios_async,
    doc=":func:`record_scenarios_async` from sync code (via ``run_sync``).",
)
