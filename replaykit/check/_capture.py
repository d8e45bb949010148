"""Capturing every command the current code issues while it replays a history.

A wrapper around the SDK's workflow runner sees every activation and every completion (and
so every command with its full payloads), whatever the command kind. The source line that
issued a command comes from a light hook on the instance's command factory; if a future SDK
renames that private method, commands are still captured, only without source lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

import temporalio
import temporalio.bridge.proto.workflow_activation as wf_activation
import temporalio.bridge.proto.workflow_commands as wf_commands
import temporalio.bridge.proto.workflow_completion as wf_completion
import temporalio.workflow
from temporalio.worker import (
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)

from replaykit._internal._frames import SDK, THIRD_PARTY, USER, file_kind
from replaykit._internal._output import (
    OutputTail,
    routed_output,
    thread_printing_into,
    thread_sink,
)
from replaykit._internal._sdk_compat import (
    SDK_WORKFLOW_TASK_LOGGER,
    hook_add_command,
    is_sdk_task_failure_record,
    no_store_context,
    workflow_primary_task,
    wrap_completion_codec,
)

from ._report import display_path

if TYPE_CHECKING:
    from replaykit._internal._sdk_compat import WorkflowDefinition

__all__ = ["CapturedCommand", "CapturingRunner", "RunCapture", "capture_replay_output"]


@dataclass
class CapturedCommand:
    """One command the code issued, with where it came from."""

    command: wf_commands.WorkflowCommand
    activation: int
    source: tuple[str, int, str] | None = None  # (file, line, function)
    #: Event id of the workflow task started event this command's activation belongs to
    #: (the activation's ``history_length``); None when the SDK did not say.
    task: int | None = None

    @property
    def variant(self) -> str:
        """The command kind, e.g. ``schedule_activity``."""
        return self.command.WhichOneof("variant") or ""


@dataclass
class RunCapture:
    """Everything captured for one workflow run during replay."""

    run_id: str
    workflow_type: str
    task_queue: str = ""
    commands: list[CapturedCommand] = field(default_factory=list)
    activations: int = 0
    last_real_activation: int = -1
    unhandled_signals: list[str] = field(default_factory=list)
    unhandled_updates: list[str] = field(default_factory=list)
    failure: str | None = None
    #: The sandbox's own ``sys.modules`` for this run (every module its importer saw, lazy
    #: imports inside workflow methods included); None when the run was not sandboxed.
    modules: dict[str, Any] | None = None
    #: Files the process opened while this run was created and activated (only when
    #: dependency tracking is on: see :mod:`replaykit.check._verdicts`).
    opened: set[str] | None = None
    #: What the run's code wrote to ``sys.stdout``/``sys.stderr`` while it was created and
    #: activated (an integration printing the model's text), when
    #: :func:`capture_replay_output` is on; its tail only (see :class:`OutputTail`).
    output: OutputTail = field(default_factory=OutputTail)

    def printed(self) -> str | None:
        """The captured output, or None when the run printed nothing."""
        return self.output.text() or None


_local = threading.local()
#: Frames of coroutine-creation stacks kept while replaying (enough to leave the SDK).
_ORIGIN_DEPTH = 8


def _is_user_file(filename: str) -> bool:
    return file_kind(filename) != SDK


def _user_frame(frame: FrameType | None, instance: Any = None) -> tuple[str, int, str] | None:
    """The first frame in the user's own code that led to this command.

    Commands an AI integration issues (the OpenAI Agents model stub, LangGraph's node
    wrapper) run in installed packages: the line to show is the user's workflow code that
    called ``Runner.run`` or ``graph.ainvoke``, outside site-packages. Tried in order: the
    stack; where the running coroutine was created; what the workflow's main coroutine is
    awaiting; and, when none of those reach the user's code, the first frame outside the
    SDK (an installed package) as before.
    """
    fallback: tuple[str, int, str] | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        kind = file_kind(filename)
        if kind == USER:
            return (display_path(filename), frame.f_lineno, frame.f_code.co_name)
        if kind == THIRD_PARTY and fallback is None:
            fallback = (display_path(filename), frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    # A command issued from a coroutine that runs as its own task (asyncio.gather,
    # workflow.start_activity wrapped in a task): the user's line is where the coroutine
    # was *created*, which origin tracking recorded.
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return fallback
    origin = getattr(task.get_coro(), "cr_origin", None) if task is not None else None
    for filename, lineno, func in origin or ():
        kind = file_kind(filename)
        if kind == USER:
            return (display_path(filename), lineno, func)
        if kind == THIRD_PARTY and fallback is None:
            fallback = (display_path(filename), lineno, func)
    # A task an integration created (LangGraph runs each node in its own task): the user's
    # line is where the workflow's main coroutine waits, e.g. on `await graph.ainvoke(...)`.
    primary = workflow_primary_task(instance)
    if primary is not None and primary is not task:
        found = _awaiting_user_frame(primary)
        if found is not None:
            return found
    return fallback


def _awaiting_user_frame(task: Any) -> tuple[str, int, str] | None:
    """The innermost user frame of the chain of coroutines a task is suspended in."""
    found: tuple[str, int, str] | None = None
    coro = task.get_coro() if hasattr(task, "get_coro") else None
    for _ in range(64):  # a chain of awaits is short; never loop on a cycle
        if coro is None:
            break
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and file_kind(frame.f_code.co_filename) == USER:
            found = (display_path(frame.f_code.co_filename), frame.f_lineno, frame.f_code.co_name)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


def _install_source_hook() -> bool:
    """Record the user frame each time a workflow instance creates a command."""
    return hook_add_command("capture-source", _record_source)


def _record_source(instance: Any, command: Any, frame: FrameType | None) -> None:
    sink = getattr(_local, "sources", None)
    if sink is not None:
        # Commands are appended in creation order and never reordered by the SDK, so
        # the n-th source belongs to the n-th command of the completion.
        sink.append(_user_frame(frame, instance))


_NO_STORE_CONTEXT = no_store_context()


#: A cancel command -> (the command it cancels, the cancel's field naming its seq).
_CANCELS = {
    "cancel_timer": ("start_timer", "seq"),
    "request_cancel_activity": ("schedule_activity", "seq"),
    "request_cancel_local_activity": ("schedule_local_activity", "seq"),
    "cancel_child_workflow_execution": ("start_child_workflow_execution", "child_workflow_seq"),
    "cancel_signal_workflow": ("signal_external_workflow_execution", "seq"),
    "request_cancel_nexus_operation": ("schedule_nexus_operation", "seq"),
}


def _cancelled_before_sent(commands: Any) -> set[int]:
    """Indexes of commands the SDK core drops: one started and cancelled in the same
    activation never reaches the server (its state machine is cancelled before its command
    is sent, and resolves at once), so the history has neither.

    E.g. ``workflow.wait_condition(done, timeout=...)`` with ``done`` already true starts a
    timer and cancels it in one activation.
    """
    started: dict[tuple[str, int], int] = {}
    dropped: set[int] = set()
    for n, command in enumerate(commands):
        variant = command.WhichOneof("variant")
        if variant in _CANCELS:
            target, field_name = _CANCELS[variant]
            seq = getattr(getattr(command, variant), field_name)
            first = started.pop((target, seq), None)
            if first is not None:
                dropped.update((first, n))
        elif variant is not None:
            seq = getattr(getattr(command, variant), "seq", None)
            if isinstance(seq, int):
                started[(variant, seq)] = n
    return dropped


class _CapturingInstance(WorkflowInstance):
    def __init__(
        self, inner: WorkflowInstance, capture: RunCapture, defn: Any, *, context_free: bool
    ) -> None:
        self._inner = inner
        self._context_free = context_free
        self._capture = capture
        self._defn = defn

    def activate(
        self, act: wf_activation.WorkflowActivation
    ) -> wf_completion.WorkflowActivationCompletion:
        cap = self._capture
        index = cap.activations
        cap.activations += 1
        evicting = False
        for job in act.jobs:
            variant = job.WhichOneof("variant")
            if variant == "remove_from_cache":
                evicting = True
            elif variant == "signal_workflow":
                name = job.signal_workflow.signal_name
                if name not in self._defn.signals and None not in self._defn.signals:
                    cap.unhandled_signals.append(name)
            elif variant == "do_update":
                name = job.do_update.name
                if name not in self._defn.updates and None not in self._defn.updates:
                    cap.unhandled_updates.append(name)
        sources: list[tuple[str, int, str] | None] = []
        _local.sources = sources
        depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(_ORIGIN_DEPTH)
        try:
            with thread_printing_into(cap.output):
                completion = self._inner.activate(act)
        finally:
            sys.set_coroutine_origin_tracking_depth(depth)
            _local.sources = None
        if evicting:
            return completion
        if completion.HasField("failed"):
            cap.failure = completion.failed.failure.message or "workflow task failed"
        cap.last_real_activation = index
        aligned = len(sources) == len(completion.successful.commands)
        unsent = _cancelled_before_sent(completion.successful.commands)
        for n, command in enumerate(completion.successful.commands):
            if command.WhichOneof("variant") in ("respond_to_query", None) or n in unsent:
                continue
            copy = wf_commands.WorkflowCommand()
            copy.CopyFrom(command)
            cap.commands.append(
                CapturedCommand(
                    copy, index, sources[n] if aligned else None, act.history_length or None
                )
            )
        return completion

    def get_serialization_context(self, command_info: Any) -> Any:
        if self._context_free:
            # The sandboxed instance answers this by running code inside the sandbox, once
            # per payload sequence (~15% of a replay). A serialization context only matters
            # to context-aware converters and codecs; replaykit replays with the default
            # data converter, which has neither, so "no context" is exactly equivalent.
            return None
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        if self._context_free:
            # Same round trip into the sandbox, once per payload sequence (~8% of a replay).
            # The default data converter has no external storage, which ignores the
            # context; the sandboxed runner's own fallback is this very value.
            return _NO_STORE_CONTEXT
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


def _not_the_sdks_task_failure(record: logging.LogRecord) -> bool:
    # The SDK warns, with the whole traceback, each time a workflow task fails; during a
    # replay that failure is the verdict (explained once, without the dump), not something
    # the workflow code printed.
    return not (thread_sink() is not None and is_sdk_task_failure_record(record))


def capture_replay_output() -> contextlib.AbstractContextManager[None]:
    """While open, what workflow code prints during a replay goes to its run's capture
    (:attr:`RunCapture.output`) instead of the terminal: writes of a thread inside a run's
    creation or activation are that run's; all others pass through
    (:func:`replaykit._internal._output.routed_output`). The SDK's own warning that the
    replay's workflow task failed is left out (the verdict explains that failure)."""
    # Logger.addFilter adds a filter once; it drops records only inside a replay's capture.
    logging.getLogger(SDK_WORKFLOW_TASK_LOGGER).addFilter(_not_the_sdks_task_failure)
    return routed_output()


