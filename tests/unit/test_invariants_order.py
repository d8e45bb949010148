"""The fault invariants read the event model in close-event order, as the history tells it."""

from __future__ import annotations

import temporalio.api.history.v1 as h
from temporalio.api.enums.v1 import EventType as E

from replaykit.faults import FailActivity, FaultPlan, TimeoutActivity
from replaykit.faults._control import AttemptRecord
from replaykit.faults._invariants import check_no_rerun, failures_reaching_workflow
from tests.unit.test_events import _Builder


def _history() -> h.History:
    """``a`` and ``b`` scheduled in that order; ``b`` fails first, then ``a`` times out, then
    ``c`` completes at attempt 2."""
    b = _Builder()
    b.events[0].workflow_execution_started_event_attributes.original_execution_run_id = "run-1"
    _, c1 = b.task()
    a = b.schedule("a", c1, "1")
    bb = b.schedule("b", c1, "2")
    c = b.schedule("c", c1, "3")
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        "activity_task_failed_event_attributes",
        scheduled_event_id=bb,
    )
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        "activity_task_timed_out_event_attributes",
        scheduled_event_id=a,
    )
    s = b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        "activity_task_started_event_attributes",
        scheduled_event_id=c,
        attempt=2,
    )
    b.add(
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        "activity_task_completed_event_attributes",
        scheduled_event_id=c,
        started_event_id=s,
    )
    return h.History(events=b.events)


def _attempt(activity_id: str, attempt: int) -> AttemptRecord:
    return AttemptRecord(
        id=attempt,
        pid=1,
        workflow_id="wf",
        run_id="run-1",
        activity_type="c",
        activity_id=activity_id,
        attempt=attempt,
        started_at=0.0,
        ended_at=None,
        outcome="completed",
        error_type=None,
        non_retryable=False,
        injected=None,
    )


def test_failures_reaching_the_workflow_come_in_close_order() -> None:
    plan = FaultPlan(
        faults=(
            FailActivity(activity="a"),
            TimeoutActivity(activity="b"),
            FailActivity(activity="c"),
        )
    )
    assert failures_reaching_workflow([("wf", _history())], plan) == ["b", "a"]
    only_a = FaultPlan(faults=(FailActivity(activity="a"),))
    assert failures_reaching_workflow([("wf", _history())], only_a) == ["a"]


def test_a_completed_activity_that_ran_again_is_named_with_its_recorded_attempt() -> None:
    ok = check_no_rerun([("wf", _history())], [_attempt("3", 2)], [], None)
    assert ok.verdict == "ok"
    again = check_no_rerun([("wf", _history())], [_attempt("3", 2), _attempt("3", 3)], [], None)
    assert again.verdict == "violation"
    assert again.details == (
        "activity `c` (id 3) ran again as attempt 3 after the server recorded its completion "
        "by attempt 2",
    )
