"""The stepping runtime: the workflow runner and instance that pair commands and deliveries
with recorded events and stop at break points."""

from __future__ import annotations

import dis
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

import temporalio.bridge.proto.workflow_activation as wf_activation
import temporalio.bridge.proto.workflow_commands as wf_commands
import temporalio.bridge.proto.workflow_completion as wf_completion
import temporalio.worker
import temporalio.workflow

from replaykit._internal._frames import USER, file_kind
from replaykit._internal._sdk_compat import hook_add_command
from replaykit.check._divergence import Divergence
from replaykit.check._report import display_path
from replaykit.history._events import COMMAND_EVENT_FOR_VARIANT

from ._debuggers import Debugger, Stop, _sandbox_unrestricted
from ._points import E, Source
from ._targets import _Index, _Targets

if TYPE_CHECKING:
    from replaykit._internal._sdk_compat import WorkflowDefinition

# --------------------------------------------------------------------------- the runtime


# the whole replaykit package (this module is one level down in replaykit/debug/)
_REPLAYKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_RETURN_VALUE = dis.opmap["RETURN_VALUE"]
_YIELD_VALUE = dis.opmap["YIELD_VALUE"]
_local = threading.local()


def _is_user(filename: str) -> bool:
    """The project's own code: not the SDK, the standard library or an installed library
    (an agent framework's loop is not where its user wants to stop: their call into it is)."""
    return file_kind(filename) == USER


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
