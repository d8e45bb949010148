"""Harvest: save the history of every workflow execution a test suite starts.

The library side of ``pytest --replaykit-harvest DIR``. Tests written the SDK's way (their own
``WorkflowEnvironment``, ``Worker`` and ``execute_workflow``, no replaykit API) are observed
through class-level wraps installed once per process:

* ``Client.start_workflow`` (which ``execute_workflow`` and signal-with-start use) and update-
  with-start record each started execution: its client, workflow id, first run id and the test
  that started it;
* ``Worker.__init__`` records the workflow classes, plugins and data converter each worker has,
  by task queue;
* every ``WorkflowEnvironment.shutdown`` fetches what is still pending on its server first.

Histories are fetched at the end of each test (while its fixtures and server are alive), with
continue-as-new runs and child workflows followed through the history events (the time-
skipping server has no visibility), and written atomically under stable names. The wraps do
nothing while no :class:`Harvester` is active; this module imports ``temporalio`` only when one
is installed, which happens only once ``temporalio`` is imported anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replaykit._internal._sync import call_in_thread
from replaykit.history._harvest_meta import HARVEST_KEY, HarvestInfo

if TYPE_CHECKING:
    import temporalio.client

    from replaykit.history._files import HistoryFile

__all__ = [
    "HarvestOptions",
    "HarvestSummary",
    "HarvestedExecution",
    "Harvester",
    "harvest_path",
    "stable_workflow_id",
]

#: The name of the thread a blocking fetch runs on (never on the event loop a test owns).
_THREAD = "replaykit-harvest"

#: A uuid (with or without dashes): the random part tests put in workflow ids.
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)

#: The harvester the class-level wraps report to (None: they pass straight through).
_ACTIVE: Harvester | None = None
_INSTALLED: dict[tuple[type, str], Any] = {}
_INSTALL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- names


def stable_workflow_id(workflow_id: str, numbers: dict[str, int]) -> str:
    """``workflow_id`` with each uuid replaced by ``uuid<N>``, N its order of first sighting.

    ``numbers`` maps each uuid (lower case, no dashes) seen so far in the test to its number
    and is updated; a child id that embeds its parent's uuid gets the parent's number.
    """

    def number(match: re.Match[str]) -> str:
        key = match.group(0).replace("-", "").lower()
        if key not in numbers:
            numbers[key] = len(numbers) + 1
        return f"uuid{numbers[key]}"

    return _UUID.sub(number, workflow_id)


def harvest_path(folder: Path, test: str, stem: str, run_index: int) -> Path:
    """``<folder>/<test module path>/<test name>/<stem>[.runN].json`` (the file-name rule's).

    ``test`` is a pytest node id (``tests/test_a.py::TestX::test_b[1]``); each part goes
    through :func:`~replaykit.record._record.safe_name`, the one file-name rule.
    """
    from ._record import safe_name

    module, _, rest = test.partition("::")
    parts = [safe_name(p) for p in Path(module).with_suffix("").parts if p not in ("", ".", "..")]
    name = safe_name(rest.replace("::", ".")) if rest else "_"
    stem = safe_name(stem)
    file_name = f"{stem}.json" if run_index == 1 else f"{stem}.run{run_index}.json"
    return folder.joinpath(*parts, name, file_name)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class HarvestOptions:
    """How to harvest.

    Attributes:
        folder: Where files go; None harvests in memory only (for the replay assertion).
        mode: ``new`` (write missing files), ``all`` (rewrite every file) or ``none``.
        fetch_timeout: Seconds one history fetch may take.
    """

    folder: Path | None
    mode: str = "new"
    fetch_timeout: float = 30.0


@dataclass(frozen=True)
class HarvestedExecution:
    """One execution's history as harvested.

    Attributes:
        test: Node id of the test that started it (a child's or a later run's: the same).
        history: The history, with its harvest metadata.
        path: Its file (None when harvesting in memory only).
        written: Whether the file was written in this session (else it was already there, or
            mode ``none``).
        partial: The execution was still running when fetched.
        workflows: The workflow classes (objects) the test's worker registered for its type.
        plugins: The plugin objects that worker had.
        data_converter: ``module:attr`` of the converter to replay with, if one is needed.
    """

    test: str
    history: HistoryFile
    path: Path | None
    written: bool
    partial: bool
    workflows: tuple[type, ...] = ()
    plugins: tuple[Any, ...] = ()
    data_converter: str | None = None


@dataclass(frozen=True)
class HarvestSummary:
    """What a session harvested; mergeable across pytest-xdist workers (JSON round trip).

    Attributes:
        folder: Where files went (None: in memory only).
        mode: The record mode.
        started: Executions the tests started (top-level starts seen by the wraps).
        executions: Executions harvested (starts, children and continue-as-new runs).
        tests: Node ids of the tests they came from.
        written: Files written in this session.
        existing: Files already there and kept (mode ``new``).
        partial: Executions still running when fetched.
        failed_tests: Executions from tests that failed.
        skipped: One reason per execution not harvested.
        not_importable: What files could not name by import path, with the flag to pass.
        seconds: Time spent fetching histories and writing files (the harvest's own cost).
    """

    folder: str | None
    mode: str
    started: int = 0
    executions: int = 0
    tests: tuple[str, ...] = ()
    written: int = 0
    existing: int = 0
    partial: int = 0
    failed_tests: int = 0
    skipped: tuple[str, ...] = ()
    not_importable: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (pytest-xdist sends it from worker to controller)."""
        return {
            "folder": self.folder,
            "mode": self.mode,
            "started": self.started,
            "executions": self.executions,
            "tests": list(self.tests),
            "written": self.written,
            "existing": self.existing,
            "partial": self.partial,
            "failed_tests": self.failed_tests,
            "skipped": list(self.skipped),
            "not_importable": list(self.not_importable),
            "seconds": self.seconds,
        }

    @classmethod
    def from_json_dict(cls, raw: Mapping[str, Any]) -> HarvestSummary:
        """The inverse of :meth:`to_json_dict`."""
        return cls(
            folder=raw.get("folder"),
            mode=str(raw.get("mode", "new")),
            started=int(raw.get("started", 0)),
            executions=int(raw.get("executions", 0)),
            tests=tuple(raw.get("tests", ())),
            written=int(raw.get("written", 0)),
            existing=int(raw.get("existing", 0)),
            partial=int(raw.get("partial", 0)),
            failed_tests=int(raw.get("failed_tests", 0)),
            skipped=tuple(raw.get("skipped", ())),
            not_importable=tuple(raw.get("not_importable", ())),
            seconds=float(raw.get("seconds", 0.0)),
        )

    @classmethod
    def merge(cls, parts: Iterable[HarvestSummary]) -> HarvestSummary | None:
        """One summary of several (xdist workers'); None when there are none."""
        items = list(parts)
        if not items:
            return None
        first = items[0]
        return cls(
            folder=first.folder,
            mode=first.mode,
            started=sum(p.started for p in items),
            executions=sum(p.executions for p in items),
            tests=tuple(sorted({t for p in items for t in p.tests})),
            written=sum(p.written for p in items),
            existing=sum(p.existing for p in items),
            partial=sum(p.partial for p in items),
            failed_tests=sum(p.failed_tests for p in items),
            skipped=tuple(s for p in items for s in p.skipped),
            not_importable=tuple(dict.fromkeys(n for p in items for n in p.not_importable)),
            seconds=sum(p.seconds for p in items),
        )

    def lines(self) -> list[str]:
        """The terminal summary: ``N executions harvested from M tests into DIR; K skipped: why``."""
        where = self.folder if self.folder is not None else "memory (no folder)"
        head = (
            f"replaykit: {self.executions} executions harvested from {len(self.tests)} tests "
            f"into {where}"
        )
        if self.skipped:
            reasons: dict[str, int] = {}
            for reason in self.skipped:
                reasons[reason] = reasons.get(reason, 0) + 1
            why = "; ".join(f"{n} {r}" if n > 1 else r for r, n in reasons.items())
            head += f"; {len(self.skipped)} skipped: {why}"
        else:
            head += "; 0 skipped"
        details = [
            f"mode {self.mode}",
            f"{self.started} started by the tests, the rest children and continue-as-new runs",
            f"{self.written} written",
        ]
        if self.existing:
            details.append(f"{self.existing} already there (kept)")
        if self.partial:
            details.append(f"{self.partial} partial (still running)")
        if self.failed_tests:
            details.append(f"{self.failed_tests} from failing tests")
        details.append(f"{self.seconds:.2f} s fetching and writing")
        out = [f"{head} ({', '.join(details)})"]
        out.extend(f"replaykit: not importable: {n}" for n in self.not_importable)
        return out


# --------------------------------------------------------------------------- the harvester


@dataclass
class _WorkerInfo:
    connection: Any
    namespace: str
    task_queue: str
    workflows: dict[str, type]
    plugins: list[Any]
    converter: Any


@dataclass(eq=False)
class _Start:
    client: Any
    workflow_id: str
    run_id: str | None
    test: str


@dataclass
class _TestNames:
    uuids: dict[str, int] = field(default_factory=dict)
    used: set[Path] = field(default_factory=set)


class Harvester:
    """Collects the executions tests start and saves their histories (one per session).

    Use :meth:`activate` to make it the one the wraps report to, :meth:`begin_test` /
    :meth:`end_test` around each test, :meth:`fetch_test` at the end of a test while its
    server is still up, and :meth:`summary` at the end.
    """

    def __init__(self, options: HarvestOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._current: str | None = None
        self._pending: list[_Start] = []
        self._seen: set[tuple[int, str, str | None]] = set()
        self._workers: list[_WorkerInfo] = []
        self._outcomes: dict[str, str] = {}
        self._names: dict[str, _TestNames] = {}
        self._harvested: list[HarvestedExecution] = []
        self._skipped: list[str] = []
        self._not_importable: dict[str, None] = {}
        self._started = 0
        self._refs: dict[int, tuple[Any, str | None]] = {}
        self._seconds = 0.0

    # ------------------------------------------------------------------ lifecycle

    def activate(self) -> None:
        """Report the wraps' observations to this harvester; installs the wraps if
        ``temporalio`` is already imported (see :meth:`ensure_installed`)."""
        global _ACTIVE
        _ACTIVE = self
        self.ensure_installed()

    def deactivate(self) -> None:
        """Stop observing (the wraps stay, passing straight through)."""
        global _ACTIVE
        if _ACTIVE is self:
            _ACTIVE = None

    @staticmethod
    def ensure_installed() -> bool:
        """Install the class-level wraps once ``temporalio`` is imported; True if installed.

        Cheap to call often: a session whose tests never import ``temporalio`` never pays
        for it (nor imports it).
        """
        if _INSTALLED:
            return True
        if "temporalio.client" not in sys.modules and "temporalio.worker" not in sys.modules:
            return False
        _install()
        return True

    def begin_test(self, nodeid: str) -> None:
        """Attribute executions started from now on to ``nodeid``."""
        self.ensure_installed()
        self._current = nodeid

    def end_test(self) -> None:
        """No test is running (starts now belong to the session: fixture teardown)."""
        self._current = None

    def set_outcome(self, nodeid: str, outcome: str) -> None:
        """The test's outcome so far (``failed`` and ``error`` are never downgraded)."""
        with self._lock:
            if self._outcomes.get(nodeid) in ("failed", "error") and outcome == "passed":
                return
            self._outcomes[nodeid] = outcome

    # ------------------------------------------------------------------ observations

    def _on_start(self, client: Any, handle: Any) -> None:
        run_id = (
            getattr(handle, "first_execution_run_id", None)
            or getattr(handle, "result_run_id", None)
            or getattr(handle, "run_id", None)
        )
        key = (id(client.service_client), str(handle.id), run_id)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._started += 1
            self._pending.append(
                _Start(client, str(handle.id), run_id, self._current or "<session>")
            )

    def _on_worker(self, client: Any, kwargs: Mapping[str, Any]) -> None:
        import temporalio.workflow

        workflows: dict[str, type] = {}
        for cls in kwargs.get("workflows", ()) or ():
            defn = temporalio.workflow._Definition.from_class(cls)
            if defn is not None:
                workflows[defn.name or cls.__name__] = cls
        plugins = [*client.config().get("plugins", ())]
        for plugin in kwargs.get("plugins", ()) or ():
            if all(plugin is not p for p in plugins):
                plugins.append(plugin)
        info = _WorkerInfo(
            connection=client.service_client,
            namespace=client.namespace,
            task_queue=str(kwargs.get("task_queue", "")),
            workflows=workflows,
            plugins=plugins,
            converter=client.data_converter,
        )
        with self._lock:
            self._workers.append(info)

    # ------------------------------------------------------------------ fetching

    def pending_for(self, *, test: str | None = None, connection: Any = None) -> list[_Start]:
        """Starts not fetched yet, of one test or on one connection (None: any)."""
        with self._lock:
            return [
                s
                for s in self._pending
                if (test is None or s.test == test)
                and (connection is None or s.client.service_client is connection)
            ]

    def fetch_test(self, nodeid: str) -> list[HarvestedExecution]:
        """Fetch and save the test's pending executions (from a helper thread and loop).

        A fetch that fails here stays pending: its environment's shutdown, or the end of the
        session, tries again.
        """
        starts = self.pending_for(test=nodeid)
        if not starts:
            return []
        return call_in_thread(
            lambda: asyncio.run(self._fetch(starts, final=False)), thread_name=_THREAD
        )

    async def fetch_connection(self, connection: Any) -> list[HarvestedExecution]:
        """Fetch everything pending on one server connection (before it shuts down)."""
        starts = self.pending_for(connection=connection)
        return await self._fetch(starts, final=True) if starts else []

    def fetch_address(self, address: str) -> None:
        """Fetch everything pending on the server at ``HOST:PORT`` (before it stops)."""
        starts = [s for s in self.pending_for() if _target(s.client) == address]
        if starts:
            call_in_thread(
                lambda: asyncio.run(self._fetch(starts, final=True)), thread_name=_THREAD
            )

    def fetch_rest(self) -> None:
        """At session end: fetch what is still pending; what cannot be fetched is skipped."""
        starts = self.pending_for()
        if starts:
            call_in_thread(
                lambda: asyncio.run(self._fetch(starts, final=True)), thread_name=_THREAD
            )

    async def _fetch(self, starts: Sequence[_Start], *, final: bool) -> list[HarvestedExecution]:
        started = time.perf_counter()
        try:
            return await self._fetch_all(starts, final=final)
        finally:
            with self._lock:
                self._seconds += time.perf_counter() - started

    async def _fetch_all(
        self, starts: Sequence[_Start], *, final: bool
    ) -> list[HarvestedExecution]:
        out: list[HarvestedExecution] = []
        # A server that is gone fails every fetch slowly (the client retries): after one such
        # failure, the other starts on that connection fail at once, with the same reason.
        gone: dict[int, BaseException] = {}
        for start in starts:
            connection = id(start.client.service_client)
            try:
                if connection not in gone and not await _reachable(_target(start.client)):
                    gone[connection] = ConnectionRefusedError(
                        f"nothing listens at {_target(start.client)}"
                    )
                if connection in gone:
                    raise gone[connection]
                chain = await asyncio.wait_for(
                    self._fetch_chain(start), timeout=self.options.fetch_timeout * 4
                )
            except Exception as err:  # noqa: BLE001 - reported in the summary, never raised
                if not _is_not_found(err):
                    gone[connection] = err
                if final:
                    with self._lock:
                        if start in self._pending:
                            self._pending.remove(start)
                            self._skipped.append(_skip_reason(err))
                continue
            with self._lock:
                if start not in self._pending:
                    continue  # another fetch (a shutdown on another loop) took it
                self._pending.remove(start)
            for item in chain:
                out.append(self._save(start.test, *item))
        return out

    async def _fetch_chain(self, start: _Start) -> list[tuple[str, str | None, Any, str | None]]:
        """The start's runs and children: ``(workflow id, run id, history, parent id)``."""
        import temporalio.api.enums.v1

        continued = temporalio.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        queue: list[tuple[str, str | None, str | None]] = [(start.workflow_id, start.run_id, None)]
        seen: set[tuple[str, str | None]] = set()
        chain: list[tuple[str, str | None, Any, str | None]] = []
        while queue:
            workflow_id, run_id, parent = queue.pop(0)
            if (workflow_id, run_id) in seen:
                continue
            seen.add((workflow_id, run_id))
            handle = start.client.get_workflow_handle(workflow_id, run_id=run_id)
            history = await asyncio.wait_for(
                handle.fetch_history(), timeout=self.options.fetch_timeout
            )
            events = list(history.events)
            if not events:
                continue
            if run_id is None:
                run_id = (
                    events[0].workflow_execution_started_event_attributes.original_execution_run_id
                    or None
                )
            chain.append((workflow_id, run_id, history, parent))
            for event in events:
                if event.HasField("child_workflow_execution_started_event_attributes"):
                    child = event.child_workflow_execution_started_event_attributes
                    queue.append(
                        (
                            child.workflow_execution.workflow_id,
                            child.workflow_execution.run_id or None,
                            workflow_id,
                        )
                    )
            last = events[-1]
            if last.event_type == continued:
                next_run = last.workflow_execution_continued_as_new_event_attributes
                queue.insert(0, (workflow_id, next_run.new_execution_run_id, parent))
        return chain

    # ------------------------------------------------------------------ saving

    def _save(
        self, test: str, workflow_id: str, run_id: str | None, history: Any, parent: str | None
    ) -> HarvestedExecution:
        import temporalio.api.history.v1

        from replaykit.history._files import HistoryFile, make_meta, write_history
        from replaykit.integrations._agents import framework_versions

        proto = temporalio.api.history.v1.History(events=list(history.events))
        started = proto.events[0].workflow_execution_started_event_attributes
        workflow_type = started.workflow_type.name
        task_queue = started.task_queue.name
        worker = self._worker_for(workflow_type, task_queue)
        workflows: tuple[type, ...] = ()
        workflow_refs: tuple[str, ...] = ()
        not_importable: list[str] = []
        plugins: tuple[Any, ...] = ()
        plugin_refs: list[str] = []
        converter_ref: str | None = None
        if worker is None:
            not_importable.append(
                f"workflow {workflow_type}: no Worker had registered it when its history was "
                "fetched (no worker ran it); pass --workflows MODULE"
            )
        else:
            cls = worker.workflows[workflow_type]
            workflows = (cls,)
            ref = _class_ref(cls)
            if ref is None:
                not_importable.append(
                    f"workflow {cls.__qualname__} is not importable by path (defined in "
                    "__main__ or inside a function); pass --workflows MODULE"
                )
            else:
                workflow_refs = (ref,)
            plugins = tuple(worker.plugins)
            for plugin in plugins:
                plugin_ref = self._object_ref(plugin)
                if plugin_ref is None:
                    kind = f"{type(plugin).__module__}.{type(plugin).__qualname__}"
                    not_importable.append(
                        f"plugin {kind} of {test} (built inside a fixture or function, not a "
                        f"module-level object); pass --plugin MODULE:ATTR naming it (or a "
                        "function returning it)"
                    )
                else:
                    plugin_refs.append(plugin_ref)
            if not _converter_is_implied(worker.converter, plugins):
                converter_ref = self._object_ref(worker.converter)
                if converter_ref is None:
                    not_importable.append(
                        f"data converter of {test} (not a module-level object); pass "
                        "--data-converter MODULE:ATTR"
                    )
        with self._lock:
            outcome = self._outcomes.get(test, "unknown")
            names = self._names.setdefault(test, _TestNames())
            stem = stable_workflow_id(workflow_id, names.uuids)
            run_index = 1
            path: Path | None = None
            if self.options.folder is not None:
                path = harvest_path(self.options.folder, test, stem, run_index)
                while path in names.used:
                    run_index += 1
                    path = harvest_path(self.options.folder, test, stem, run_index)
                names.used.add(path)
            for note in not_importable:
                self._not_importable[note] = None
        closed = HistoryFile(path=None, workflow_id=workflow_id, history=proto).is_closed
        info = HarvestInfo(
            test=test,
            outcome=outcome,
            workflows=workflow_refs,
            plugins=tuple(plugin_refs),
            data_converter=converter_ref,
            not_importable=tuple(not_importable),
            partial=not closed,
            parent_workflow_id=parent,
        )
        meta = make_meta(
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=workflow_type,
            task_queue=task_queue,
            namespace=worker.namespace if worker is not None else None,
            scenario=test,
            frameworks=framework_versions(),
            extra={HARVEST_KEY: info.to_json_dict()},
        )
        written = False
        if path is not None and (
            self.options.mode == "all" or (self.options.mode == "new" and not path.exists())
        ):
            write_history(path, proto, meta=meta)
            written = True
        harvested = HarvestedExecution(
            test=test,
            history=HistoryFile(path=path, workflow_id=workflow_id, history=proto, meta=meta),
            path=path,
            written=written,
            partial=not closed,
            workflows=workflows,
            plugins=plugins,
            data_converter=converter_ref,
        )
        with self._lock:
            self._harvested.append(harvested)
        return harvested

    def _worker_for(self, workflow_type: str, task_queue: str) -> _WorkerInfo | None:
        with self._lock:
            workers = list(self._workers)
        for info in reversed(workers):
            if info.task_queue == task_queue and workflow_type in info.workflows:
                return info
        for info in reversed(workers):
            if workflow_type in info.workflows:
                return info
        return None

    def _object_ref(self, obj: Any) -> str | None:
        """``module:attr`` of a module-level object identical to ``obj``, or None."""
        with self._lock:
            known = self._refs.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        ref = _find_module_attr(obj)
        with self._lock:
            self._refs[id(obj)] = (obj, ref)
        return ref

    # ------------------------------------------------------------------ results

    def executions_of(self, nodeid: str) -> list[HarvestedExecution]:
        """What was harvested from one test so far."""
        with self._lock:
            return [h for h in self._harvested if h.test == nodeid]

    def summary(self) -> HarvestSummary:
        """Counts for the session's summary line."""
        with self._lock:
            harvested = list(self._harvested)
            skipped = list(self._skipped)
            pending = len(self._pending)
            outcomes = dict(self._outcomes)
        skipped.extend(["never fetched (its server was gone)"] * pending)
        folder = self.options.folder
        return HarvestSummary(
            folder=str(folder) if folder is not None else None,
            mode=self.options.mode,
            started=self._started,
            executions=len(harvested),
            tests=tuple(sorted({h.test for h in harvested})),
            written=sum(1 for h in harvested if h.written),
            existing=sum(1 for h in harvested if not h.written and self.options.mode == "new"),
            partial=sum(1 for h in harvested if h.partial),
            failed_tests=sum(1 for h in harvested if outcomes.get(h.test) in ("failed", "error")),
            skipped=tuple(skipped),
            not_importable=tuple(self._not_importable),
            seconds=self._seconds,
        )


def _skip_reason(err: BaseException) -> str:
    if _is_not_found(err):
        return "not on its server any more (the server was restarted without its store)"
    if isinstance(err, ConnectionRefusedError):
        return "its server was stopped or killed before the history could be fetched"
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        return "fetch timed out (its server was stopped or unreachable)"
    text = " ".join(str(err).split())[:100] or type(err).__name__
    return f"fetch failed, its server was gone ({type(err).__name__}: {text})"


def _target(client: Any) -> str:
    try:
        return str(client.service_client.config.target_host)
    except Exception:  # noqa: BLE001 - a client without the usual config: no address
        return ""


async def _reachable(address: str) -> bool:
    """Whether something accepts TCP connections at ``HOST:PORT`` (unknown: True).

    A stopped server fails a history fetch only after the client's retries (seconds); this
    tells in milliseconds.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return True
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port)), timeout=2.0
        )
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


def _is_not_found(err: BaseException) -> bool:
    import temporalio.service

    return (
        isinstance(err, temporalio.service.RPCError)
        and err.status == temporalio.service.RPCStatusCode.NOT_FOUND
    )


# --------------------------------------------------------------------------- references


def _class_ref(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    if module is None or cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None
    target: Any = module
    for part in cls.__qualname__.split("."):
        target = getattr(target, part, None)
    return f"{cls.__module__}:{cls.__qualname__}" if target is cls else None


def _find_module_attr(obj: Any) -> str | None:
    """The first ``module:attr`` (public modules first) whose value is ``obj`` itself."""
    candidates: list[tuple[int, str, str]] = []
    for name, module in list(sys.modules.items()):
        if module is None or name == "__main__" or name.startswith("_replaykit_ref_"):
            continue
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        for attr, value in items:
            if value is obj and not attr.startswith("__"):
                private = name.startswith("_") or ("._" in name) or attr.startswith("_")
                candidates.append((int(private), name, attr))
                break
    if not candidates:
        return None
    _, name, attr = min(candidates)
    return f"{name}:{attr}"


def _converter_is_implied(converter: Any, plugins: Sequence[Any]) -> bool:
    """Whether ``converter`` is the SDK default or the one ``plugins`` install."""
    import temporalio.converter

    from replaykit.integrations._plugins import plugin_data_converter

    def shape(c: Any) -> tuple[Any, ...]:
        return (
            c.payload_converter_class,
            c.payload_codec is None,
            c.failure_converter_class,
            getattr(c, "external_storage", None) is None,
        )

    if converter is None:
        return True
    implied = plugin_data_converter(list(plugins)) or temporalio.converter.DataConverter.default
    return bool(shape(converter) == shape(implied))


# --------------------------------------------------------------------------- the wraps


def _install() -> None:
    """Wrap the SDK classes once per process (the wraps consult :data:`_ACTIVE`)."""
    import temporalio.client
    import temporalio.testing
    import temporalio.worker

    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        client_cls = temporalio.client.Client
        for name in ("start_workflow",):
            _patch(client_cls, name, _wrap_start(getattr(client_cls, name)))
        for name in ("start_update_with_start_workflow", "execute_update_with_start_workflow"):
            if hasattr(client_cls, name):
                _patch(client_cls, name, _wrap_update_with_start(getattr(client_cls, name)))
        worker_cls = temporalio.worker.Worker
        _patch(worker_cls, "__init__", _wrap_worker_init(worker_cls.__init__))
        for env_cls in _env_classes(temporalio.testing.WorkflowEnvironment):
            if "shutdown" in vars(env_cls):
                _patch(env_cls, "shutdown", _wrap_shutdown(vars(env_cls)["shutdown"]))
        # replaykit's own servers (start_server, the plugin's temporal_env): fetch before a
        # stop, and before a restart that forgets its executions (no persistent store).
        from replaykit.servers._running import RunningServer

        _patch(RunningServer, "stop", _wrap_server_stop(RunningServer.stop, always=True))
        _patch(RunningServer, "restart", _wrap_server_stop(RunningServer.restart, always=False))


def _env_classes(base: type) -> list[type]:
    out = [base]
    sub: type
    for sub in base.__subclasses__():
        out.extend(c for c in _env_classes(sub) if c not in out)
    return out


def _patch(cls: type, name: str, wrapper: Any) -> None:
    _INSTALLED[(cls, name)] = vars(cls)[name] if name in vars(cls) else getattr(cls, name)
    setattr(cls, name, wrapper)


def uninstall() -> None:
    """Restore the SDK classes (for tests that install and remove the wraps in-process)."""
    with _INSTALL_LOCK:
        for (cls, name), original in _INSTALLED.items():
            setattr(cls, name, original)
        _INSTALLED.clear()


def _wrap_start(original: Any) -> Any:
    @functools.wraps(original)
    async def start_workflow(self: temporalio.client.Client, *args: Any, **kwargs: Any) -> Any:
        handle = await original(self, *args, **kwargs)
        harvester = _ACTIVE
        if harvester is not None:
            with contextlib.suppress(Exception):  # a harvest problem never breaks a test
                harvester._on_start(self, handle)
        return handle

    return start_workflow


def _wrap_update_with_start(original: Any) -> Any:
    @functools.wraps(original)
    async def with_start(self: temporalio.client.Client, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        harvester = _ACTIVE
        operation = kwargs.get("start_workflow_operation")
        if harvester is not None and operation is not None:
            with contextlib.suppress(Exception):
                harvester._on_start(self, await operation.workflow_handle())
        return result

    return with_start


def _wrap_worker_init(original: Any) -> Any:
    @functools.wraps(original)
    def __init__(self: Any, client: Any, *args: Any, **kwargs: Any) -> None:
        original(self, client, *args, **kwargs)
        harvester = _ACTIVE
        if harvester is not None:
            with contextlib.suppress(Exception):
                harvester._on_worker(client, kwargs)

    return __init__


def _wrap_server_stop(original: Any, *, always: bool) -> Any:
    @functools.wraps(original)
    def stop(self: Any) -> None:
        harvester = _ACTIVE
        if harvester is not None and (always or getattr(self.spec, "db_filename", None) is None):
            with contextlib.suppress(Exception):  # a harvest problem never breaks a stop
                harvester.fetch_address(str(self.address))
        original(self)

    return stop


def _wrap_shutdown(original: Any) -> Any:
    @functools.wraps(original)
    async def shutdown(self: Any) -> None:
        harvester = _ACTIVE
        if harvester is not None:
            with contextlib.suppress(Exception):  # a harvest problem never breaks a shutdown
                await harvester.fetch_connection(self.client.service_client)
        await original(self)

    return shutdown
