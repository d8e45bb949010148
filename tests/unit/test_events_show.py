"""The event-model lookups show, patches and explain read (``HistoryView.timer``, ``child``,
``ids_of_type``), and those readers on histories built event by event (no server)."""

from __future__ import annotations

from typing import Any

import temporalio.api.history.v1
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType

from replaykit.check._explain import explain_replay_failure
from replaykit.history import HistoryFile, HistoryView
from replaykit.history._events import ChildStep, TimerStep
from replaykit.patches._analysis import _commands_before, _reaches_past
from replaykit.views._timeline import build_timeline

E = EventType
H = temporalio.api.history.v1


def _history(*rows: tuple[int, dict[str, Any]], first_id: int = 1, step: int = 1) -> HistoryFile:
    """A history of these (event type, attributes) rows; ids from ``first_id`` by ``step``."""
    history = H.History()
    for i, (event_type, attrs) in enumerate(rows):
        ev = history.events.add(event_id=first_id + i * step, event_type=event_type)
        for field, value in attrs.items():
            getattr(ev, field).CopyFrom(value)
    return HistoryFile(path=None, workflow_id="wf-1", history=history)


def _started() -> tuple[int, dict[str, Any]]:
    attrs = H.WorkflowExecutionStartedEventAttributes()
    attrs.workflow_type.name = "Flow"
    attrs.task_queue.name = "q"
    return E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
        "workflow_execution_started_event_attributes": attrs
    }


def _task(kind: str) -> tuple[int, dict[str, Any]]:
    t = {
        "scheduled": E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        "started": E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        "completed": E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }[kind]
    return t, {}


def _timer(timer_id: str, seconds: int) -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_TIMER_STARTED, {
        "timer_started_event_attributes": H.TimerStartedEventAttributes(
            timer_id=timer_id, start_to_fire_timeout=Duration(seconds=seconds)
        )
    }


def _fired(timer_id: str, started: int) -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_TIMER_FIRED, {
        "timer_fired_event_attributes": H.TimerFiredEventAttributes(
            timer_id=timer_id, started_event_id=started
        )
    }


def _schedule(name: str, activity_id: str) -> tuple[int, dict[str, Any]]:
    attrs = H.ActivityTaskScheduledEventAttributes(activity_id=activity_id)
    attrs.activity_type.name = name
    return E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {"activity_task_scheduled_event_attributes": attrs}


def _activity_started(scheduled: int, attempt: int) -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_ACTIVITY_TASK_STARTED, {
        "activity_task_started_event_attributes": H.ActivityTaskStartedEventAttributes(
            scheduled_event_id=scheduled, attempt=attempt
        )
    }


def _child(workflow_type: str, workflow_id: str) -> tuple[int, dict[str, Any]]:
    attrs = H.StartChildWorkflowExecutionInitiatedEventAttributes(workflow_id=workflow_id)
    attrs.workflow_type.name = workflow_type
    return E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, {
        "start_child_workflow_execution_initiated_event_attributes": attrs
    }


def _child_terminated(initiated: int) -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED, {
        "child_workflow_execution_terminated_event_attributes": H.ChildWorkflowExecutionTerminatedEventAttributes(
            initiated_event_id=initiated
        )
    }


def _upsert(**fields: bytes) -> tuple[int, dict[str, Any]]:
    attrs = H.UpsertWorkflowSearchAttributesEventAttributes()
    for key, data in fields.items():
        attrs.search_attributes.indexed_fields[key].data = data
    return E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
        "upsert_workflow_search_attributes_event_attributes": attrs
    }


def _properties() -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, {}


def _completed() -> tuple[int, dict[str, Any]]:
    return E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {}


# --------------------------------------------------------------------------- the lookups


def test_timer_and_child_lookups_answer_only_for_their_own_kind() -> None:
    hf = _history(
        _started(),
        _task("scheduled"),
        _task("started"),
        _task("completed"),
        _timer("t1", 5),
        _schedule("charge", "1"),
        _child("Child", "c-1"),
    )
    view = hf.view
    timer = view.timer(5)
    assert isinstance(timer, TimerStep) and timer.timer_id == "t1"
    child = view.child(7)
    assert isinstance(child, ChildStep) and (child.workflow_type, child.workflow_id) == (
        "Child",
        "c-1",
    )
    # Another kind's origin, a non-origin event, or an id the history lacks: no step.
    assert view.timer(6) is None and view.timer(7) is None and view.timer(4) is None
    assert view.child(5) is None and view.child(6) is None and view.child(99) is None