class CapturingRunner(WorkflowRunner):
    """A workflow runner that delegates to another and records what each run commanded."""

    def __init__(
        self,
        inner: WorkflowRunner,
        *,
        sources: bool = True,
        default_converter: bool = True,
        track_files: bool = False,
    ) -> None:
        """Wrap ``inner``.

        Args:
            inner: The runner that really runs workflows (sandboxed or not).
            sources: Record the source line of each command.
            default_converter: The replayer uses the SDK's default data converter (no codec,
                no context-aware converter), so serialization contexts can be skipped.
            track_files: Record the files opened while each run is created and activated
                (what the verdict cache needs to know the run depends on no data file).
        """
        self._inner = inner
        self._default_converter = default_converter
        self._track_files = track_files
        self.runs: dict[str, RunCapture] = {}
        if sources:
            _install_source_hook()

    def prepare_workflow(self, defn: WorkflowDefinition) -> None:
        self._inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        capture = RunCapture(
            run_id=det.info.run_id,
            workflow_type=det.info.workflow_type,
            task_queue=det.info.task_queue,
        )
        self.runs[det.info.run_id] = capture
        if self._track_files:
            from ._verdicts import start_recording_opens

            # The sandbox imports the workflow module while it creates the instance:
            # a data file read at import is opened here.
            capture.opened = start_recording_opens()
        with thread_printing_into(capture.output):  # the sandbox imports the workflow module here
            inner = self._inner.create_instance(det)
        importer = getattr(inner, "importer", None)  # the sandbox's per-run importer
        new_modules = getattr(importer, "new_modules", None)
        if isinstance(new_modules, dict):
            capture.modules = new_modules
        return _CapturingInstance(
            inner,
            capture,
            det.defn,
            context_free=self._default_converter,
        )

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._inner.set_worker_level_failure_exception_types(types)

    def take(self, run_id: str) -> RunCapture | None:
        """Remove and return the capture of a run (or, if the SDK named the run otherwise,
        the only capture pending: replays run one history at a time)."""
        capture = self.runs.pop(run_id, None)
        if capture is None and len(self.runs) == 1:
            capture = self.runs.popitem()[1]
        for other in self.runs.values():
            _stop_recording(other)
        self.runs.clear()
        if capture is not None:
            _stop_recording(capture)
        return capture


def _stop_recording(capture: RunCapture) -> None:
    if capture.opened is not None:
        from ._verdicts import stop_recording_opens

        stop_recording_opens(capture.opened)


def skip_identity_payload_passes() -> bool:
    """Skip the SDK's payload codec passes where they cannot change anything.

    Around every activation the SDK walks all payloads three times each way (codec,
    external storage, storage references). With a data converter that has neither a codec
    nor external storage every pass returns its input: ~8 % of a replay for nothing. Wraps
    the SDK's two walk functions so those converters skip them and every other converter
    still gets them. Only check worker processes call this (replaykit owns them); returns
    whether the SDK still has the functions it wraps.
    """

    def plain(converter: Any) -> bool:
        return (
            getattr(converter, "payload_codec", True) is None
            and getattr(converter, "external_storage", True) is None
        )

    return wrap_completion_codec(plain)
