"""Stepping through a recorded execution: breakpoints at history events, and a trace.

``replaykit replay`` replays one history in this process with the SDK's own ``Replayer`` (in
debug mode: activations run inline on the main thread and the deadlock detector is off, so
a debugger can sit at a stop for as long as it likes). Two hooks make history events visible
in the workflow's own code:

* **commands** (activity scheduled, timer started, child started, workflow completed, …): the
  hook on the instance's command factory (the one :mod:`replaykit.check._capture` uses for source
  lines) sees each command being created; once its SDK caller has filled it in, the n-th
  command of a kind that produces an ordered event is paired with the n-th such recorded
  event, exactly as strict comparison pairs them. A stop there is in the user frame that
  issued the command.
* **deliveries** (activity completed, timer fired, signal, child completed, …): an event is
  delivered in the first workflow task started after it. A trace function sees where the
  workflow resumes in that activation: a signal is consumed by its handler, other events by
  the coroutine that wakes up (the n-th one that resumes takes the n-th delivered event).

A stop prints the decoded event and the workflow frame, then hands over to pdb (or debugpy).
"""

from __future__ import annotations

import dis
import linecache
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import temporalio.bridge.proto.workflow_activation as wf_activation
import temporalio.bridge.proto.workflow_commands as wf_commands
import temporalio.bridge.proto.workflow_completion as wf_completion
import temporalio.worker
import temporalio.workflow
from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit._internal._sdk_compat import hook_add_command, workflow_type_name
from replaykit.check._capture import _SKIP_DIRS, CapturingRunner, RunCapture
from replaykit.check._divergence import Divergence
from replaykit.check._format import event_type_name
from replaykit.check._report import display_path
from replaykit.history._events import COMMAND_EVENT_FOR_VARIANT, PATCH_MARKER_NAME
from replaykit.history._files import HistoryFile, load_history

__all__ = [
    "BreakPoint",
    "DebugpyDebugger",
    "Debugger",
    "PdbDebugger",
    "PointError",
    "ReplayOutcome",
    "Stop",
    "parse_break_point",
    "replay_history",
]

E = EventType

_TASK_EVENTS = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    }
)

if TYPE_CHECKING:
    from replaykit._internal._sdk_compat import WorkflowDefinition

Source = tuple[str, int, str]  # (absolute file, line, function)


class PointError(ReplaykitError):
    """A ``--break-at`` point is malformed or never occurs in the history."""


# --------------------------------------------------------------------------- points


PointKind = Literal["event", "activity", "timer", "signal", "child", "divergence"]
_POINT_RE = re.compile(r"^(activity|signal|child):(.+?)(?:@(\d+))?$")


@dataclass(frozen=True)
class BreakPoint:
    """One ``--break-at`` point.

    Attributes:
        spec: The text as given (``activity:search_web@2``).
        kind: ``event``, ``activity``, ``timer``, ``signal``, ``child`` or ``divergence``.
        name: The activity type, signal name or child workflow type.
        number: The event id (``event``), the timer's ordinal (``timer``), or the ``@N``
            occurrence (1-based) of a named point; None means every occurrence.
    """

    spec: str
    kind: PointKind
    name: str | None = None
    number: int | None = None


def parse_break_point(text: str) -> BreakPoint:
    """Parse ``EVENT_ID``, ``activity:NAME[@N]``, ``timer:K``, ``signal:NAME[@N]``,
    ``child:TYPE[@N]`` or ``divergence``.

    Raises:
        PointError: The text is none of these.
    """
    spec = text.strip()
    if spec.isdigit() and int(spec) > 0:
        return BreakPoint(spec, "event", number=int(spec))
    if spec == "divergence":
        return BreakPoint(spec, "divergence")
    if spec.startswith("timer:") and spec[6:].isdigit() and int(spec[6:]) > 0:
        return BreakPoint(spec, "timer", number=int(spec[6:]))
    match = _POINT_RE.match(spec)
    if match:
        kind_text, name, number = match.groups()
        if number is not None and int(number) < 1:
            raise PointError(f"--break-at {text!r}: @N counts from 1")
        kind: PointKind = (
            "activity"
            if kind_text == "activity"
            else ("signal" if kind_text == "signal" else "child")
        )
        return BreakPoint(spec, kind, name=name, number=int(number) if number else None)
    raise PointError(
        f"--break-at {text!r}: expected EVENT_ID, activity:NAME[@N], timer:K, signal:NAME[@N], "
        "child:TYPE[@N] or divergence"
    )


# --------------------------------------------------------------------------- the history


class _Index:
    """Where each event of a history comes from or goes to, for the replay's stepper.

    The references (steps, workflow tasks, deliveries) are the event model's
    (:class:`~replaykit.history._events.HistoryView`); this adds the positions the stepper counts:
    each command event's place among the commands, each local-activity and patch marker's
    place among its kind.
    """

    def __init__(self, hf: HistoryFile) -> None:
        view = hf.view
        self.view = view
        self.events = view.events
        self.by_id = view.by_id
        self.ordered = view.command_events
        self.ordered_index = view.command_index
        self.local_markers = [ev.event_id for ev in view.local_markers]
        self.patch_markers = [ev.event_id for ev in view.markers(PATCH_MARKER_NAME)]
        # Workflow tasks the replay runs; their ids are the activations' history_length.
        self.tasks = view.tasks
        #: Consumed events delivered in each task, in history order.
        self.delivered = view.delivered
        self.task_after = view.task_after
        self.task_of = view.task_of
        self.task_of_command = view.task_of_command

    # -- what occurs (for errors) ---------------------------------------------------------

    def activities(self) -> dict[str, list[int]]:
        return self.view.names("activity")

    def timers(self) -> list[int]:
        return [t.event_id for t in self.view.timers]

    def signals(self) -> dict[str, list[int]]:
        return self.view.names("signal")

    def children(self) -> dict[str, list[int]]:
        return self.view.names("child")

    def describe_points(self) -> str:
        """The points that occur, for an error message."""

        def named(prefix: str, found: dict[str, list[int]]) -> str:
            if not found:
                return "none"
            return ", ".join(f"{prefix}:{name} (x{len(ids)})" for name, ids in found.items())

        timers = self.timers()
        last = self.events[-1].event_id if self.events else 0
        return "\n".join(
            [
                f"  activities: {named('activity', self.activities())}",
                "  timers: "
                + (
                    "none"
                    if not timers
                    else "timer:1"
                    if len(timers) == 1
                    else f"timer:1 .. timer:{len(timers)}"
                ),
                f"  signals: {named('signal', self.signals())}",
                f"  child workflows: {named('child', self.children())}",
                f"  event ids: 1 .. {last}",
            ]
        )


