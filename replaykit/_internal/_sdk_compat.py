"""Every place replaykit relies on a private part of the temporalio SDK, in one module.

The SDK has no public hook for what replaykit must see (each command a workflow creates,
each ``patched`` call, the payload passes around an activation) nor stable error types for
some replay failures, so these reach into private names and match error text. Keeping them
here means one file to read when a temporalio release changes them, and
``tests/unit/test_sdk_compat.py`` has one test per assumption, each naming it and the
installed temporalio version when it breaks.

replaykit's core supports temporalio 1.22 to 1.35 (``make test-oldest-sdk`` runs the unit
tests on the oldest). Every branch on the SDK version is here too, each naming the version
behind it ("temporalio < 1.29: ..."), so callers never ask which SDK they run on.

Nothing here imports temporalio at module import time; each function imports what it needs.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    # The SDK's public ``WorkflowRunner.prepare_workflow(defn)`` takes this private type.
    import temporalio.activity
    from temporalio.workflow import _Definition

#: The type of ``WorkflowRunner.prepare_workflow``'s argument (private in the SDK).
WorkflowDefinition: TypeAlias = "_Definition"

__all__ = [
    "SDK_ACTIVITY_LOGGERS",
    "SDK_WORKFLOW_TASK_LOGGER",
    "WorkflowDefinition",
    "PatchCall",
    "activity_definition",
    "is_workflow_class",
    "workflow_definition",
    "workflow_type_name",
    "wrap_bridge_worker",
    "bridge_connect_reason",
    "error_event_id",
    "hook_add_command",
    "hook_workflow_patch",
    "is_deadlock_text",
    "is_unregistered_workflow_type_text",
    "is_workflow_validation_error",
    "malformed_history_text",
    "core_logs_every_poller_panic",
    "sdk_version",
    "legacy_history_from_json",
    "no_store_context",
    "command_search_attributes",
    "removed_patch_in_text",
    "strip_sdk_error_codes",
    "CoreFailure",
    "core_failure_in_text",
    "is_sdk_task_failure_record",
    "workflow_primary_task",
    "wrap_completion_codec",
]


def _workflow_instance_impl() -> Any:
    """``temporalio.worker._workflow_instance._WorkflowInstanceImpl`` (None if gone)."""
    try:
        from temporalio.worker import _workflow_instance as wi
    except ImportError:
        return None
    return getattr(wi, "_WorkflowInstanceImpl", None)


# ---------------------------------------------------------------------------------------
# _WorkflowInstanceImpl._add_command(self) -> WorkflowCommand: every command a workflow
# creates goes through it, in creation order.

#: Called with (workflow instance, the new command, the frame that asked for it).
AddCommandCallback = Callable[[Any, Any, "FrameType | None"], None]

_ADD_COMMAND_LOCK = threading.Lock()
_ADD_COMMAND_HOOKS: dict[str, AddCommandCallback] = {}


def hook_add_command(key: str, callback: AddCommandCallback) -> bool:
    """Call ``callback`` after each command a workflow instance creates in this process.

    Once per ``key`` (a later call with the same key keeps the first callback); callbacks
    run in the order they were hooked. The SDK method is wrapped once per process. Returns
    False when the SDK no longer has the method (nothing is hooked then).
    """
    impl = _workflow_instance_impl()
    original = getattr(impl, "_add_command", None) if impl is not None else None
    if original is None:
        return False
    with _ADD_COMMAND_LOCK:
        if key in _ADD_COMMAND_HOOKS:
            return True
        first = not _ADD_COMMAND_HOOKS
        _ADD_COMMAND_HOOKS[key] = callback
        if not first:
            return True
        hooks = _ADD_COMMAND_HOOKS

        def _add_command(self: Any) -> Any:
            command = original(self)
            frame = sys._getframe(1)
            for hook in tuple(hooks.values()):
                hook(self, command, frame)
            return command

        impl._add_command = _add_command
    return True


def workflow_primary_task(instance: Any) -> Any:
    """The asyncio task running a workflow instance's ``@workflow.run`` (None if unknown)."""
    return getattr(instance, "_primary_task", None)


