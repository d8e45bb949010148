"""The references between a history's events, and the workflow-task order the SDK core needs.

Events refer back to each other by id: an activity's started and closing events name its
scheduled event, a timer's fired or canceled event names its started event, a child's events
name its initiated event, a workflow task's started and closing events name its scheduled
event, command events name the workflow task that produced them. A reference that names no
event, a later event or an event of the wrong kind cannot come from a Temporal server; the
SDK core then reports a nondeterminism error that blames the code, fails with "Fatal error in
workflow machines", or panics and never returns (DESIGN.md). :func:`check_references` rejects
such a history first, naming the event, the field and the reference.

What the core accepts, measured with the stock ``Replayer`` (temporalio 1.35):

- after ``WorkflowTaskStarted`` comes that task's ``WorkflowTaskCompleted``, ``Failed`` or
  ``TimedOut``, or the execution's ``Terminated`` / ``TimedOut`` (anything else panics the
  core: "Invalid history! ... should be WFT completed, failed, or timed out");
- a history may end after any event, so a partial history's last task may be scheduled or
  started and not yet completed;
- one workflow task at a time: a second ``WorkflowTaskScheduled`` before the first is closed,
  a started or closing event naming another task, fail the replay.

Histories from the time-skipping test server differ from the dev server's in three ways the
core ignores, and are accepted: ``WorkflowTaskCompleted`` carries no ``startedEventId``;
command events name the task's *started* event as their ``workflowTaskCompletedEventId``;
an activity's closing event may name as ``startedEventId`` the event just before its
``ActivityTaskStarted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import HistoryError

__all__ = ["check_references"]

E = EventType


@dataclass(frozen=True)
class _Ref:
    """One reference field of an event's attributes."""

    field: str  # the proto field name
    targets: tuple[int, ...]  # event types it may name
    required: bool  # whether 0 (absent) is wrong
    group: str | None = None  # which step it resolves (see _CLOSES)