# --------------------------------------------------------------------------- targets


@dataclass
class _Targets:
    """Where the replay must stop, keyed the way the runtime hooks see things."""

    commands: dict[int, list[str]] = field(default_factory=dict)  # ordered command index
    local: dict[int, list[str]] = field(default_factory=dict)  # k-th local activity
    patch: dict[int, list[str]] = field(default_factory=dict)  # k-th patch marker
    deliveries: dict[int, list[str]] = field(default_factory=dict)  # consumed event id
    tasks: dict[int, list[str]] = field(default_factory=dict)  # workflow task started id
    #: The event id each stop concerns (for printing the decoded event).
    event_of: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, where: str, key: int, label: str, event_id: int | None) -> None:
        table: dict[int, list[str]] = getattr(self, where)
        labels = table.setdefault(key, [])
        if label not in labels:
            labels.append(label)
        if event_id is not None:
            self.event_of[(where, key)] = event_id

    def __bool__(self) -> bool:
        return any((self.commands, self.local, self.patch, self.deliveries, self.tasks))


def _add_event(targets: _Targets, index: _Index, event_id: int, label: str) -> None:
    """Map an event id to the moment the replay reaches it."""
    ev = index.by_id[event_id]
    if event_id in index.ordered_index:
        targets.add("commands", index.ordered_index[event_id], label, event_id)
    elif event_id in index.local_markers:
        targets.add("local", index.local_markers.index(event_id), label, event_id)
    elif event_id in index.patch_markers:
        targets.add("patch", index.patch_markers.index(event_id), label, event_id)
    elif any(event_id in ids for ids in index.delivered.values()):
        targets.add("deliveries", event_id, label, event_id)
    else:
        # Events no code issues or consumes (task bookkeeping, activity started, ...): the
        # first workflow code that runs in the task that sees them.
        task = (
            index.task_of(event_id) if ev.event_type in _TASK_EVENTS else index.task_after(event_id)
        )
        if task is None:
            raise PointError(
                f"event {event_id} ({event_type_name(ev.event_type)}) comes after the last "
                "workflow task: no workflow code runs after it"
            )
        targets.add("tasks", task, label, event_id)


def _resolve(
    points: Sequence[BreakPoint], index: _Index, divergence: Divergence | None, path: str
) -> _Targets:
    targets = _Targets()
    missing: list[str] = []
    for point in points:
        ids: list[int] = []
        if point.kind == "event":
            assert point.number is not None
            if point.number in index.by_id:
                ids = [point.number]
        elif point.kind == "timer":
            timers = index.timers()
            assert point.number is not None
            if point.number <= len(timers):
                ids = [timers[point.number - 1]]
        elif point.kind == "divergence":
            if divergence is None:
                missing.append(
                    f"{point.spec} (the history replays clean against the current "
                    "code: strict comparison finds no divergence)"
                )
                continue
            _add_divergence(targets, index, divergence, point.spec)
            continue
        else:
            table = {
                "activity": index.activities,
                "signal": index.signals,
                "child": index.children,
            }[point.kind]()
            ids = table.get(point.name or "", [])
            if point.number is not None:
                ids = ids[point.number - 1 : point.number]
        if not ids:
            missing.append(point.spec)
            continue
        for event_id in ids:
            _add_event(targets, index, event_id, point.spec)
    if missing:
        raise PointError(
            f"{path}: --break-at {', '.join(missing)} never occurs in this history. "
            f"Points that do:\n{index.describe_points()}"
        )
    return targets


def _add_divergence(targets: _Targets, index: _Index, d: Divergence, label: str) -> None:
    if d.event_id is None:
        if d.cause == "extra-command":
            # The first command beyond what the history recorded.
            targets.add("commands", len(index.ordered), label, None)
            return
        # Nothing in the history to point at: stop where the workflow first runs.
        if index.tasks:
            targets.add("tasks", index.tasks[0], label, None)
        return
    if d.event_id not in index.by_id:
        return
    if d.cause == "missing-command":
        # The code no longer issues it: stop in the workflow task that recorded it.
        task = index.task_of_command(d.event_id)
        if task is not None:
            targets.add("tasks", task, label, d.event_id)
            return
    _add_event(targets, index, d.event_id, label)


# --------------------------------------------------------------------------- stops


@dataclass(frozen=True)
class Stop:
    """One stop of the replay.

    Attributes:
        labels: The ``--break-at`` points that matched.
        event_id: The recorded event the stop concerns (None for a command the history
            does not have).
        event_line: The decoded event, one line (``41 ActivityTaskScheduled save_report(...)``).
        frame: The workflow frame the debugger is handed.
        location: ``file:line in function`` of that frame.
        how: ``issued by`` (the code issues the command now), ``consumed at`` (the
            workflow resumes with the event, or its handler runs) or ``awaited at`` (the
            event arrives while the workflow keeps waiting there, as in asyncio.gather).
        divergence: The divergence, for a ``divergence`` point.
        details: The event's decoded attributes (clipped JSON), printed under its line.
    """

    labels: tuple[str, ...]
    event_id: int | None
    event_line: str
    frame: FrameType
    location: str
    how: str
    divergence: Divergence | None = None
    details: str = ""

    def banner(self) -> str:
        """What is printed before the debugger takes over."""
        lines = [f"replaykit: stopped at --break-at {', '.join(self.labels)}"]
        lines.append(f"  event:       {self.event_line}")
        lines.extend(f"{'':15}{ln}" for ln in self.details.splitlines())
        lines.append(f"  {self.how + ':':<12} {self.location}")
        if self.divergence is not None:
            lines.extend("  " + ln for ln in self.divergence.describe().splitlines())
        return "\n".join(lines)