# ---------------------------------------------------------------------------------------
# _WorkflowInstanceImpl.workflow_patch(self, id, *, deprecated) -> bool: what
# ``workflow.patched`` and ``workflow.deprecate_patch`` call.


@dataclass(frozen=True)
class PatchCall:
    """One ``patched``/``deprecate_patch`` call a workflow made, and what it returned."""

    workflow_id: str
    patch_id: str
    deprecated: bool
    result: bool
    replaying: bool


_PATCH_HOOK: list[Callable[[PatchCall], None]] = []


def hook_workflow_patch(callback: Callable[[PatchCall], None]) -> bool:
    """Call ``callback`` after each patch call a workflow makes in this process.

    One callback per process: the first one hooked stays. Returns False when the SDK no
    longer has the method.
    """
    impl = _workflow_instance_impl()
    original = getattr(impl, "workflow_patch", None) if impl is not None else None
    if original is None:
        return False
    with _ADD_COMMAND_LOCK:
        if _PATCH_HOOK:
            return True
        _PATCH_HOOK.append(callback)

        def workflow_patch(self: Any, id: str, *, deprecated: bool, **kwargs: Any) -> bool:
            result: bool = original(self, id, deprecated=deprecated, **kwargs)
            callback(
                PatchCall(
                    workflow_id=self._info.workflow_id,
                    patch_id=id,
                    deprecated=deprecated,
                    result=result,
                    replaying=bool(self._is_replaying),
                )
            )
            return result

        impl.workflow_patch = workflow_patch
    return True


# ---------------------------------------------------------------------------------------
# temporalio.bridge.worker.encode_completion / decode_activation(obj, data_converter, ...):
# the payload passes (codec, external storage) around every activation.


def wrap_completion_codec(skip: Callable[[Any], bool]) -> bool:
    """Skip the SDK's payload passes around an activation for converters ``skip`` accepts.

    A skipped pass returns what the SDK's own returns when nothing is stored: an empty
    ``StorageOperationMetrics`` (temporalio >= 1.25, whose passes report external storage),
    else None (temporalio < 1.25: the passes return nothing). Wraps once per process; returns
    whether the SDK still has the two functions.
    """
    import temporalio.bridge.worker as bridge_worker

    encode = getattr(bridge_worker, "encode_completion", None)
    decode = getattr(bridge_worker, "decode_activation", None)
    if encode is None or decode is None or getattr(encode, "_replaykit", False):
        return encode is not None and decode is not None
    nothing_stored = _nothing_stored(encode)

    async def encode_completion(completion: Any, data_converter: Any, *a: Any, **k: Any) -> Any:
        if skip(data_converter):
            return nothing_stored()
        return await encode(completion, data_converter, *a, **k)

    async def decode_activation(activation: Any, data_converter: Any, *a: Any, **k: Any) -> Any:
        if skip(data_converter):
            return nothing_stored()
        return await decode(activation, data_converter, *a, **k)

    for fn in (encode_completion, decode_activation):
        setattr(fn, "_replaykit", True)  # noqa: B010 - a marker on a function object
    setattr(bridge_worker, "encode_completion", encode_completion)  # noqa: B010
    setattr(bridge_worker, "decode_activation", decode_activation)  # noqa: B010
    return True


def _nothing_stored(encode: Callable[..., Any]) -> Callable[[], Any]:
    """What a payload pass returns when nothing is stored, for this SDK's ``encode_completion``."""
    returns = str(getattr(encode, "__annotations__", {}).get("return", ""))
    if "StorageOperationMetrics" not in returns:
        # temporalio < 1.25: the passes return None (no external storage metrics).
        return lambda: None
    from temporalio.converter._extstore import StorageOperationMetrics

    return StorageOperationMetrics


# ---------------------------------------------------------------------------------------
# temporalio.client._helpers._history_from_json: the SDK's reader of legacy history JSON.


def legacy_history_from_json(history: dict[str, Any]) -> Any:
    """A ``History`` proto from history JSON in any spelling the SDK reads (legacy enums)."""
    try:
        from temporalio.client._helpers import _history_from_json
    except ImportError:
        # temporalio < 1.29: ``temporalio.client`` was one module, with the reader in it.
        from temporalio.client import _history_from_json

    return _history_from_json(history)