def test_ids_of_type_in_order_and_kept_per_type_set() -> None:
    hf = _history(
        _started(),
        _task("scheduled"),
        _task("started"),
        _task("completed"),
        _timer("t1", 1),
        _schedule("a", "1"),
        _task("scheduled"),
        _task("started"),
        _task("completed"),
        _schedule("b", "2"),
    )
    view = hf.view
    ids = view.ids_of_type(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, E.EVENT_TYPE_TIMER_STARTED)
    assert ids == (5, 6, 10)
    # The same set of types (in any order) is the kept tuple, not a new walk.
    again = view.ids_of_type(E.EVENT_TYPE_TIMER_STARTED, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert again is ids
    assert view.ids_of_type(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == (4, 9)
    assert view.ids_of_type(E.EVENT_TYPE_MARKER_RECORDED) == ()
    assert view.ids_of_type() == ()
    assert HistoryView([]).ids_of_type(E.EVENT_TYPE_TIMER_STARTED) == ()


# --------------------------------------------------------------------------- the readers


def test_timeline_resolves_references_by_kind_through_the_view() -> None:
    hf = _history(
        _started(),
        _task("scheduled"),
        _task("started"),
        _task("completed"),
        _timer("t1", 90),  # 5
        _schedule("charge", "1"),  # 6
        _child("Child", "c-1"),  # 7
        _fired("t1", 5),  # 8: a known timer
        _fired("t9", 6),  # 9: names the activity, not a timer
        _activity_started(6, 2),  # 10: a known activity
        _activity_started(5, 1),  # 11: names the timer, not an activity
        _child_terminated(7),  # 12: a known child
        _child_terminated(6),  # 13: names the activity, not a child
    )
    summaries = {t.event_id: t.summary for t in build_timeline(hf)}
    assert summaries[8] == "timer t1 (90s) fired"
    assert summaries[9] == "timer t9 fired"
    assert summaries[10] == "charge attempt 2"
    assert summaries[11] == "? attempt 1"
    assert summaries[12] == "Child (id c-1)"
    assert summaries[13] == ""


def test_position_rule_counts_commands_as_patches_defines_them() -> None:
    hf = _history(
        _started(),
        _task("scheduled"),
        _task("started"),
        _task("completed"),  # 1-4
        _upsert(CustomKeyword=b'"x"'),  # 5: a user upsert, still not counted
        _upsert(TemporalChangeVersion=b'["p"]'),  # 6: not counted
        _properties(),  # 7: counted
        _schedule("a", "1"),  # 8: counted
        _task("scheduled"),
        _task("started"),
        _task("completed"),  # 9-11
        _schedule("b", "2"),  # 12: counted, no task completes after it
    )
    assert [_commands_before(hf, i) for i in range(1, 14)] == [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        2,
        2,
        2,
        2,
        3,
    ]
    assert _commands_before(hf, 99) == 3
    assert [_reaches_past(hf, n) for n in range(5)] == [True, True, True, False, False]
    only_started = _history(_started(), _task("scheduled"), _task("started"))
    assert not _reaches_past(only_started, 0)


def test_position_rule_counts_by_id_when_ids_are_not_dense() -> None:
    hf = _history(
        _started(),
        _task("scheduled"),
        _task("started"),
        _task("completed"),  # 10..40
        _schedule("a", "1"),
        _timer("t", 1),  # 50, 60
        _task("scheduled"),
        _task("started"),
        _task("completed"),  # 70..90
        first_id=10,
        step=10,
    )
    assert [_commands_before(hf, i) for i in (10, 50, 51, 60, 61, 95)] == [0, 0, 1, 1, 2, 2]
    assert _reaches_past(hf, 2) and not _reaches_past(hf, 3)


def test_is_closed_reads_the_completion() -> None:
    open_ = _history(_started(), _task("scheduled"), _task("started"), _task("completed"))
    assert not open_.is_closed
    closed = _history(
        _started(), _task("scheduled"), _task("started"), _task("completed"), _completed()
    )
    assert closed.is_closed


def test_explain_names_the_event_by_id() -> None:
    dense = _history(
        _started(), _task("scheduled"), _task("started"), _task("completed"), _timer("t", 1)
    )
    d = explain_replay_failure(RuntimeError("boom at event_id: 5"), dense, None)
    assert (d.event_id, d.event_type) == (5, "TimerStarted")
    missing = explain_replay_failure(RuntimeError("boom at event_id: 6"), dense, None)
    assert (missing.event_id, missing.event_type) == (6, None)
    sparse = _history(_started(), _task("scheduled"), _timer("t", 1), first_id=1, step=3)
    d = explain_replay_failure(RuntimeError("boom at event_id: 7"), sparse, None)
    assert (d.event_id, d.event_type) == (7, "TimerStarted")
