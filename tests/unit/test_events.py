"""The event model: one typed view of a history that every reader shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import temporalio.api.history.v1 as h
import temporalio.client
from temporalio.api.enums.v1 import EventType as E

from replaykit.history import HistoryView, load_history, view_of
from replaykit.history._events import CLOSE_KINDS, COMMAND_EVENTS, PatchMarker, decode_patch_marker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


class _Builder:
    """Hand-built histories: each call appends one event with the next id."""

    def __init__(self) -> None:
        self.events: list[h.HistoryEvent] = []
        self.add(
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            "workflow_execution_started_event_attributes",
            workflow_type={"name": "Wf"},
        )

    def add(self, event_type: int, attrs_name: str | None = None, **fields: object) -> int:
        ev = h.HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)
        if attrs_name is not None:
            attrs = getattr(ev, attrs_name)
            attrs.SetInParent()
            for key, value in fields.items():
                target = getattr(attrs, key)
                if isinstance(value, dict):
                    for k, v in value.items():
                        setattr(target, k, v)
                else:
                    setattr(attrs, key, value)
        self.events.append(ev)
        return ev.event_id

    def task(self) -> tuple[int, int]:
        """A scheduled, started and completed workflow task; returns (started, completed)."""
        self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            "workflow_task_scheduled_event_attributes",
            attempt=1,
        )
        started = self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED, "workflow_task_started_event_attributes"
        )
        completed = self.add(
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            "workflow_task_completed_event_attributes",
            started_event_id=started,
        )
        return started, completed

    def schedule(self, name: str, completed: int, activity_id: str = "1") -> int:
        return self.add(
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            "activity_task_scheduled_event_attributes",
            activity_type={"name": name},
            activity_id=activity_id,
            workflow_task_completed_event_id=completed,
        )

    def view(self) -> HistoryView:
        return HistoryView(self.events)


def test_activity_steps_resolve_started_and_closing_events() -> None:
    b = _Builder()
    _, c1 = b.task()
    ok = b.schedule("charge", c1, "1")
    bad = b.schedule("ship", c1, "2")
    slow = b.schedule("notify", c1, "3")
    open_ = b.schedule("audit", c1, "4")
    s_ok = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        "activity_task_started_event_attributes",
        scheduled_event_id=ok,
        attempt=1,
    )
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        "activity_task_completed_event_attributes",
        scheduled_event_id=ok,
        started_event_id=s_ok,
    )
    s_bad = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        "activity_task_started_event_attributes",
        scheduled_event_id=bad,
        attempt=3,
    )
    failed = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        "activity_task_failed_event_attributes",
        scheduled_event_id=bad,
        started_event_id=s_bad,
    )
    b.events[-1].activity_task_failed_event_attributes.failure.message = "boom"
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        "activity_task_timed_out_event_attributes",
        scheduled_event_id=slow,
    )
    cancel = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
        "activity_task_cancel_requested_event_attributes",
        scheduled_event_id=open_,
    )
    # A closing event naming an event the history does not hold is ignored.
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        "activity_task_completed_event_attributes",
        scheduled_event_id=999,
    )
    view = b.view()

    assert [a.name for a in view.activities] == ["charge", "ship", "notify", "audit"]
    charge, ship, notify, audit = view.activities
    assert (charge.outcome, charge.attempt, charge.started_event_id) == ("completed", 1, s_ok)
    assert (ship.outcome, ship.attempt, ship.closed.event_id) == ("failed", 3, failed)
    assert ship.failure is not None and ship.failure.message == "boom"
    assert charge.failure is None and ship.result == ()
    assert (notify.outcome, notify.attempt, notify.started_event_id) == ("timed_out", None, None)
    assert notify.failure is not None  # timed out steps carry their timeout failure
    assert (audit.outcome, audit.cancel_requested.event_id) == ("pending", cancel)
    assert audit.activity_id == "4" and view.activity(open_) is audit
    assert view.activity(999) is None and view.step(c1) is None
    assert view.names("activity") == {
        "charge": [ok],
        "ship": [bad],
        "notify": [slow],
        "audit": [open_],
    }


def test_timers_children_externals_updates_and_signals() -> None:
    b = _Builder()
    _, c1 = b.task()
    t1 = b.add(
        E.EVENT_TYPE_TIMER_STARTED,
        "timer_started_event_attributes",
        timer_id="1",
        workflow_task_completed_event_id=c1,
    )
    t2 = b.add(E.EVENT_TYPE_TIMER_STARTED, "timer_started_event_attributes", timer_id="2")
    t3 = b.add(E.EVENT_TYPE_TIMER_STARTED, "timer_started_event_attributes", timer_id="3")
    b.add(E.EVENT_TYPE_TIMER_FIRED, "timer_fired_event_attributes", started_event_id=t1)
    b.add(E.EVENT_TYPE_TIMER_CANCELED, "timer_canceled_event_attributes", started_event_id=t2)
    ch = b.add(
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        "start_child_workflow_execution_initiated_event_attributes",
        workflow_type={"name": "Child"},
        workflow_id="c-1",
    )
    ch2 = b.add(
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        "start_child_workflow_execution_initiated_event_attributes",
        workflow_type={"name": "Child"},
        workflow_id="c-2",
    )
    started = b.add(
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        "child_workflow_execution_started_event_attributes",
        initiated_event_id=ch,
    )
    b.add(
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        "child_workflow_execution_timed_out_event_attributes",
        initiated_event_id=ch,
    )
    b.add(
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        "start_child_workflow_execution_failed_event_attributes",
        initiated_event_id=ch2,
    )
    ext = b.add(
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        "signal_external_workflow_execution_initiated_event_attributes",
    )
    b.add(
        E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        "external_workflow_execution_signaled_event_attributes",
        initiated_event_id=ext,
    )
    acc = b.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        "workflow_execution_update_accepted_event_attributes",
    )
    b.events[
        -1
    ].workflow_execution_update_accepted_event_attributes.accepted_request.input.name = "edit"
    b.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        "workflow_execution_update_completed_event_attributes",
        accepted_event_id=acc,
    )
    b.events[-1].workflow_execution_update_completed_event_attributes.outcome.failure.message = "no"
    sig = b.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        "workflow_execution_signaled_event_attributes",
        signal_name="approve",
    )
    view = b.view()

    assert [(t.timer_id, t.outcome) for t in view.timers] == [
        ("1", "fired"),
        ("2", "canceled"),
        ("3", "pending"),
    ]
    assert view.timers[2].event_id == t3
    (child, child2) = view.children
    assert (child.workflow_type, child.workflow_id, child.outcome) == ("Child", "c-1", "timedout")
    assert child.started is not None and child.started.event_id == started
    assert child2.outcome == "start failed" and child2.started is None
    assert [x.outcome for x in view.externals] == ["delivered"]
    (update,) = view.updates
    assert update.name == "edit" and update.failure is not None and update.failure.message == "no"
    assert view.first_signal("approve").event_id == sig and view.first_signal("nope") is None
    assert view.names("signal") == {"approve": [sig]}
    assert view.names("child") == {"Child": [ch, ch2]}


def test_workflow_tasks_deliveries_and_command_tasks() -> None:
    b = _Builder()
    s1, c1 = b.task()
    act = b.schedule("a", c1)
    done = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        "activity_task_completed_event_attributes",
        scheduled_event_id=act,
    )
    s2, c2 = b.task()
    # A failed task attempt is not a task the replay runs.
    b.add(
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes", attempt=1
    )
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, "workflow_task_started_event_attributes")
    b.add(E.EVENT_TYPE_WORKFLOW_TASK_FAILED, "workflow_task_failed_event_attributes")
    retry = b.add(
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, "workflow_task_scheduled_event_attributes", attempt=2
    )
    last = b.add(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, "workflow_task_started_event_attributes")
    view = b.view()

    assert view.tasks == [s1, s2, last]  # the trailing started task is still pending
    assert view.pending_task_at_end
    assert view.started_of_completed == {c1: s1, c2: s2}
    assert view.task_attempts[retry] == 2
    assert view.task_after(done) == s2 and view.task_before(done) == s1
    assert view.task_of(c2) == s2 and view.task_of(s1) == s1
    assert view.task_of_command(act) == s1
    assert view.delivered == {s1: [1], s2: [done]}


def test_command_events_leave_out_core_only_upserts() -> None:
    b = _Builder()
    _, c1 = b.task()
    act = b.schedule("a", c1)
    core = b.add(
        E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        "upsert_workflow_search_attributes_event_attributes",
    )
    b.events[
        -1
    ].upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[
        "TemporalChangeVersion"
    ].data = b'["p1"]'
    user = b.add(
        E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        "upsert_workflow_search_attributes_event_attributes",
    )
    b.events[
        -1
    ].upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[
        "Stage"
    ].data = b'"two"'
    end = b.add(
        E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, "workflow_execution_completed_event_attributes"
    )
    view = b.view()
    assert [ev.event_id for ev in view.command_events] == [act, user, end]
    assert view.command_index == {act: 0, user: 1, end: 2}
    assert core not in view.command_index
    assert view.completion is not None and view.closed_as == "completed"
    assert not view.pending_task_at_end


def test_patch_markers_decode_both_formats_and_report_problems() -> None:
    b = _Builder()
    b.task()
    b.add(
        E.EVENT_TYPE_MARKER_RECORDED, "marker_recorded_event_attributes", marker_name="core_patch"
    )
    b.events[-1].marker_recorded_event_attributes.details["patch-data"].payloads.add(
        data=json.dumps({"id": "new-prompt", "deprecated": True}).encode()
    )
    b.add(
        E.EVENT_TYPE_MARKER_RECORDED, "marker_recorded_event_attributes", marker_name="core_patch"
    )
    old = b.events[-1].marker_recorded_event_attributes.details
    old["patch_id"].payloads.add(data=b"legacy")
    old["deprecated"].payloads.add(data=b"\x00")
    bad = b.add(
        E.EVENT_TYPE_MARKER_RECORDED, "marker_recorded_event_attributes", marker_name="core_patch"
    )
    b.events[-1].marker_recorded_event_attributes.details["patch-data"].payloads.add(data=b"[1]")
    b.add(
        E.EVENT_TYPE_MARKER_RECORDED,
        "marker_recorded_event_attributes",
        marker_name="core_local_activity",
    )
    upsert = b.add(
        E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        "upsert_workflow_search_attributes_event_attributes",
    )
    b.events[
        -1
    ].upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[
        "TemporalChangeVersion"
    ].data = b'["new-prompt", "only-upserted"]'
    view = b.view()
    markers, problems = view.patch_markers()
    assert markers == [
        PatchMarker("new-prompt", True, 5),
        PatchMarker("legacy", False, 6),
        PatchMarker("only-upserted", None, upsert),
    ]
    assert problems == [f"event {bad}: patch marker details cannot be decoded"]
    assert [ev.event_id for ev in view.local_markers] == [bad + 1]
    assert len(view.markers("core_patch")) == 3
    # The result is a copy: callers cannot change the view's answer.
    markers.clear()
    assert len(view.patch_markers()[0]) == 3
    assert decode_patch_marker(h.MarkerRecordedEventAttributes()) is None


def test_view_of_accepts_every_history_form_and_a_file_keeps_its_view() -> None:
    hf = load_history(
        FIXTURES
        / "histories"
        / "payment_happy_path"
        / sorted(p.name for p in (FIXTURES / "histories" / "payment_happy_path").glob("*.json"))[0]
    )
    assert view_of(hf) is hf.view is hf.view
    assert view_of(hf.view) is hf.view
    ids = [a.event_id for a in hf.view.activities]
    for other in (
        hf.history,
        temporalio.client.WorkflowHistory(hf.workflow_id, list(hf.events)),
        list(hf.events),
    ):
        view = view_of(other)
        assert view is not hf.view
        assert [a.event_id for a in view.activities] == ids


def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*histories/**/*.json"))


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.parent.name + "/" + p.name)
def test_every_recorded_history_reads_consistently(path: Path) -> None:
    """Against the recorded corpus: every step's events name the step's first event."""
    hf = load_history(path)
    view = hf.view
    scheduled = [
        ev.event_id for ev in hf.events if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert [a.event_id for a in view.activities] == scheduled
    for a in view.activities:
        if a.closed is not None:
            assert a.closed.event_id > a.event_id
            assert a.closed.WhichOneof("attributes") is not None
            assert (
                getattr(a.closed, a.closed.WhichOneof("attributes")).scheduled_event_id
                == a.event_id
            )
        if a.started is not None:
            assert a.started.activity_task_started_event_attributes.scheduled_event_id == a.event_id
    for t in view.timers:
        if t.closed is not None:
            assert t.closed.event_id > t.event_id
    assert all(
        hf.events[i].event_type in COMMAND_EVENTS
        for i in (ev.event_id - 1 for ev in view.command_events)
    )
    assert view.tasks == sorted(view.tasks)
    if hf.is_closed:
        assert view.completion is not None
        assert view.closed_as == CLOSE_KINDS[hf.events[-1].event_type]