# ---------------------------------------------------------------------------------------
# temporalio.converter.StorageDriverStoreContext (temporalio >= 1.24): what
# ``WorkflowInstance.get_external_store_context`` returns (temporalio >= 1.25).


def no_store_context() -> Any:
    """The external-storage context that names no target (None before temporalio 1.25).

    temporalio < 1.25 never asks a workflow instance for a store context (1.24's context has
    no ``target``; before 1.24 there is no external storage), so None is never seen.
    """
    try:
        from temporalio.converter import StorageDriverStoreContext
    except ImportError:  # temporalio < 1.24
        return None
    try:
        return StorageDriverStoreContext(target=None)  # type: ignore[call-arg, unused-ignore]
    except TypeError:  # temporalio 1.24: no target
        return None


# ---------------------------------------------------------------------------------------
# The ``search_attributes`` of the core's workflow commands (continue-as-new, start child,
# upsert): a ``temporal.api.common.v1.SearchAttributes`` message with presence from
# temporalio 1.24; a ``map<string, Payload>`` before (empty means not set).


def command_search_attributes(command: Any) -> dict[str, Any] | None:
    """The search attributes a core workflow command sets; None when it sets none."""
    field = command.DESCRIPTOR.fields_by_name["search_attributes"]
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        # temporalio < 1.24: a map, with no presence.
        return dict(command.search_attributes) or None
    if not command.HasField("search_attributes"):
        return None
    return dict(command.search_attributes.indexed_fields)


# ---------------------------------------------------------------------------------------
# The SDK's error texts (the core's Rust messages and the Python sandbox's).

_EVENT_ID = re.compile(r"(?:event(?:_id)?|HistoryEvent\(id)[:= ]+\s*(\d+)", re.IGNORECASE)
_TMPRL = re.compile(r"\[(TMPRL\d+)\]\s*")
_REMOVED_PATCH = re.compile(
    r"Non-deprecated patch marker encountered for change (.+?), but there is no "
    r"corresponding change command"
)
_VALIDATION = "Failed validating workflow"


def error_event_id(text: str) -> int | None:
    """The history event id a core replay error names (``event_id: 7``, ``HistoryEvent(id: 7``)."""
    m = _EVENT_ID.search(text)
    return int(m.group(1)) if m else None


def strip_sdk_error_codes(text: str) -> str:
    """The text without the core's ``[TMPRL1100]`` error codes."""
    return _TMPRL.sub("", text)


#: The core's Debug text of a failed activation's failure (``Failure { failure:
#: Some(Failure { message: "...", stack_trace: "...", cause: Some(Failure {...}),
#: failure_info: Some(ApplicationFailureInfo(... r#type: "RuntimeError" ...)) }) }``).
_CORE_FAILURE = "Workflow activation completion failed: Failure {"
_RUST_STR = r'"((?:[^"\\]|\\.)*)"'
_FAILURE_MESSAGE = re.compile(r"\bmessage: " + _RUST_STR)
_FAILURE_TYPE = re.compile(r"\br#type: " + _RUST_STR)
_FAILURE_STACK = re.compile(r"\bstack_trace: " + _RUST_STR)
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_RUST_ESCAPE = re.compile(r"\\(.)")
_RUST_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _rust_unescape(text: str) -> str:
    return _RUST_ESCAPE.sub(lambda m: _RUST_ESCAPES.get(m.group(1), m.group(1)), text)


@dataclass(frozen=True)
class CoreFailure:
    """What the core's text of a failed workflow activation says, without its Debug dump.

    Attributes:
        chain: ``"Type: message"`` of the raised exception, then of each cause.
        frame: The innermost frame of the raise in the user's own code
            (:func:`replaykit._internal._frames.file_kind`), as (file, line, function); None
            when every frame is the SDK's, the standard library's or an installed package's.
    """

    chain: tuple[str, ...]
    frame: tuple[str, int, str] | None

    def describe(self) -> str:
        """The raised exception, then "caused by" each cause."""
        return " (caused by ".join(self.chain) + ")" * (len(self.chain) - 1)