class Debugger(Protocol):
    """What a stop hands the workflow frame to.

    A debugger that steps (pdb) also has ``tracing()`` (its trace function while it steps,
    else None; the replay's tracer feeds it every frame) and ``resume_with(tracer)`` (the
    tracer to reinstate when it stops tracing).
    """

    def stop(self, stop: Stop) -> bool:
        """Debug at ``stop.frame``; return False to stop stopping (pdb's ``q``)."""


def _sandbox_unrestricted() -> Any:
    return temporalio.workflow.unsafe.sandbox_unrestricted()


_SKIP_MODULES = [
    "replaykit.*",
    "temporalio.*",
    "asyncio.*",
    "contextlib",
    "concurrent.*",
    "threading",
    "google.*",
]


def _pdb_class() -> Any:
    import pdb

    class ReplayPdb(pdb.Pdb):
        """pdb at a replay stop: ``c`` goes to the next point, ``q`` stops stopping.

        Stepping (``n``, ``s``) works across workflow tasks: when the workflow awaits an
        event, the next line runs in the activation that delivers it, and the replay's own
        tracer hands pdb every frame it traces (see :meth:`_Stepper._global`).
        """

        quitting_replay = False
        #: The replay's tracer, reinstated when pdb stops tracing (``c``).
        resume_trace: Any = None

        def stop_at(self, frame: FrameType) -> None:
            self.reset()
            saved: list[tuple[FrameType, Any]] = []
            f: FrameType | None = frame
            while f is not None:
                saved.append((f, f.f_trace))
                f.f_trace = self.trace_dispatch
                self.botframe = f
                f = f.f_back
            self.interaction(frame, None)
            if self.tracing() is not None:
                sys.settrace(self.trace_dispatch)  # as after set_trace()
            else:
                for f2, previous in saved:
                    f2.f_trace = previous

        def tracing(self) -> Any:
            """pdb's tracer while it steps or has breakpoints, else None."""
            if self.quitting_replay or not hasattr(self, "stopframe"):
                return None  # quit, or never stopped yet
            idle = self.stopframe is self.botframe and self.stoplineno == -1
            return None if idle and not self.breaks else self.trace_dispatch

        def set_continue(self) -> None:  # noqa: D102
            super().set_continue()
            if self.resume_trace is not None and sys.gettrace() is None:
                sys.settrace(self.resume_trace)

        def interaction(self, frame: Any, tb: Any) -> None:  # noqa: D102
            with _sandbox_unrestricted():
                super().interaction(frame, tb)

        def user_exception(self, frame: FrameType, exc_info: Any) -> None:  # noqa: D102
            # bdb reports a StopIteration leaving a coroutine it steps in, whatever `skip`
            # says: the SDK's frames would show up as "Internal StopIteration".
            if self.is_skipped_module(frame.f_globals.get("__name__", "")):
                return
            super().user_exception(frame, exc_info)

        def do_quit(self, arg: str) -> bool | None:  # noqa: D102
            self.message("replaykit: the replay runs to its end without stopping again")
            self.quitting_replay = True
            self.clear_all_breaks()
            return self.do_continue(arg)

        do_q = do_exit = do_EOF = do_quit

    return ReplayPdb


class PdbDebugger:
    """Hands each stop to pdb (standard input and output)."""

    def __init__(self) -> None:
        self._pdb: Any = None

    def stop(self, stop: Stop) -> bool:
        """Debug at the stop's frame with pdb."""
        if self._pdb is None:
            self._pdb = _pdb_class()(skip=_SKIP_MODULES)
        self._pdb.stop_at(stop.frame)
        return not self._pdb.quitting_replay

    def tracing(self) -> Any:
        """pdb's tracer while it steps (the replay's tracer must feed it), else None."""
        return self._pdb.tracing() if self._pdb is not None else None

    def resume_with(self, tracer: Any) -> None:
        """The tracer to reinstate when pdb stops tracing."""
        if self._pdb is None:
            self._pdb = _pdb_class()(skip=_SKIP_MODULES)
        self._pdb.resume_trace = tracer


class DebugpyDebugger:
    """Listens for VS Code / PyCharm (debugpy) and breaks in the workflow frame at each stop."""

    def __init__(self, host: str, port: int, *, echo: Callable[[str], None]) -> None:
        try:
            import debugpy
        except ImportError:
            raise ConfigError(
                "--debugger debugpy needs the debugpy package: pip install 'replaykit[debug]' "
                "(or pip install debugpy)"
            ) from None
        self._debugpy = debugpy
        self._echo = echo
        try:
            debugpy.listen((host, port))
        except Exception as err:  # noqa: BLE001 - any failure to listen is a usage error
            raise ConfigError(f"--listen {host}:{port}: debugpy cannot listen: {err}") from None
        self.address = f"{host}:{port}"
        echo(
            f"replaykit: debugpy listens on {self.address}; attach your editor "
            '(VS Code: "Python Debugger: Attach", connect to that host and port)'
        )
        sys.stdout.flush()

    def stop(self, stop: Stop) -> bool:
        """Wait for a client, then break at the stop's frame."""
        debugpy = self._debugpy
        if not debugpy.is_client_connected():
            self._echo(f"replaykit: waiting for a debugger to attach on {self.address} ...")
            sys.stdout.flush()
            with _sandbox_unrestricted():
                debugpy.wait_for_client()
        with _sandbox_unrestricted():
            _suspend_in(stop.frame)
        return True


def _suspend_in(frame: FrameType) -> None:
    """Suspend this thread in the editor at ``frame`` until the user continues.

    What pydevd's own tracer does when it hits a breakpoint. ``debugpy.breakpoint()`` would
    instead stop at the next line its tracer sees in the caller, which never comes: a stop
    runs inside replaykit's trace function (no tracing there), and the workflow frame runs
    its next line only in a later activation.
    """
    try:
        import pydevd
        from _pydevd_bundle.pydevd_additional_thread_info import set_additional_thread_info
        from _pydevd_bundle.pydevd_comm_constants import CMD_SET_BREAK
    except ImportError:  # pragma: no cover - another debugpy layout: the public API
        import debugpy

        debugpy.breakpoint()
        return
    py_db = pydevd.get_global_debugger()
    thread = threading.current_thread()
    set_additional_thread_info(thread)
    py_db.set_suspend(thread, CMD_SET_BREAK)
    py_db.do_wait_suspend(thread, frame, "line", None)


# --------------------------------------------------------------------------- the runtime