_WFT_SCHEDULED = (E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,)
_WFT_STARTED = (E.EVENT_TYPE_WORKFLOW_TASK_STARTED,)
# The time-skipping test server names the started event here (see the module docstring).
_WFT_COMMAND = (E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
_ACT_SCHEDULED = (E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,)
_ACT_STARTED = (E.EVENT_TYPE_ACTIVITY_TASK_STARTED,)
_TIMER = (E.EVENT_TYPE_TIMER_STARTED,)
_CHILD_INITIATED = (E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,)
_CHILD_STARTED = (E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,)
_SIGNAL_INITIATED = (E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,)
_CANCEL_INITIATED = (E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,)
_NEXUS_SCHEDULED = (E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,)
_NEXUS_CANCEL = (E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,)

_COMMAND = _Ref("workflow_task_completed_event_id", _WFT_COMMAND, required=False)


def _step_close(
    scheduled: tuple[int, ...], started: tuple[int, ...], group: str, *, started_required: bool
) -> tuple[_Ref, ...]:
    return (
        _Ref("scheduled_event_id", scheduled, required=True, group=group),
        _Ref("started_event_id", started, required=started_required),
    )


def _child_close() -> tuple[_Ref, ...]:
    return (
        _Ref("initiated_event_id", _CHILD_INITIATED, required=True, group="child-closed"),
        _Ref("started_event_id", _CHILD_STARTED, required=False),
    )


#: The reference fields of each event type (by its attributes' oneof name). References to
#: another execution's history (``parentInitiatedEventId``, ``externalInitiatedEventId``) and
#: update sequencing ids are not references into this history and are not listed.
_REFERENCES: dict[int, tuple[_Ref, ...]] = {
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED: (
        _Ref("scheduled_event_id", _WFT_SCHEDULED, required=True, group="wft-started"),
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: _step_close(
        _WFT_SCHEDULED, _WFT_STARTED, "wft-closed", started_required=False
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED: _step_close(
        _WFT_SCHEDULED, _WFT_STARTED, "wft-closed", started_required=False
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: _step_close(
        _WFT_SCHEDULED, _WFT_STARTED, "wft-closed", started_required=False
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: (_COMMAND,),
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED: (
        _Ref("scheduled_event_id", _ACT_SCHEDULED, required=True, group="activity-started"),
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _step_close(
        _ACT_SCHEDULED, _ACT_STARTED, "activity-closed", started_required=True
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: _step_close(
        _ACT_SCHEDULED, _ACT_STARTED, "activity-closed", started_required=True
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: _step_close(
        _ACT_SCHEDULED, _ACT_STARTED, "activity-closed", started_required=False
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: (
        _Ref("scheduled_event_id", _ACT_SCHEDULED, required=True),
        _COMMAND,
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: (
        *_step_close(_ACT_SCHEDULED, _ACT_STARTED, "activity-closed", started_required=False),
        _Ref(
            "latest_cancel_requested_event_id",
            (E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,),
            required=False,
        ),
    ),
    E.EVENT_TYPE_ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY: (
        _Ref("scheduled_event_id", _ACT_SCHEDULED, required=True),
    ),
    E.EVENT_TYPE_TIMER_STARTED: (_COMMAND,),
    E.EVENT_TYPE_TIMER_FIRED: (
        _Ref("started_event_id", _TIMER, required=True, group="timer-closed"),
    ),
    E.EVENT_TYPE_TIMER_CANCELED: (
        _Ref("started_event_id", _TIMER, required=True, group="timer-closed"),
        _COMMAND,
    ),
    E.EVENT_TYPE_MARKER_RECORDED: (_COMMAND,),
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: (_COMMAND,),
    E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: (_COMMAND,),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: (_COMMAND,),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: (_COMMAND,),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: (_COMMAND,),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (_COMMAND,),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: (_COMMAND,),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: (
        _Ref("initiated_event_id", _CHILD_INITIATED, required=True, group="child-closed"),
        _COMMAND,
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: (
        _Ref("initiated_event_id", _CHILD_INITIATED, required=True, group="child-started"),
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: _child_close(),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: _child_close(),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: _child_close(),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: _child_close(),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: _child_close(),
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (_COMMAND,),
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (
        _Ref("initiated_event_id", _SIGNAL_INITIATED, required=True, group="signal-closed"),
        _COMMAND,
    ),
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: (
        _Ref("initiated_event_id", _SIGNAL_INITIATED, required=True, group="signal-closed"),
    ),
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (_COMMAND,),
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (
        _Ref("initiated_event_id", _CANCEL_INITIATED, required=True, group="cancel-closed"),
        _COMMAND,
    ),
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: (
        _Ref("initiated_event_id", _CANCEL_INITIATED, required=True, group="cancel-closed"),
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: (
        _Ref(
            "accepted_event_id",
            (E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,),
            required=True,
            group="update-completed",
        ),
    ),
    E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED: (_COMMAND,),
    E.EVENT_TYPE_NEXUS_OPERATION_STARTED: (
        _Ref("scheduled_event_id", _NEXUS_SCHEDULED, required=True, group="nexus-started"),
    ),
    **{
        kind: (_Ref("scheduled_event_id", _NEXUS_SCHEDULED, required=True, group="nexus-closed"),)
        for kind in (
            E.EVENT_TYPE_NEXUS_OPERATION_COMPLETED,
            E.EVENT_TYPE_NEXUS_OPERATION_FAILED,
            E.EVENT_TYPE_NEXUS_OPERATION_CANCELED,
            E.EVENT_TYPE_NEXUS_OPERATION_TIMED_OUT,
        )
    },
    E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED: (
        _Ref("scheduled_event_id", _NEXUS_SCHEDULED, required=True),
        _COMMAND,
    ),
    **{
        kind: (
            _Ref("scheduled_event_id", _NEXUS_SCHEDULED, required=False),
            _Ref("requested_event_id", _NEXUS_CANCEL, required=False),
            _COMMAND,
        )
        for kind in (
            E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED,
            E.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_FAILED,
        )
    },
}

#: The attributes field of each event type (checked to agree with the type before this runs).
_ATTRIBUTES = {
    value: name.removeprefix("EVENT_TYPE_").lower() + "_event_attributes"
    for name, value in EventType.items()
    if name != "EVENT_TYPE_UNSPECIFIED"
}

_GROUP_TEXT = {
    "wft-started": "workflow task already started",
    "wft-closed": "workflow task already closed",
    "activity-started": "activity already started",
    "activity-closed": "activity already closed",
    "timer-closed": "timer already fired or canceled",
    "child-started": "child workflow already started",
    "child-closed": "child workflow already closed",
    "signal-closed": "external signal already resolved",
    "cancel-closed": "external cancel request already resolved",
    "update-completed": "update already completed",
    "nexus-started": "Nexus operation already started",
    "nexus-closed": "Nexus operation already closed",
}

#: Fields a server always writes on the events a command produces; without them the code
#: would be blamed (a changed activity type, a new timer) for what is a damaged history.
_REQUIRED: dict[int, tuple[str, ...]] = {
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: ("activity_id", "activity_type.name", "task_queue.name"),
    E.EVENT_TYPE_TIMER_STARTED: ("timer_id",),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: ("workflow_id", "workflow_type.name"),
    E.EVENT_TYPE_MARKER_RECORDED: ("marker_name",),
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        "signal_name",
        "workflow_execution.workflow_id",
    ),
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        "workflow_execution.workflow_id",
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: ("workflow_execution.workflow_id",),
}

#: What may follow ``WorkflowTaskStarted`` (the core panics on anything else).
_AFTER_WFT_STARTED = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    }
)
_WFT_CLOSE = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    }
)
_ACTIVITY_CLOSE = frozenset(
    {
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
)


def type_name(event_type: int) -> str:
    """``EVENT_TYPE_TIMER_FIRED`` -> ``TimerFired`` (how the UI and the CLI name events)."""
    try:
        name = EventType.Name(event_type)  # type: ignore[arg-type]
    except ValueError:
        return f"event type {event_type}"
    return "".join(p.capitalize() for p in name.removeprefix("EVENT_TYPE_").split("_"))


def _json_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _a(name: str) -> str:
    return ("an " if name[:1] in "AEIOU" else "a ") + name


def _kinds(targets: tuple[int, ...]) -> str:
    """``an ActivityTaskScheduled``, ``a WorkflowTaskCompleted or WorkflowTaskStarted``."""
    names = [type_name(t) for t in targets]
    return _a(names[0]) + "".join(
        (" or " if i == len(names) - 1 else ", ") + n for i, n in enumerate(names[1:], 1)
    )


def check_references(
    events: Sequence[temporalio.api.history.v1.HistoryEvent], path: Path | None
) -> None:
    """Raise :class:`HistoryError` at the first broken reference or workflow-task order.

    Expects event ids already checked to run 1, 2, 3, … (so event ``n`` is ``events[n-1]``)
    and each event's attributes to match its type.
    """
    used: dict[tuple[str, int], int] = {}  # (group, referenced id) -> the event that used it
    open_task: int | None = None  # the scheduled event of the workflow task not yet closed
    open_started: int | None = None  # its started event, once started
    previous: temporalio.api.history.v1.HistoryEvent | None = None
    for ev in events:
        kind = ev.event_type
        here = f"event {ev.event_id} ({type_name(kind)})"
        if (
            previous is not None
            and previous.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED
            and kind not in _AFTER_WFT_STARTED
        ):
            raise HistoryError(
                path,
                f"malformed history: {here} follows WorkflowTaskStarted event "
                f"{previous.event_id}, where only that task's WorkflowTaskCompleted, "
                "WorkflowTaskFailed or WorkflowTaskTimedOut (or the execution's Terminated or "
                "TimedOut) may come; the SDK core panics on this order",
            )
        required = _REQUIRED.get(kind)
        if required:
            _check_required(ev, here, required, path)
        refs = _REFERENCES.get(kind)
        if refs:
            attrs = getattr(ev, _ATTRIBUTES[kind])
            for ref in refs:
                target = int(getattr(attrs, ref.field))
                _check_one(events, ev, here, ref, target, attrs, used, path)
        if kind == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            if open_task is not None:
                raise HistoryError(
                    path,
                    f"malformed history: {here} schedules a workflow task while the one "
                    f"scheduled at event {open_task} is still open (no WorkflowTaskCompleted, "
                    "WorkflowTaskFailed or WorkflowTaskTimedOut names it)",
                )
            open_task, open_started = ev.event_id, None
        elif kind == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            scheduled = ev.workflow_task_started_event_attributes.scheduled_event_id
            if scheduled != open_task:
                raise HistoryError(
                    path,
                    f"malformed history: {here} has scheduledEventId {scheduled}, but the open "
                    f"workflow task is {_open_text(open_task)}",
                )
            open_started = ev.event_id
        elif kind in _WFT_CLOSE:
            attrs = getattr(ev, _ATTRIBUTES[kind])
            scheduled = int(attrs.scheduled_event_id)
            if scheduled != open_task:
                raise HistoryError(
                    path,
                    f"malformed history: {here} has scheduledEventId {scheduled}, but the open "
                    f"workflow task is {_open_text(open_task)}",
                )
            if kind != E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT and open_started is None:
                raise HistoryError(
                    path,
                    f"malformed history: {here} closes the workflow task scheduled at event "
                    f"{scheduled}, which has no WorkflowTaskStarted event",
                )
            started = int(attrs.started_event_id)
            if started and started != open_started:
                raise HistoryError(
                    path,
                    f"malformed history: {here} has startedEventId {started}, but the workflow "
                    f"task scheduled at event {scheduled} started at event {open_started}",
                )
            open_task = open_started = None
        previous = ev


def _check_required(
    ev: temporalio.api.history.v1.HistoryEvent,
    here: str,
    required: tuple[str, ...],
    path: Path | None,
) -> None:
    attrs = getattr(ev, _ATTRIBUTES[ev.event_type])
    for dotted in required:
        value: object = attrs
        for part in dotted.split("."):
            value = getattr(value, part)
        if not value:
            name = ".".join(_json_name(p) for p in dotted.split("."))
            raise HistoryError(
                path,
                f"malformed history: {here} has no {name} (a server always writes it; the "
                "history was edited or damaged)",
            )


def _open_text(open_task: int | None) -> str:
    return "none" if open_task is None else f"the one scheduled at event {open_task}"


def _check_one(
    events: Sequence[temporalio.api.history.v1.HistoryEvent],
    ev: temporalio.api.history.v1.HistoryEvent,
    here: str,
    ref: _Ref,
    target: int,
    attrs: object,
    used: dict[tuple[str, int], int],
    path: Path | None,
) -> None:
    name = _json_name(ref.field)
    if target == 0:
        if ref.required:
            raise HistoryError(
                path,
                f"malformed history: {here} has no {name} (it must name {_kinds(ref.targets)})",
            )
        return
    if target < 0 or target >= ev.event_id:
        where = (
            "itself"
            if target == ev.event_id
            else (
                "a later event"
                if target <= len(events)
                else "no event (past the end of the history)"
            )
        )
        raise HistoryError(
            path,
            f"malformed history: {here} has {name} {target}, which names {where}; it must name "
            f"an earlier event, {_kinds(ref.targets)}",
        )
    referenced = events[target - 1]
    if referenced.event_type not in ref.targets:
        if _test_server_started_id(events, ev, ref, target, attrs):
            return
        raise HistoryError(
            path,
            f"malformed history: {here} has {name} {target}, which names "
            f"{_a(type_name(referenced.event_type))}; it must name {_kinds(ref.targets)}",
        )
    if ref.field == "started_event_id" and not _same_step(ev, referenced, attrs):
        raise HistoryError(
            path,
            f"malformed history: {here} has {name} {target}, the "
            f"{type_name(referenced.event_type)} of another step",
        )
    if ref.group is not None:
        key = (ref.group, target)
        earlier = used.get(key)
        if earlier is not None:
            raise HistoryError(
                path,
                f"malformed history: {here} has {name} {target}, but event {earlier} already "
                f"names it ({_GROUP_TEXT[ref.group]})",
            )
        used[key] = ev.event_id


def _same_step(
    ev: temporalio.api.history.v1.HistoryEvent,
    started: temporalio.api.history.v1.HistoryEvent,
    attrs: object,
) -> bool:
    """Whether a closing event's started event belongs to the same scheduled/initiated one."""
    if started.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        own = started.child_workflow_execution_started_event_attributes.initiated_event_id
        return bool(own == getattr(attrs, "initiated_event_id", own))
    owner = getattr(attrs, "scheduled_event_id", None)
    if owner is None:
        return True
    if started.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        return bool(started.activity_task_started_event_attributes.scheduled_event_id == owner)
    if started.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        return bool(started.workflow_task_started_event_attributes.scheduled_event_id == owner)
    return True


def _test_server_started_id(
    events: Sequence[temporalio.api.history.v1.HistoryEvent],
    ev: temporalio.api.history.v1.HistoryEvent,
    ref: _Ref,
    target: int,
    attrs: object,
) -> bool:
    """The time-skipping test server's off-by-one ``startedEventId`` on an activity's close.

    It names the event just before the ``ActivityTaskStarted`` it writes lazily (with the
    close); accepted when that next event is this very activity's started event.
    """
    if ev.event_type not in _ACTIVITY_CLOSE or ref.field != "started_event_id":
        return False
    if target >= len(events):
        return False
    nxt = events[target]
    return bool(
        nxt.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and nxt.event_id < ev.event_id
        and nxt.activity_task_started_event_attributes.scheduled_event_id
        == getattr(attrs, "scheduled_event_id", -1)
    )