def core_failure_in_text(text: str) -> CoreFailure | None:
    """The failure a ``Workflow activation completion failed: Failure {...}`` text carries
    (the Python exception the workflow task raised, with its causes); None for any other text.

    The SDK gives replay failures of this kind only as this Debug text of the core's
    protobuf (every temporalio 1.22 to 1.35), stack traces inlined.
    """
    start = text.find(_CORE_FAILURE)
    if start < 0:
        return None
    body = text[start + len(_CORE_FAILURE) :]
    messages = [_rust_unescape(m) for m in _FAILURE_MESSAGE.findall(body)]
    if not messages:
        return None
    # Each failure's failure_info follows its cause's, so the types come innermost first.
    types = [_rust_unescape(t) for t in _FAILURE_TYPE.findall(body)][::-1]
    if len(types) == len(messages):
        chain = tuple(f"{t}: {m}" if m else t for t, m in zip(types, messages, strict=True))
    else:
        chain = tuple(messages)
    from ._frames import USER, file_kind

    frame = None
    for stack in _FAILURE_STACK.findall(body):
        for file, line, func in _FRAME.findall(_rust_unescape(stack)):
            if file_kind(file) == USER:
                frame = (file, int(line), func)
    return CoreFailure(chain=chain, frame=frame)


def is_sdk_task_failure_record(record: Any) -> bool:
    """The SDK's own warning (with a traceback) that a workflow task failed: a log record of
    :data:`SDK_WORKFLOW_TASK_LOGGER` marked ``__temporal_error_identifier=WorkflowTaskFailure``
    (every temporalio 1.22 to 1.35)."""
    return (
        getattr(record, "name", None) == SDK_WORKFLOW_TASK_LOGGER
        and getattr(record, "__dict__", {}).get("__temporal_error_identifier")
        == "WorkflowTaskFailure"
    )


def removed_patch_in_text(text: str) -> tuple[str, str] | None:
    """(patch id, the matched sentence) when the core says a recorded patch is no longer
    called; None otherwise."""
    m = _REMOVED_PATCH.search(text)
    return (m.group(1).strip(), m.group(0)) if m else None


def is_unregistered_workflow_type_text(text: str) -> bool:
    """The replay failed because the workflow type is not registered (``4: ... not registered``)."""
    lowered = text.lower()
    return "not registered" in lowered or "unknown workflow type" in lowered


def is_deadlock_text(text: str) -> bool:
    """The workflow blocked the event loop (the SDK's deadlock detector fired)."""
    lowered = text.lower()
    return "deadlock" in lowered or "didn't yield" in lowered


def is_workflow_validation_error(err: BaseException) -> bool:
    """The sandbox rejected a workflow definition when the worker started."""
    return isinstance(err, RuntimeError) and str(err).startswith(_VALIDATION)


_INVALID_HISTORY = re.compile(r"Invalid history!\s*(.*?)(?:\\n|\n|Stack backtrace|$)", re.DOTALL)
_CORE_EVENT = re.compile(r"event_id: (\d+).*?event_type: (\w+)", re.DOTALL)
_WFT_MACHINE = re.compile(
    r"Fatal error in workflow machines: (WorkflowTaskMachine in state \w+ says the transition "
    r"is invalid during event EventInfo \{ event_id: (\d+), event_type: (\w+) \})"
)


_POLLER_PANIC = "Poller task died or did not terminate cleanly: Err("


def core_logs_every_poller_panic() -> bool:
    """The core logs each panic of a replay's poller, also after earlier replays in the process.

    temporalio < 1.35: once a replay has run in the process, a later replay's poller panic
    (``Invalid history! ...`` or one without a message) is not logged, so
    :func:`malformed_history_text` never sees it and that replay ends at ``--timeout`` (an
    error, never clean); a fresh process (``check --jobs N``, N >= 1) still sees its first.
    The validator rejects every history known to cause such a panic before replay; this is
    the fallback only.
    """
    return sdk_version() >= (1, 35)


def sdk_version() -> tuple[int, int]:
    """The installed temporalio's (major, minor)."""
    import importlib.metadata

    major, minor, *_ = importlib.metadata.version("temporalio").split(".")
    return int(major), int(minor)