# the whole replaykit package (this module is one level down in replaykit/debug/)
_REPLAYKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_RETURN_VALUE = dis.opmap["RETURN_VALUE"]
_YIELD_VALUE = dis.opmap["YIELD_VALUE"]
_local = threading.local()
_USER: dict[str, bool] = {}


_LIBRARY_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def _is_user(filename: str) -> bool:
    """The project's own code: not the SDK, the standard library or an installed library
    (an agent framework's loop is not where its user wants to stop: their call into it is)."""
    known = _USER.get(filename)
    if known is None:
        known = _USER[filename] = not (
            filename.startswith(_SKIP_DIRS)
            or filename.startswith("<")
            or filename.startswith(os.path.dirname(os.__file__))
            or any(d in filename for d in _LIBRARY_DIRS)
        )
    return known


def _source(frame: FrameType) -> Source:
    return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _user_frame(frame: FrameType | None, boundary: FrameType | None) -> FrameType | None:
    """The innermost user frame between ``frame`` and the activation's own frame."""
    while frame is not None and frame is not boundary:
        if _is_user(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


def _task_origin() -> Source | None:
    """Where the coroutine the current asyncio task runs was created (if user code)."""
    import asyncio

    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    origin = getattr(task.get_coro(), "cr_origin", None) if task is not None else None
    for filename, lineno, func in origin or ():
        if _is_user(filename):
            return (filename, lineno, func)
    return None


def _raised_from() -> tuple[FrameType, int] | None:
    """The user frame (and line) that raised the exception being handled: where the code
    continued as new or failed (the SDK issues those commands after the frame is gone)."""
    tb = sys.exc_info()[2]
    found: tuple[FrameType, int] | None = None
    while tb is not None:
        if _is_user(tb.tb_frame.f_code.co_filename):
            found = (tb.tb_frame, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _suspended_user_frame() -> FrameType | None:
    """The innermost user frame of a suspended workflow task (commands issued from tasks
    that asyncio.gather or create_task started have no user frame on the stack)."""
    import asyncio

    try:
        tasks = list(asyncio.all_tasks())
    except RuntimeError:
        return None
    best: FrameType | None = None
    for task in tasks:
        coro: Any = task.get_coro()
        inner: FrameType | None = None
        while coro is not None and getattr(coro, "cr_frame", None) is not None:
            frame = coro.cr_frame
            if _is_user(frame.f_code.co_filename):
                inner = frame
            coro = getattr(coro, "cr_await", None)
        if inner is not None:
            best = inner
            current = asyncio.current_task()
            if current is not None and task is not current:
                break
    return best


@dataclass
class _Chain:
    """One resumption of workflow code in an activation (a task step or a handler call)."""

    handler: tuple[str, str] | None  # ("signal", name) / ("update", name)
    source: Source | None = None
    events: list[int] = field(default_factory=list)
    stop_labels: list[str] = field(default_factory=list)


@dataclass
class _TaskState:
    delivered: list[int]
    chains: list[_Chain] = field(default_factory=list)
    #: Delivered events no code resumed for: where the workflow kept waiting.
    awaited: dict[int, Source] = field(default_factory=dict)


@dataclass
class _Produced:
    kind: str  # ordered / local / patch / other
    index: int
    variant: str
    source: Source | None


class _Stepper:
    """The replay's view of one run: pairs commands and deliveries with events; stops."""

    def __init__(
        self,
        index: _Index,
        targets: _Targets,
        *,
        debugger: Debugger | None,
        echo: Callable[[str], None],
        describe: Callable[[int], str],
        divergence: Divergence | None,
        details: Callable[[int], str] = lambda _event_id: "",
        trace: bool,
    ) -> None:
        self.index = index
        self.targets = targets
        self.debugger = debugger
        self.echo = echo
        self.describe = describe
        self.details = details
        self.divergence = divergence
        self.trace = trace
        self.stopping = bool(targets) and debugger is not None
        self.ordered = 0
        self.local_seqs: list[int] = []
        self.patches = 0
        self.produced: list[_Produced] = []
        self.task_states: dict[int, _TaskState] = {}
        self.stops: list[Stop] = []
        self.handlers: dict[tuple[str, int], tuple[str, str]] = {}
        self._task: _TaskState | None = None
        self._pending: _Chain | None = None
        #: The innermost user coroutine frame that suspended last (where the workflow waits).
        self._suspended: FrameType | None = None
        self._yield_armed = False
        self._task_stop: tuple[list[str], int | None] | None = None
        self._boundary: FrameType | None = None
        #: The user coroutine frame that last returned (where the workflow completed).
        self._returned: FrameType | None = None
        self._code_kinds: dict[CodeType, int] = {}  # 0 other user code, 1 coroutine, 2 handler

    # -- set-up -------------------------------------------------------------------------

    def learn_handlers(self, defn: Any) -> None:
        """Signal and update handlers, by code location (the sandbox re-imports modules)."""
        for kind, table in (("signal", defn.signals), ("update", defn.updates)):
            for name, handler in table.items():
                fn = getattr(handler, "fn", None)
                code = getattr(fn, "__code__", None)
                if code is not None:
                    key = (code.co_filename, code.co_firstlineno)
                    self.handlers[key] = (kind, name if name is not None else "*")

    # -- activations --------------------------------------------------------------------

    def activate(self, act: wf_activation.WorkflowActivation, run: Callable[[], Any]) -> Any:
        if any(job.WhichOneof("variant") == "remove_from_cache" for job in act.jobs):
            return run()
        task_id = act.history_length
        state = self.task_states.get(task_id)
        if state is None:
            state = self.task_states[task_id] = _TaskState(
                list(self.index.delivered.get(task_id, []))
            )
        self._task = state
        self._pending = None
        task_labels = self.targets.tasks.get(task_id) if self.stopping else None
        # A stop at the task itself: the first workflow line that runs in it.
        self._task_stop = (
            (list(task_labels), self.targets.event_of.get(("tasks", task_id)))
            if task_labels
            else None
        )
        self._boundary = sys._getframe()
        _local.stepper = self
        previous = sys.gettrace()
        resume = getattr(self.debugger, "resume_with", None)
        if resume is not None:
            resume(self._global)
        sys.settrace(self._global if self.trace or self.stopping else None)
        try:
            return run()
        finally:
            try:
                self._after_activation(state)
            finally:
                sys.settrace(previous)
                _local.stepper = None
                self._task = None
                self._boundary = None

    def _after_activation(self, state: _TaskState) -> None:
        """Delivered events no workflow code resumed for (a task that awaits several
        futures, asyncio.gather): the workflow still waits at its await."""
        if self._task_stop is not None and self.stopping and self._suspended is not None:
            # A stop at this task, but no workflow line ran in it: where the workflow waits.
            labels, event_id = self._task_stop
            self._task_stop = None
            self._stop(labels, event_id, self._suspended, "awaited")
        # A chain that ran no workflow line resumed only SDK code (execute_child_workflow
        # awaiting the child's result after its start): the workflow still waits too.
        taken = {e for c in state.chains if c.source is not None for e in c.events}
        plain = any(c.source is not None and c.handler is None for c in state.chains)
        waiting = [
            e
            for e in state.delivered
            if e not in taken
            and e not in state.awaited
            and not (
                plain
                and self.index.by_id[e].event_type
                not in (
                    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                )
            )
        ]
        if not waiting or self._suspended is None:
            return
        frame = self._suspended
        for event_id in waiting:
            state.awaited[event_id] = _source(frame)
        if not self.stopping:
            return
        labels = [x for e in waiting for x in self.targets.deliveries.get(e, [])]
        if labels:
            event_id = next(e for e in waiting if e in self.targets.deliveries)
            self._stop(list(dict.fromkeys(labels)), event_id, frame, "awaited")

    def _idle(self, frame: FrameType, event: str, arg: Any) -> None:
        return None

    def _kind(self, code: CodeType) -> int:
        kind = self._code_kinds.get(code)
        if kind is None:
            if (code.co_filename, code.co_firstlineno) in self.handlers:
                kind = 2
            elif code.co_flags & 0x80:  # CO_COROUTINE
                kind = 1
            else:
                kind = 0
            self._code_kinds[code] = kind
        return kind

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        mine = self._mine(frame, event, arg)
        theirs = self._debugger_tracing()
        if theirs is None:
            return mine
        # pdb steps across workflow tasks: it sees every frame this tracer sees.
        local = theirs(frame, event, arg)
        if mine is None or local is None:
            return local if mine is None else mine
        return _both(mine, local)

    def _mine(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call" or not _is_user(frame.f_code.co_filename):
            return None
        kind = self._kind(frame.f_code)
        frame.f_trace_lines = True
        back = frame.f_back
        root = back is None or not _is_user(back.f_code.co_filename)
        if root and kind and self._task is not None:
            handler = self.handlers.get((frame.f_code.co_filename, frame.f_code.co_firstlineno))
            self._start_chain(handler)
        return self._local_trace

    def _start_chain(self, handler: tuple[str, str] | None) -> None:
        state = self._task
        assert state is not None
        chain = _Chain(handler)
        # Hand the chain its delivered event: a handler its signal/update, anything else the
        # next delivered event no handler takes.
        for event_id in state.delivered:
            if any(event_id in c.events for c in state.chains):
                continue
            ev = self.index.by_id[event_id]
            if handler is None:
                if ev.event_type in (
                    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                ):
                    continue
            elif not _handles(handler, ev):
                continue
            chain.events.append(event_id)
            break
        state.chains.append(chain)
        self._yield_armed = True
        if self.stopping and chain.events:
            labels = self.targets.deliveries.get(chain.events[0])
            if labels:
                chain.stop_labels = list(labels)
        self._pending = chain

    def _local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            self._note_return(frame)
            return None
        if event != "line":
            return self._local_trace
        chain, self._pending = self._pending, None
        if chain is not None:
            chain.source = _source(frame)
            labels = list(chain.stop_labels)
            event_id = chain.events[0] if chain.events else None
            if self._task_stop is not None:
                labels += [x for x in self._task_stop[0] if x not in labels]
                event_id = event_id if event_id is not None else self._task_stop[1]
                self._task_stop = None
            if labels and self.stopping:
                self._stop(labels, event_id, frame, "consumed")
                current = frame.f_trace
                if current is not self._local_trace:
                    return current  # pdb traces this frame now (`n`, `s`)
        if self._kind(frame.f_code) == 1:
            # Only returns and suspensions matter now: no more line events (unless pdb
            # steps here: the flag is the frame's, not this tracer's).
            if self._debugger_tracing() is None:
                frame.f_trace_lines = False
            return self._local_trace
        return None

    def _debugger_tracing(self) -> Any:
        tracing = getattr(self.debugger, "tracing", None)
        return tracing() if tracing is not None else None

    def _note_return(self, frame: FrameType) -> None:
        code = frame.f_code
        if self._kind(code) != 1 or not 0 <= frame.f_lasti < len(code.co_code):
            return
        op = code.co_code[frame.f_lasti]
        if op == _RETURN_VALUE:
            self._returned = frame  # finished, not suspended at an await
        elif op == _YIELD_VALUE and self._yield_armed:
            # Suspension unwinds from the innermost frame out: the first is where it waits.
            self._suspended = frame
            self._yield_armed = False

    # -- commands -----------------------------------------------------------------------

    def command_created(self, command: wf_commands.WorkflowCommand, frame: FrameType) -> None:
        caller: FrameType | None = frame
        while caller is not None and caller.f_code.co_filename.startswith(_REPLAYKIT_DIR):
            caller = caller.f_back
        if caller is None:
            return
        sdk_frame = caller
        previous = sdk_frame.f_trace

        def watch(f: FrameType, event: str, arg: Any) -> Any:
            chained = previous(f, event, arg) if previous is not None else None
            if event == "return" and f is sdk_frame:
                self._command_filled(command, sdk_frame)
                return None
            return watch if chained is not None or event != "return" else None

        sdk_frame.f_trace = watch
        sdk_frame.f_trace_lines = False
        if sys.gettrace() is None:
            sys.settrace(self._idle)

    def _command_filled(self, command: wf_commands.WorkflowCommand, sdk_frame: FrameType) -> None:
        variant = command.WhichOneof("variant") or ""
        user = _user_frame(sdk_frame.f_back, self._boundary)
        if variant in COMMAND_EVENT_FOR_VARIANT:
            kind, key, where = "ordered", self.ordered, "commands"
            self.ordered += 1
        elif variant == "schedule_local_activity":
            seq = command.schedule_local_activity.seq
            if seq in self.local_seqs:
                return  # a retried local activity is re-scheduled with the same seq
            kind, key, where = "local", len(self.local_seqs), "local"
            self.local_seqs.append(seq)
        elif variant == "set_patch_marker":
            kind, key, where = "patch", self.patches, "patch"
            self.patches += 1
        else:
            return
        source: Source | None = None
        if user is None and variant in (
            "fail_workflow_execution",
            "continue_as_new_workflow_execution",
            "cancel_workflow_execution",
        ):
            raised = _raised_from()
            if raised is not None:
                user = raised[0]
                source = (user.f_code.co_filename, raised[1], user.f_code.co_name)
        if user is None and variant == "complete_workflow_execution":
            user = self._returned
            if user is not None:
                source = (user.f_code.co_filename, user.f_lineno, user.f_code.co_name)
        if user is None:
            # Issued by a coroutine asyncio.gather or create_task runs: the user's line is
            # where that coroutine was created; the frame to debug is the one awaiting it.
            source = _task_origin()
            user = _suspended_user_frame()
        if source is None and user is not None:
            source = _source(user)
        self.produced.append(_Produced(kind, key, variant, source))
        labels = self.targets.__dict__[where].get(key) if self.stopping else None
        if labels and user is not None:
            event_id = self.targets.event_of.get((where, key))
            if (
                kind == "ordered"
                and event_id is not None
                and self.index.by_id[event_id].event_type not in COMMAND_EVENT_FOR_VARIANT[variant]
            ):
                # The code now issues something else here: only the divergence point is
                # about that; the others never come (reported as missed).
                labels = [x for x in labels if x == "divergence"]
            if labels:
                self._stop(labels, event_id, user, "issued", variant=variant)

    # -- stopping -----------------------------------------------------------------------

    def _stop(
        self,
        labels: Sequence[str],
        event_id: int | None,
        frame: FrameType,
        how: str,
        *,
        variant: str = "",
    ) -> None:
        if event_id is not None:
            event_line = self.describe(event_id)
        else:
            event_line = f"(none recorded: the code now issues {variant.replace('_', ' ')})"
        divergence = self.divergence if "divergence" in labels else None
        stop = Stop(
            labels=tuple(labels),
            event_id=event_id,
            event_line=event_line,
            frame=frame,
            details=self.details(event_id) if event_id is not None and divergence is None else "",
            location=f"{display_path(frame.f_code.co_filename)}:{frame.f_lineno} in "
            f"{frame.f_code.co_name}",
            how={"issued": "issued by", "awaited": "awaited at"}.get(how, "consumed at"),
            divergence=divergence,
        )
        self.stops.append(stop)
        self.echo(stop.banner())
        assert self.debugger is not None
        gettrace = sys.gettrace()
        sys.settrace(None)  # the debugger's own code is never traced (pdb may be stepping)
        try:
            # The debugger's own machinery (readline, sockets, ...) is not workflow code.
            with _sandbox_unrestricted():
                keep_going = self.debugger.stop(stop)
        finally:
            if sys.gettrace() is None and gettrace is not None:
                sys.settrace(gettrace)
        if not keep_going:
            self.stopping = False


def _both(first: Any, second: Any) -> Any:
    """Two local trace functions on one frame."""

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        a = first(frame, event, arg) if first is not None else None
        b = second(frame, event, arg) if second is not None else None
        if a is None and b is None:
            return None
        return _both(a, b) if (a is not first or b is not second) else local

    return local


def _handles(handler: tuple[str, str], ev: Any) -> bool:
    kind, name = handler
    if kind == "signal" and ev.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        return name in ("*", ev.workflow_execution_signaled_event_attributes.signal_name)
    if kind == "update" and ev.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        got = ev.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        return name in ("*", got)
    return False


def _install_command_hook() -> bool:
    return hook_add_command("replay-stepper", _step_command)


def _step_command(instance: Any, command: Any, frame: FrameType | None) -> None:
    stepper: _Stepper | None = getattr(_local, "stepper", None)
    if stepper is not None and frame is not None:
        stepper.command_created(command, frame)


class _SteppingInstance(temporalio.worker.WorkflowInstance):
    def __init__(self, inner: temporalio.worker.WorkflowInstance, stepper: _Stepper) -> None:
        self._inner = inner
        self._stepper = stepper

    def activate(
        self, act: wf_activation.WorkflowActivation
    ) -> wf_completion.WorkflowActivationCompletion:
        result: wf_completion.WorkflowActivationCompletion = self._stepper.activate(
            act, lambda: self._inner.activate(act)
        )
        return result

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


class _SteppingRunner(temporalio.worker.WorkflowRunner):
    def __init__(self, inner: temporalio.worker.WorkflowRunner, stepper: _Stepper) -> None:
        self._inner = inner
        self._stepper = stepper
        _install_command_hook()

    def prepare_workflow(self, defn: WorkflowDefinition) -> None:
        self._inner.prepare_workflow(defn)

    def create_instance(
        self, det: temporalio.worker.WorkflowInstanceDetails
    ) -> temporalio.worker.WorkflowInstance:
        self._stepper.learn_handlers(det.defn)
        return _SteppingInstance(self._inner.create_instance(det), self._stepper)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._inner.set_worker_level_failure_exception_types(types)


# --------------------------------------------------------------------------- the trace


#: The attributes of an event that carry what the workflow sent or received.
_VALUE_KEYS = (
    "input",
    "result",
    "failure",
    "lastFailure",
    "details",
    "upsertedMemo",
    "searchAttributes",
    "outcome",
    "acceptedRequest",
)


def _payload_details(attributes: Any) -> str:
    """The decoded values of an event (its input, result, failure, ...) for a stop banner."""
    if not isinstance(attributes, dict):
        return ""
    parts: list[str] = []
    for key in _VALUE_KEYS:
        if key not in attributes:
            continue
        value = attributes[key]
        if isinstance(value, dict) and set(value) == {"payloads"}:
            payloads = value["payloads"]
            value = payloads[0] if isinstance(payloads, list) and len(payloads) == 1 else payloads
        parts.append(f"{key}: {_clipped_json(value)}")
    return "\n".join(parts)


def _clipped_json(value: Any, *, lines: int = 12, width: int = 110) -> str:
    """A decoded value for a stop banner: pretty JSON, a screenful at most."""
    import json

    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    rows = [r if len(r) <= width else r[: width - 1] + "…" for r in text.splitlines()]
    if len(rows) > lines:
        rows = [*rows[:lines], f"… ({len(rows) - lines} more lines)"]
    return "\n".join(rows)


def _line_text(source: Source) -> str:
    return linecache.getline(source[0], source[1]).strip()


def _where(source: Source) -> str:
    return f"{display_path(source[0])}:{source[1]} in {source[2]}"


def format_trace(index: _Index, stepper: _Stepper, summaries: dict[int, str]) -> str:
    """Every event beside the workflow line that issued or consumed it."""
    by_kind: dict[tuple[str, int], _Produced] = {(p.kind, p.index): p for p in stepper.produced}
    consumed: dict[int, Source] = {}
    awaited: dict[int, Source] = {}
    for state in stepper.task_states.values():
        plain = [c for c in state.chains if c.handler is None and c.source is not None]
        taken = {e for c in state.chains if c.source is not None for e in c.events}
        for chain in state.chains:
            if chain.source is not None:
                for e in chain.events:
                    consumed[e] = chain.source
        leftover = [e for e in state.delivered if e not in taken]
        for e in leftover:
            ev = index.by_id[e]
            if ev.event_type in (
                E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            ):
                continue
            if plain and plain[-1].source is not None:
                consumed[e] = plain[-1].source  # woken together (asyncio.gather)
            elif e in state.awaited:
                awaited[e] = state.awaited[e]
    width = max((len(event_type_name(ev.event_type)) for ev in index.events), default=10)
    lines: list[str] = []
    for ev in index.events:
        eid = ev.event_id
        head = f"{eid:>4}  {event_type_name(ev.event_type):<{width}}  {summaries.get(eid, '')}"
        lines.append(head.rstrip())
        produced: _Produced | None = None
        if eid in index.ordered_index:
            produced = by_kind.get(("ordered", index.ordered_index[eid]))
        elif eid in index.local_markers:
            produced = by_kind.get(("local", index.local_markers.index(eid)))
        elif eid in index.patch_markers:
            produced = by_kind.get(("patch", index.patch_markers.index(eid)))
        if produced is not None and produced.source is not None:
            lines.append(f"{'':6}issued by   {_where(produced.source)}")
            lines.append(f"{'':18}| {_line_text(produced.source)}")
        elif eid in consumed:
            lines.append(f"{'':6}consumed at {_where(consumed[eid])}")
            lines.append(f"{'':18}| {_line_text(consumed[eid])}")
        elif eid in awaited:
            lines.append(f"{'':6}awaited at  {_where(awaited[eid])}")
            lines.append(f"{'':18}| {_line_text(awaited[eid])}")
    extra = [p for p in stepper.produced if p.kind == "ordered" and p.index >= len(index.ordered)]
    for p in extra:
        lines.append(
            f"   +  (not in the history) the code now issues {p.variant.replace('_', ' ')}"
        )
        if p.source is not None:
            lines.append(f"{'':6}issued by   {_where(p.source)}")
            lines.append(f"{'':18}| {_line_text(p.source)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class ReplayOutcome:
    """What a ``replaykit replay`` run did.

    Attributes:
        history: The history replayed.
        stops: Every stop made, in order.
        divergences: What strict comparison finds (the first one explains the rest).
        replay_error: The stock replayer's failure, if the replay failed.
        trace: The ``--trace`` text (None unless asked).
        missed: Points the history has but the replay never stopped at (the current code
            no longer reaches them).
    """

    history: HistoryFile
    stops: tuple[Stop, ...]
    divergences: tuple[Divergence, ...]
    replay_error: str | None
    trace: str | None = None
    missed: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 replays clean, 1 diverges."""
        return 1 if self.divergences or self.replay_error else 0

    def summary(self) -> str:
        """One closing line (and the first divergence, if any)."""
        notes = "".join(
            f"replaykit: --break-at {label} is in the history, but the replay never reached "
            "it (the current code no longer issues or awaits it there)\n"
            for label in self.missed
        )
        return notes + self._verdict()

    def _verdict(self) -> str:
        n = len(self.history.events)
        stops = f", {len(self.stops)} stop{'s' if len(self.stops) != 1 else ''}"
        if not self.divergences and not self.replay_error:
            return f"replaykit: replayed {n} events{stops}: clean against the current code"
        head = f"replaykit: replayed {n} events{stops}: DIVERGED from the current code"
        if self.divergences:
            return head + "\n" + self.divergences[0].describe()
        return f"{head}\n  {self.replay_error}"


def _decorate_sandbox(runner: temporalio.worker.WorkflowRunner) -> temporalio.worker.WorkflowRunner:
    """What the SDK's debug mode does to a sandboxed runner it is handed directly (ours is
    wrapped, so the SDK cannot see it): let debugger modules through."""
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    if not isinstance(runner, SandboxedWorkflowRunner):
        return runner
    import dataclasses

    return dataclasses.replace(
        runner,
        restrictions=runner.restrictions.with_passthrough_modules(
            "_pydevd_bundle",
            "_pydevd_frame_eval",
            "pydevd",
            "debugpy",
            "pdb",
            "bdb",
            "cmd",
            "readline",
            "rlcompleter",
            "code",
            "codeop",
        ),
    )


def replay_history(
    history: HistoryFile | str | Path,
    *,
    workflows: Sequence[str | type],
    points: Sequence[BreakPoint | str] = (),
    trace: bool = False,
    debugger: Debugger | None = None,
    sandbox: bool = True,
    data_converter: str | None = None,
    plugins: Sequence[Any] = (),
    workflow_id: str | None = None,
    echo: Callable[[str], None] = print,
) -> ReplayOutcome:
    """Replay one history in this process, stopping at ``points`` in the workflow's code.

    Args:
        history: A history file or a loaded :class:`HistoryFile`.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        points: ``--break-at`` points (parsed or text).
        trace: Build the event-by-event trace (history and code side by side).
        debugger: What each stop is handed to (default: pdb when there are points).
        sandbox: Replay in the SDK sandbox.
        data_converter: ``module:attr`` of the recorded histories' converter or codec.
        plugins: Temporal plugins for the replayer (as for ``check``: ``module:attr``
            strings, objects, classes or factories).
        workflow_id: Workflow id for plain exports without replaykit metadata.
        echo: Where stop banners go.

    Raises:
        HistoryError: The file cannot be read (the same per-file errors as ``check``).
        ConfigError: The workflows or the data converter cannot be loaded.
        PointError: A point is malformed or never occurs in the history.
    """
    from replaykit._internal._runtime import quiet_runtime
    from replaykit._internal._sync import run_sync
    from replaykit.check._engine import CheckOptions, collect_workflows, replay_one
    from replaykit.check._explain import explain_replay_failure
    from replaykit.check._strict import compare_run
    from replaykit.history._codec import decoded_history_file, has_codec, load_data_converter
    from replaykit.integrations._plugins import (
        RunnerWrapPlugin,
        WorkflowValidationError,
        describe_validation_error,
        load_plugins,
        plugin_data_converter,
        replayer_plugins,
    )
    from replaykit.views._timeline import build_timeline

    hf = (
        history
        if isinstance(history, HistoryFile)
        else load_history(Path(history), workflow_id=workflow_id)
    )
    parsed = [p if isinstance(p, BreakPoint) else parse_break_point(p) for p in points]
    classes = collect_workflows(workflows)
    names = {workflow_type_name(c) for c in classes}
    if hf.workflow_type and hf.workflow_type not in names:
        raise ConfigError(
            f"{hf.path or hf.display_name}: workflow type {hf.workflow_type!r} is not among the "
            f"--workflows given (they define {', '.join(sorted(names))})"
        )
    base = load_data_converter(data_converter) if data_converter else None
    loaded = load_plugins(plugins)
    # The converter plugins install (OpenAI Agents, ADK: Pydantic-based) wrote the payloads.
    converter = plugin_data_converter(loaded, base) or base
    decoded = decoded_history_file(hf, data_converter) if has_codec(base) else hf
    index = _Index(decoded)
    path = str(hf.path) if hf.path else hf.display_name
    divergence: Divergence | None = None
    if any(p.kind == "divergence" for p in parsed):
        result = replay_one(
            hf,
            workflows=classes,
            options=CheckOptions(
                sandbox=sandbox, cache=False, data_converter=data_converter, plugins=tuple(plugins)
            ),
        )
        if result.status == "error":
            raise ReplaykitError(f"{path}: {result.error}")
        divergence = result.divergences[0] if result.divergences else None
    targets = _resolve(parsed, index, divergence, path)
    timeline = {t.event_id: t for t in build_timeline(decoded)}
    summaries = {eid: t.summary for eid, t in timeline.items()}

    def describe(event_id: int) -> str:
        t = timeline[event_id]
        return f"{event_id} {t.event_type}  {t.summary}".rstrip()

    def details(event_id: int) -> str:
        return _payload_details(timeline[event_id].attributes)

    if targets and debugger is None:
        debugger = PdbDebugger()
    stepper = _Stepper(
        index,
        targets,
        debugger=debugger,
        echo=echo,
        describe=describe,
        details=details,
        divergence=divergence,
        trace=trace,
    )
    inner: temporalio.worker.WorkflowRunner = (
        _decorate_sandbox(temporalio.worker.workflow_sandbox.SandboxedWorkflowRunner())
        if sandbox
        else temporalio.worker.UnsandboxedWorkflowRunner()
    )
    captures: list[CapturingRunner] = []

    def wrap(runner: temporalio.worker.WorkflowRunner) -> temporalio.worker.WorkflowRunner:
        # After every plugin configured the runner (as `check` does it): a plugin adjusts a
        # SandboxedWorkflowRunner only when it is handed one.
        capture = CapturingRunner(runner, sources=False, default_converter=converter is None)
        captures.append(capture)
        return _SteppingRunner(capture, stepper)

    replayer = temporalio.worker.Replayer(
        workflows=classes,
        workflow_runner=inner,
        runtime=quiet_runtime(),
        debug_mode=True,
        plugins=[*replayer_plugins(loaded), RunnerWrapPlugin(wrap)],
        **({"data_converter": base} if base is not None else {}),
    )
    if not captures:
        raise ConfigError(
            "a plugin removed the replayer's workflow runner; replaykit cannot "
            "step through the replay"
        )
    capture = captures[-1]

    async def run() -> temporalio.worker.WorkflowReplayResult:
        return await replayer.replay_workflow(
            hf.to_workflow_history(), raise_on_replay_failure=False
        )

    try:
        result_ = run_sync(run)
    except RuntimeError as err:
        text = describe_validation_error(err, workflows=classes, plugins=loaded)
        if text is None:
            raise
        raise WorkflowValidationError(text) from err
    run_capture: RunCapture | None = capture.take(result_.history.run_id)
    failure = result_.replay_failure
    divergences: list[Divergence] = []
    if run_capture is not None:
        divergences = compare_run(
            decoded.view, run_capture, task_queue=hf.task_queue, replay_failed=failure is not None
        )
    error = None
    if failure is not None:
        error = f"{type(failure).__name__}: {failure}"
        if not any(d.kind == "nondeterminism" for d in divergences):
            divergences.insert(0, explain_replay_failure(failure, hf, run_capture))
    elif run_capture is not None and run_capture.failure and hf.is_closed:
        divergences.insert(
            0,
            Divergence(
                kind="nondeterminism",
                cause="workflow-task-failed",
                message=f"the workflow raised during replay: {run_capture.failure}",
            ),
        )
    wanted = [
        label
        for table in (
            targets.commands,
            targets.local,
            targets.patch,
            targets.deliveries,
            targets.tasks,
        )
        for labels in table.values()
        for label in labels
    ]
    reached = {label for stop in stepper.stops for label in stop.labels}
    missed = (
        tuple(dict.fromkeys(label for label in wanted if label not in reached))
        if stepper.stopping
        else ()
    )
    return ReplayOutcome(
        history=hf,
        missed=missed,
        stops=tuple(stepper.stops),
        divergences=tuple(d for d in divergences if d.kind != "option-change"),
        replay_error=error,
        trace=format_trace(index, stepper, summaries) if trace else None,
    )
