"""One typed view of a recorded history: what strict, show, diff, saga, faults and patches read.

A history is a flat list of events that refer back to each other by id: an activity's
started, completed, failed, timed-out and canceled events name its scheduled event, a timer's
fired event names its started event, a child's events name its initiated event, an update's
completion names its acceptance. :class:`HistoryView` resolves those references once and
gives each reader the same answers:

- :attr:`HistoryView.activities`, :attr:`~HistoryView.timers`, :attr:`~HistoryView.children`,
  :attr:`~HistoryView.externals` and :attr:`~HistoryView.updates`: each step with the events
  that started and closed it, its attempt and its outcome;
- :attr:`~HistoryView.signals`, :attr:`~HistoryView.local_markers` and
  :meth:`~HistoryView.patch_markers` (patch ids decoded);
- :attr:`~HistoryView.tasks`: the workflow tasks a replay runs (their started event ids are
  the activations' ``history_length``), with :meth:`~HistoryView.task_after`,
  :meth:`~HistoryView.task_of` and :meth:`~HistoryView.task_of_command`;
- :attr:`~HistoryView.command_events`: the events lang commands produce, in command order;
- :attr:`~HistoryView.completion`: how the execution closed.

Everything is computed on first use and kept. A :class:`~replaykit.history._files.HistoryFile`
keeps its view (``hf.view``); :func:`view_of` accepts a file, a ``WorkflowHistory``, a
``History`` proto or a bare event list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import temporalio.api.common.v1
import temporalio.api.failure.v1
import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from ._payloads import decode_payload

__all__ = [
    "COMMAND_EVENT_FOR_VARIANT",
    "CONSUMED_EVENTS",
    "LOCAL_ACTIVITY_MARKER",
    "PATCH_MARKER_NAME",
    "ActivityStep",
    "ChildStep",
    "Completion",
    "ExternalStep",
    "HistoryView",
    "PatchMarker",
    "TimerStep",
    "UpdateStep",
    "view_of",
]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent
Failure = temporalio.api.failure.v1.Failure

#: Marker names the SDK core writes.
LOCAL_ACTIVITY_MARKER = "core_local_activity"
PATCH_MARKER_NAME = "core_patch"
#: The search attribute ``workflow.patched`` upserts with the ids patched so far.
CHANGE_VERSION_SEARCH_ATTRIBUTE = "TemporalChangeVersion"
_PATCH_DETAILS_KEY = "patch-data"

#: Recorded events that a lang command produces, and which command variant produces each.
COMMAND_EVENT_FOR_VARIANT: dict[str, tuple[int, ...]] = {
    "schedule_activity": (E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,),
    "start_timer": (E.EVENT_TYPE_TIMER_STARTED,),
    "cancel_timer": (E.EVENT_TYPE_TIMER_CANCELED,),
    "request_cancel_activity": (E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,),
    "start_child_workflow_execution": (E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,),
    "cancel_child_workflow_execution": (
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "request_cancel_external_workflow_execution": (
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "signal_external_workflow_execution": (
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "upsert_workflow_search_attributes": (E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,),
    "modify_workflow_properties": (E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,),
    "complete_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,),
    "fail_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,),
    "cancel_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,),
    "continue_as_new_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,),
}
#: Every event type some command produces.
COMMAND_EVENTS = frozenset(t for ts in COMMAND_EVENT_FOR_VARIANT.values() for t in ts)

#: Events some workflow code consumes when the activation that delivers them runs.
CONSUMED_EVENTS = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        E.EVENT_TYPE_TIMER_FIRED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    }
)

#: How an execution closes, by its last event.
CLOSE_KINDS: dict[int, str] = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new",
}

ActivityOutcome = Literal["completed", "failed", "timed_out", "canceled", "pending"]
_ACTIVITY_CLOSE: dict[int, ActivityOutcome] = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "completed",
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "failed",
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "timed_out",
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "canceled",
}
_CHILD_CLOSE: dict[int, str] = {
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "completed",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "failed",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "canceled",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "timedout",
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: "start failed",
}
_EXTERNAL_INITIATED = frozenset(
    {
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    }
)
_EXTERNAL_CLOSE: dict[int, str] = {
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: "delivered",
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: "delivered",
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: "failed",
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: "failed",
}


def attributes(ev: HistoryEvent) -> Any:
    """The event's attributes message (whatever its type), or None."""
    name = ev.WhichOneof("attributes")
    return getattr(ev, name) if name else None


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, eq=False)
class ActivityStep:
    """One scheduled activity with every server-side attempt.

    Attributes:
        scheduled: The ActivityTaskScheduled event.
        started: The last ActivityTaskStarted event naming it (the server writes the started
            event of the attempt that closed it), or None.
        closed: The completed / failed / timed-out / canceled event, or None while pending.
        cancel_requested: The ActivityTaskCancelRequested event, or None.
    """

    scheduled: HistoryEvent
    started: HistoryEvent | None = None
    closed: HistoryEvent | None = None
    cancel_requested: HistoryEvent | None = None

    @property
    def event_id(self) -> int:
        return self.scheduled.event_id

    @property
    def attrs(self) -> temporalio.api.history.v1.ActivityTaskScheduledEventAttributes:
        return self.scheduled.activity_task_scheduled_event_attributes

    @property
    def name(self) -> str:
        return self.attrs.activity_type.name

    @property
    def activity_id(self) -> str:
        return self.attrs.activity_id

    @property
    def input(self) -> Sequence[temporalio.api.common.v1.Payload]:
        return self.attrs.input.payloads

    @property
    def outcome(self) -> ActivityOutcome:
        return _ACTIVITY_CLOSE[self.closed.event_type] if self.closed is not None else "pending"

    @property
    def started_event_id(self) -> int | None:
        """The started event of the closing attempt (named by the closing event, if any)."""
        if self.closed is not None:
            named = int(getattr(attributes(self.closed), "started_event_id", 0))
            if named:
                return named
        return self.started.event_id if self.started is not None else None

    @property
    def attempt(self) -> int | None:
        """The attempt the started event records (None: never started)."""
        if self.started is None:
            return None
        return int(self.started.activity_task_started_event_attributes.attempt)

    @property
    def result(self) -> Sequence[temporalio.api.common.v1.Payload]:
        if self.closed is None or self.closed.event_type != E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            return ()
        return self.closed.activity_task_completed_event_attributes.result.payloads

    @property
    def failure(self) -> Failure | None:
        """The failure of a failed or timed-out step."""
        if self.closed is None or self.closed.event_type not in (
            E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            return None
        return attributes(self.closed).failure  # type: ignore[no-any-return]

    @property
    def last_failure(self) -> Failure | None:
        """The failure of the attempt before the recorded start, if the server kept one."""
        if self.started is None:
            return None
        st = self.started.activity_task_started_event_attributes
        return st.last_failure if st.HasField("last_failure") else None


@dataclass(frozen=True, eq=False)
class TimerStep:
    """A started timer and how it ended (fired, canceled, or pending)."""

    started: HistoryEvent
    closed: HistoryEvent | None = None

    @property
    def event_id(self) -> int:
        return self.started.event_id

    @property
    def timer_id(self) -> str:
        return self.started.timer_started_event_attributes.timer_id

    @property
    def outcome(self) -> Literal["fired", "canceled", "pending"]:
        if self.closed is None:
            return "pending"
        return "fired" if self.closed.event_type == E.EVENT_TYPE_TIMER_FIRED else "canceled"


@dataclass(frozen=True, eq=False)
class ChildStep:
    """An initiated child workflow, its started event and how it ended."""

    initiated: HistoryEvent
    started: HistoryEvent | None = None
    closed: HistoryEvent | None = None

    @property
    def event_id(self) -> int:
        return self.initiated.event_id

    @property
    def attrs(
        self,
    ) -> temporalio.api.history.v1.StartChildWorkflowExecutionInitiatedEventAttributes:
        return self.initiated.start_child_workflow_execution_initiated_event_attributes

    @property
    def workflow_type(self) -> str:
        return self.attrs.workflow_type.name

    @property
    def workflow_id(self) -> str:
        return self.attrs.workflow_id

    @property
    def outcome(self) -> str:
        """completed, failed, canceled, timedout, terminated, start failed, or pending."""
        return _CHILD_CLOSE[self.closed.event_type] if self.closed is not None else "pending"


@dataclass(frozen=True, eq=False)
class ExternalStep:
    """A signal or cancellation sent to another workflow, and whether it was delivered."""

    initiated: HistoryEvent
    closed: HistoryEvent | None = None

    @property
    def event_id(self) -> int:
        return self.initiated.event_id

    @property
    def outcome(self) -> str:
        """delivered, failed, or pending."""
        return _EXTERNAL_CLOSE[self.closed.event_type] if self.closed is not None else "pending"


@dataclass(frozen=True, eq=False)
class UpdateStep:
    """An accepted update and its completion."""

    accepted: HistoryEvent
    completed: HistoryEvent | None = None

    @property
    def event_id(self) -> int:
        return self.accepted.event_id

    @property
    def name(self) -> str:
        return self.accepted.workflow_execution_update_accepted_event_attributes.accepted_request.input.name

    @property
    def failure(self) -> Failure | None:
        if self.completed is None:
            return None
        out = self.completed.workflow_execution_update_completed_event_attributes.outcome
        return out.failure if out.HasField("failure") else None


@dataclass(frozen=True)
class PatchMarker:
    """A patch marker found in a history.

    Attributes:
        patch_id: The patch id.
        deprecated: Written by ``deprecate_patch`` (None when only the search attribute
            upsert names the id, so the flag is unknown).
        event_id: The MarkerRecorded (or upsert) event.
    """

    patch_id: str
    deprecated: bool | None
    event_id: int


@dataclass(frozen=True)
class Completion:
    """How the execution closed: its last event, if that is a close event."""

    event: HistoryEvent

    @property
    def kind(self) -> str:
        """completed, failed, canceled, terminated, timed out or continued as new."""
        return CLOSE_KINDS[self.event.event_type]


def decode_patch_marker(
    attrs: temporalio.api.history.v1.MarkerRecordedEventAttributes,
) -> tuple[str, bool] | None:
    """The patch id and deprecated flag of a ``core_patch`` marker (None: undecodable)."""
    details = attrs.details
    if _PATCH_DETAILS_KEY in details and details[_PATCH_DETAILS_KEY].payloads:
        payload = details[_PATCH_DETAILS_KEY].payloads[0]
        try:
            data = json.loads(payload.data)
        except (ValueError, UnicodeDecodeError):
            data = decode_payload(payload)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"], bool(data.get("deprecated", False))
        return None
    # Older cores wrote the id and the flag as raw bytes under separate keys.
    if "patch_id" in details and details["patch_id"].payloads:
        try:
            patch_id = details["patch_id"].payloads[0].data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        dep = details["deprecated"].payloads[0].data if "deprecated" in details else b""
        return patch_id, bool(dep[:1]) and dep[:1] != b"\x00"
    return None


def is_core_only_upsert(ev: HistoryEvent) -> bool:
    """An upsert the SDK core adds for ``workflow.patched`` alone (no user command)."""
    fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    return set(fields) <= {CHANGE_VERSION_SEARCH_ATTRIBUTE}


# --------------------------------------------------------------------------- the view


@dataclass
class _Steps:
    activities: list[ActivityStep]
    timers: list[TimerStep]
    children: list[ChildStep]
    externals: list[ExternalStep]
    updates: list[UpdateStep]
    signals: list[HistoryEvent]
    markers: list[HistoryEvent]
    by_origin: dict[int, Any]


class HistoryView:
    """The typed view of one history's events (see the module docstring)."""

    def __init__(self, events: Sequence[HistoryEvent]) -> None:
        self.events: Sequence[HistoryEvent] = events
        self._ids_by_types: dict[frozenset[int], tuple[int, ...]] = {}

    # -- lookups ------------------------------------------------------------------------

    @cached_property
    def by_id(self) -> dict[int, HistoryEvent]:
        return {ev.event_id: ev for ev in self.events}

    def of_type(self, *types: int) -> list[HistoryEvent]:
        """The events of these types, in history order."""
        return [ev for ev in self.events if ev.event_type in types]

    @property
    def started_attrs(self) -> temporalio.api.history.v1.WorkflowExecutionStartedEventAttributes:
        """The WorkflowExecutionStarted event's attributes (the first event's)."""
        return self.events[0].workflow_execution_started_event_attributes

    @cached_property
    def completion(self) -> Completion | None:
        """The close event, if the history ends with one."""
        if self.events and self.events[-1].event_type in CLOSE_KINDS:
            return Completion(self.events[-1])
        return None

    @property
    def closed_as(self) -> str:
        """How the execution closed (``open`` while it runs)."""
        return self.completion.kind if self.completion is not None else "open"

    # -- steps --------------------------------------------------------------------------

    @cached_property
    def _steps(self) -> _Steps:
        steps = _Steps([], [], [], [], [], [], [], {})
        by_origin = steps.by_origin
        # Steps are frozen: gather each one's events first, build it once.
        parts: dict[int, dict[str, HistoryEvent]] = {}
        order: list[tuple[str, int]] = []

        def part(origin: int, key: str, ev: HistoryEvent, *, keep_first: bool = False) -> None:
            found = parts.get(origin)
            if found is None:
                return  # names an event this history does not hold
            if keep_first and key in found:
                return
            found[key] = ev

        for ev in self.events:
            t = ev.event_type
            if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                parts[ev.event_id] = {"origin": ev}
                order.append(("activity", ev.event_id))
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                part(ev.activity_task_started_event_attributes.scheduled_event_id, "started", ev)
            elif t in _ACTIVITY_CLOSE:
                part(int(attributes(ev).scheduled_event_id), "closed", ev)
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
                part(
                    ev.activity_task_cancel_requested_event_attributes.scheduled_event_id,
                    "cancel_requested",
                    ev,
                )
            elif t == E.EVENT_TYPE_TIMER_STARTED:
                parts[ev.event_id] = {"origin": ev}
                order.append(("timer", ev.event_id))
            elif t in (E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_TIMER_CANCELED):
                part(int(attributes(ev).started_event_id), "closed", ev)
            elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                parts[ev.event_id] = {"origin": ev}
                order.append(("child", ev.event_id))
            elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                part(
                    ev.child_workflow_execution_started_event_attributes.initiated_event_id,
                    "started",
                    ev,
                )
            elif t in _CHILD_CLOSE:
                part(int(attributes(ev).initiated_event_id), "closed", ev)
            elif t in _EXTERNAL_INITIATED:
                parts[ev.event_id] = {"origin": ev}
                order.append(("external", ev.event_id))
            elif t in _EXTERNAL_CLOSE:
                part(int(attributes(ev).initiated_event_id), "closed", ev)
            elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                parts[ev.event_id] = {"origin": ev}
                order.append(("update", ev.event_id))
            elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                part(
                    ev.workflow_execution_update_completed_event_attributes.accepted_event_id,
                    "completed",
                    ev,
                )
            elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                steps.signals.append(ev)
            elif t == E.EVENT_TYPE_MARKER_RECORDED:
                steps.markers.append(ev)
        for kind, origin in order:
            p = parts[origin]
            step: Any
            if kind == "activity":
                step = ActivityStep(
                    p["origin"], p.get("started"), p.get("closed"), p.get("cancel_requested")
                )
                steps.activities.append(step)
            elif kind == "timer":
                step = TimerStep(p["origin"], p.get("closed"))
                steps.timers.append(step)
            elif kind == "child":
                step = ChildStep(p["origin"], p.get("started"), p.get("closed"))
                steps.children.append(step)
            elif kind == "external":
                step = ExternalStep(p["origin"], p.get("closed"))
                steps.externals.append(step)
            else:
                step = UpdateStep(p["origin"], p.get("completed"))
                steps.updates.append(step)
            by_origin[origin] = step
        return steps

    @property
    def activities(self) -> list[ActivityStep]:
        """Scheduled activities in schedule order."""
        return self._steps.activities

    @property
    def timers(self) -> list[TimerStep]:
        return self._steps.timers

    @property
    def children(self) -> list[ChildStep]:
        return self._steps.children

    @property
    def externals(self) -> list[ExternalStep]:
        """Signals and cancellations sent to other workflows."""
        return self._steps.externals

    @property
    def updates(self) -> list[UpdateStep]:
        return self._steps.updates

    @property
    def signals(self) -> list[HistoryEvent]:
        """WorkflowExecutionSignaled events in order."""
        return self._steps.signals

    def step(
        self, origin: int
    ) -> ActivityStep | TimerStep | ChildStep | ExternalStep | UpdateStep | None:
        """The step whose first event (scheduled, started, initiated, accepted) is ``origin``."""
        return self._steps.by_origin.get(origin)

    def activity(self, scheduled_event_id: int) -> ActivityStep | None:
        found = self.step(scheduled_event_id)
        return found if isinstance(found, ActivityStep) else None

    def first_signal(self, name: str) -> HistoryEvent | None:
        return next(
            (
                ev
                for ev in self.signals
                if ev.workflow_execution_signaled_event_attributes.signal_name == name
            ),
            None,
        )

    def names(self, kind: Literal["activity", "signal", "child"]) -> dict[str, list[int]]:
        """Event ids by activity type / signal name / child workflow type, in order."""
        out: dict[str, list[int]] = {}
        if kind == "activity":
            for a in self.activities:
                out.setdefault(a.name, []).append(a.event_id)
        elif kind == "signal":
            for ev in self.signals:
                out.setdefault(
                    ev.workflow_execution_signaled_event_attributes.signal_name, []
                ).append(ev.event_id)
        else:
            for c in self.children:
                out.setdefault(c.workflow_type, []).append(c.event_id)
        return out

    # -- markers ------------------------------------------------------------------------

    def markers(self, name: str) -> list[HistoryEvent]:
        """MarkerRecorded events of this marker name, in order."""
        return [
            ev
            for ev in self._steps.markers
            if ev.marker_recorded_event_attributes.marker_name == name
        ]

    @cached_property
    def local_markers(self) -> list[HistoryEvent]:
        """Local-activity markers in order."""
        return self.markers(LOCAL_ACTIVITY_MARKER)

    @cached_property
    def _patch_markers(self) -> tuple[list[PatchMarker], list[str]]:
        markers: dict[str, PatchMarker] = {}
        problems: list[str] = []
        upserted: dict[str, int] = {}
        for ev in self.events:
            if ev.event_type == E.EVENT_TYPE_MARKER_RECORDED:
                attrs = ev.marker_recorded_event_attributes
                if attrs.marker_name != PATCH_MARKER_NAME:
                    continue
                decoded = decode_patch_marker(attrs)
                if decoded is None:
                    problems.append(f"event {ev.event_id}: patch marker details cannot be decoded")
                    continue
                patch_id, deprecated = decoded
                markers.setdefault(patch_id, PatchMarker(patch_id, deprecated, ev.event_id))
            elif ev.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes
                payload = fields.indexed_fields.get(CHANGE_VERSION_SEARCH_ATTRIBUTE)
                if payload is None:
                    continue
                try:
                    ids = json.loads(payload.data)
                except (ValueError, UnicodeDecodeError):
                    problems.append(
                        f"event {ev.event_id}: {CHANGE_VERSION_SEARCH_ATTRIBUTE} is not JSON"
                    )
                    continue
                if not isinstance(ids, list):
                    ids = [ids]
                for pid in ids:
                    if isinstance(pid, str):
                        upserted.setdefault(pid, ev.event_id)
        for pid, event_id in upserted.items():
            markers.setdefault(pid, PatchMarker(pid, None, event_id))
        return sorted(markers.values(), key=lambda m: m.event_id), problems

    def patch_markers(self) -> tuple[list[PatchMarker], list[str]]:
        """The patch markers (ids decoded), and problems found decoding them.

        Both sources count: ``core_patch`` MarkerRecorded events (id and deprecated flag from
        the ``patch-data`` payload) and ``TemporalChangeVersion`` upserts (the ids patched so
        far). An id only the upsert names gets ``deprecated=None``.
        """
        markers, problems = self._patch_markers
        return list(markers), list(problems)

    # -- commands -----------------------------------------------------------------------

    @cached_property
    def command_events(self) -> list[HistoryEvent]:
        """Events lang commands produced, in command order (core-only upserts left out)."""
        return [
            ev
            for ev in self.events
            if ev.event_type in COMMAND_EVENTS
            and not (
                ev.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
                and is_core_only_upsert(ev)
            )
        ]

    @cached_property
    def command_index(self) -> dict[int, int]:
        """Position of each command event in :attr:`command_events`, by event id."""
        return {ev.event_id: i for i, ev in enumerate(self.command_events)}

    # -- workflow tasks -----------------------------------------------------------------

    @cached_property
    def tasks(self) -> list[int]:
        """Workflow tasks a replay runs: started events followed by a completed one (or the
        last one, still pending). Their ids are the activations' ``history_length``."""
        events = self.events
        out = [
            prev.event_id
            for prev, ev in zip(events, events[1:], strict=False)
            if prev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED
            and ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        if events and events[-1].event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            out.append(events[-1].event_id)
        return out

    @cached_property
    def has_workflow_task(self) -> bool:
        """Whether any workflow task was scheduled (a replay has something to run)."""
        return any(ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED for ev in self.events)

    @cached_property
    def started_of_completed(self) -> dict[int, int]:
        """The workflow task started event that precedes each completed one."""
        events = self.events
        return {
            ev.event_id: prev.event_id
            for prev, ev in zip(events, events[1:], strict=False)
            if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            and prev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED
        }

    @cached_property
    def task_attempts(self) -> dict[int, int]:
        """Attempt of each WorkflowTaskScheduled event, by event id."""
        return {
            ev.event_id: ev.workflow_task_scheduled_event_attributes.attempt
            for ev in self.events
            if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
        }

    @cached_property
    def pending_task_at_end(self) -> bool:
        """True when the last workflow task was scheduled/started but never completed."""
        for ev in reversed(self.events):
            t = ev.event_type
            if t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                return False
            if t in (E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED):
                return True
        return False

    def task_after(self, event_id: int) -> int | None:
        """The first replayed workflow task started after ``event_id``."""
        return next((t for t in self.tasks if t > event_id), None)

    def task_before(self, event_id: int) -> int | None:
        """The last replayed workflow task started before ``event_id``."""
        return next((t for t in reversed(self.tasks) if t < event_id), None)

    def task_of(self, event_id: int) -> int | None:
        """The workflow task a task event (scheduled/started/completed/failed) belongs to."""
        ev = self.by_id[event_id]
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED and event_id in self.tasks:
            return event_id
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return self.task_before(event_id)
        return self.task_after(event_id)

    def task_of_command(self, event_id: int) -> int | None:
        """The workflow task whose completion recorded a command event."""
        completed = int(
            getattr(attributes(self.by_id[event_id]), "workflow_task_completed_event_id", 0) or 0
        )
        return self.task_before(completed) if completed else None

    @cached_property
    def delivered(self) -> dict[int, list[int]]:
        """Consumed events delivered in each replayed task, in history order."""
        out: dict[int, list[int]] = {}
        for ev in self.events:
            if ev.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                # The request came with the task whose completion accepted it (the request
                # itself is a message, not an event).
                task = self.task_before(ev.event_id)
            elif ev.event_type in CONSUMED_EVENTS:
                task = self.task_after(ev.event_id)
            else:
                continue
            if task is not None:
                out.setdefault(task, []).append(ev.event_id)
        return out

    # -- lookups by kind and type (show, patches) -----------------------------------------

    def timer(self, started_event_id: int) -> TimerStep | None:
        """The timer whose TimerStarted event is ``started_event_id``."""
        found = self.step(started_event_id)
        return found if isinstance(found, TimerStep) else None

    def child(self, initiated_event_id: int) -> ChildStep | None:
        """The child whose StartChildWorkflowExecutionInitiated event is ``initiated_event_id``."""
        found = self.step(initiated_event_id)
        return found if isinstance(found, ChildStep) else None

    def ids_of_type(self, *types: int) -> tuple[int, ...]:
        """Ids of the events of these types, in history order.

        Kept per set of types: counting the events of a kind before some event (a bisect
        of these ids) costs O(log n) after the first call, not a walk.
        """
        key = frozenset(types)
        found = self._ids_by_types.get(key)
        if found is None:
            found = tuple(ev.event_id for ev in self.events if ev.event_type in key)
            self._ids_by_types[key] = found
        return found


def view_of(history: Any) -> HistoryView:
    """The view of a ``HistoryFile`` (kept on it), ``WorkflowHistory``, ``History`` proto,
    view, or bare event sequence."""
    if isinstance(history, HistoryView):
        return history
    kept = getattr(type(history), "view", None)
    if isinstance(kept, cached_property):
        return history.view  # type: ignore[no-any-return]
    events = getattr(history, "events", history)
    return HistoryView(events)