def malformed_history_text(text: str) -> str | None:
    """What the core says is wrong with a history itself, in one line; None otherwise.

    Two texts (temporalio 1.35): a panic of the core's poller, ``Invalid history! Event
    Some(HistoryEvent { event_id: 10, ... event_type: TimerStarted, ... }) should be WFT
    completed, failed, or timed out - or WE terminated.`` (logged, and the replay never
    returns), and a failed activation, ``Fatal error in workflow machines: WorkflowTaskMachine
    in state Scheduled says the transition is invalid during event EventInfo { event_id: 9,
    event_type: WorkflowTaskCompleted }`` (a workflow task's events out of order); and a
    panic of the replay's poller with no message (``Poller task died or did not terminate
    cleanly: Err(Any { .. })``). Code changes give nondeterminism errors instead, never these.
    """
    m = _INVALID_HISTORY.search(text)
    if m:
        rest = m.group(1)
        ev = _CORE_EVENT.search(rest)
        tail = re.search(r"\}\)\s*(should .*)$", rest.strip())
        if ev and tail:
            return f"event {ev.group(1)} ({ev.group(2)}): {tail.group(1).rstrip('.')}"
        return " ".join(rest.split())[:300] or "invalid history"
    m = _WFT_MACHINE.search(text)
    if m:
        return f"event {m.group(2)} ({m.group(3)}): {m.group(1)}"
    if _POLLER_PANIC in text:
        # A panic without a message (``Err(Any { .. })``), e.g. on a started event without a
        # task queue: the replay's history feeder is gone and the replay never returns.
        return "its history feeder panicked"
    return None


def bridge_connect_reason(text: str) -> str:
    """The readable part of a bridge connect error (a Rust debug dump)."""
    text = text.split("\n")[0]
    match = re.search(r'message: "([^"]+)"', text)
    if match:
        return match.group(1).lower()
    for marker in ("dns error", "tcp connect error", "timed out", "invalid uri"):
        if marker in text.lower():
            return marker
    return text[:200]


# ---------------------------------------------------------------------------------------
# temporalio.workflow._Definition.from_class(cls) / temporalio.activity._Definition
# .from_callable(fn): the definition a @workflow.defn class or @activity.defn function carries
# (None when it carries none). The public API has no "is this a workflow class" call.


def workflow_definition(cls: type) -> WorkflowDefinition | None:
    """The ``@workflow.defn`` definition of ``cls``, or None when it is not a workflow class."""
    import temporalio.workflow

    return temporalio.workflow._Definition.from_class(cls)


def is_workflow_class(value: object) -> bool:
    """``value`` is a class decorated with ``@workflow.defn``."""
    return isinstance(value, type) and workflow_definition(value) is not None


def workflow_type_name(cls: type) -> str:
    """The workflow type a ``@workflow.defn`` class registers (its ``name=``, else its name)."""
    defn = workflow_definition(cls)
    return (defn.name if defn is not None and defn.name else None) or cls.__name__


def activity_definition(fn: Callable[..., Any]) -> temporalio.activity._Definition | None:
    """The ``@activity.defn`` definition of ``fn`` (its ``.name``), or None."""
    import temporalio.activity

    return temporalio.activity._Definition.from_callable(fn)


# ---------------------------------------------------------------------------------------
# Worker._bridge_worker: the core worker the Python worker polls and completes through. The
# fault worker wraps it to see each task as the core hands it over and to crash between a
# completion and its delivery (no public hook sits there).


def wrap_bridge_worker(worker: Any, wrap: Callable[[Any], Any]) -> None:
    """Replace ``worker``'s core worker with ``wrap(core worker)``, before the worker runs."""
    worker._bridge_worker = wrap(worker._bridge_worker)


#: The loggers the SDK reports each failed activity attempt on (with a traceback); the second
#: is a private module's logger.
SDK_ACTIVITY_LOGGERS = ("temporalio.activity", "temporalio.worker._activity")

#: The logger the SDK warns on, with a traceback, each time a workflow task fails (a
#: private module's logger).
SDK_WORKFLOW_TASK_LOGGER = "temporalio.worker._workflow_instance"
