"""FailureView: one read of a Failure proto's cause chain, and each way replaykit shows it.

The first half tests the view's renderings on hand-built protos. The second half runs the
modules that show failures (strict comparer, diff, saga verifier, timeline, retry-policy
invariant) on the same protos; their expected values are written down literally, as the
renderers of each module produced them before they were moved here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import temporalio.bridge.proto.workflow_commands as wf_commands
from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.failure.v1 import (
    ActivityFailureInfo,
    ApplicationFailureInfo,
    CanceledFailureInfo,
    Failure,
    TimeoutFailureInfo,
)
from temporalio.api.history.v1 import History, HistoryEvent

from replaykit.check._capture import CapturedCommand
from replaykit.check._comparers import _compare_fail, _Ctx
from replaykit.faults._invariants import check_retry_policy
from replaykit.history import HistoryFile
from replaykit.history._failures import MAX_DEPTH, FailureView
from replaykit.sagas import SagaSpec, verify_saga
from replaykit.views import diff_histories
from replaykit.views._timeline import build_timeline

ET = EventType


def _app(
    message: str, kind: str = "", *, non_retryable: bool = False, cause: Failure | None = None
) -> Failure:
    f = Failure(
        message=message,
        application_failure_info=ApplicationFailureInfo(type=kind, non_retryable=non_retryable),
    )
    if cause is not None:
        f.cause.CopyFrom(cause)
    return f


def _timeout(message: str = "", kind: int = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) -> Failure:
    return Failure(message=message, timeout_failure_info=TimeoutFailureInfo(timeout_type=kind))  # type: ignore[arg-type]


def _chain(n: int, *, timeout_at: int | None = None) -> Failure:
    """``n`` levels ``E0: level 0`` ← ``E1: level 1`` ...; a heartbeat timeout at ``timeout_at``."""
    top = Failure()
    cur = top
    for i in range(n):
        if i == timeout_at:
            cur.message = f"timeout {i}"
            cur.timeout_failure_info.timeout_type = TimeoutType.TIMEOUT_TYPE_HEARTBEAT
        else:
            cur.message = f"level {i}"
            cur.application_failure_info.type = f"E{i}"
        if i < n - 1:
            cur = cur.cause
    return top


#: A non-retryable application error, caused by another, caused by a timeout without message.
NESTED = _app(
    "boom", "ValueError", non_retryable=True, cause=_app("inner", "KeyError", cause=_timeout())
)
#: What the server reports for an activity: an activity failure wrapping the application error.
ACTIVITY = Failure(
    message="Activity task failed",
    activity_failure_info=ActivityFailureInfo(),
    cause=_app("card declined", "CardDeclined"),
)
#: An application failure with neither message nor type, caused by a cancellation.
UNTYPED = Failure(
    application_failure_info=ApplicationFailureInfo(),
    cause=Failure(message="cancelled", canceled_failure_info=CanceledFailureInfo()),
)
LONG = _app("a  very\nlong " + "x" * 130, "Big")


# ------------------------------------------------------------------------------ the view


def test_the_view_reads_every_level_once() -> None:
    view = FailureView.of(NESTED)
    levels = list(view.chain())
    assert [(lv.message, lv.kind, lv.app_type, lv.non_retryable) for lv in levels] == [
        ("boom", "application_failure_info", "ValueError", True),
        ("inner", "application_failure_info", "KeyError", False),
        ("", "timeout_failure_info", "", False),
    ]
    assert [lv.is_timeout for lv in levels] == [False, False, True]
    assert levels[2].timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert levels[0].timeout_type == 0
    assert not any(lv.cut for lv in levels)
    assert dataclasses.is_dataclass(view)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.message = "changed"  # type: ignore[misc]


def test_a_failure_without_info_has_no_kind() -> None:
    view = FailureView.of(Failure())
    assert (view.message, view.kind, view.app_type, view.cause) == ("", None, "", None)
    assert not view.is_application and not view.is_timeout


def test_the_chain_is_cut_at_max_depth() -> None:
    view = FailureView.of(_chain(10), max_depth=3)
    levels = list(view.chain())
    assert [lv.message for lv in levels] == ["level 0", "level 1", "level 2"]
    assert [lv.cut for lv in levels] == [False, False, True]
    assert not list(FailureView.of(_chain(3), max_depth=3).chain())[-1].cut
    assert len(list(FailureView.of(_chain(MAX_DEPTH + 10)).chain())) == MAX_DEPTH
    assert FailureView.of(_chain(5), max_depth=0).cause is None  # the failure itself, always


def test_comparable_is_the_top_level_only() -> None:
    assert FailureView.of(NESTED).comparable() == {
        "message": "boom",
        "type": "ValueError",
        "non_retryable": True,
    }
    assert FailureView.of(ACTIVITY).comparable() == {
        "message": "Activity task failed",
        "type": "activity_failure_info",
        "non_retryable": None,
    }
    assert FailureView.of(Failure()).comparable() == {
        "message": "",
        "type": None,
        "non_retryable": None,
    }
    assert FailureView.of(UNTYPED).comparable() == {
        "message": "",
        "type": "",
        "non_retryable": False,
    }


def test_as_tree_nests_the_causes() -> None:
    assert FailureView.of(NESTED).as_tree() == {
        "message": "boom",
        "type": "ValueError",
        "non_retryable": True,
        "cause": {
            "message": "inner",
            "type": "KeyError",
            "cause": {"message": "", "type": "timeout_failure_info"},
        },
    }
    assert FailureView.of(UNTYPED).as_tree() == {
        "message": "",
        "type": "",
        "cause": {"message": "cancelled", "type": "canceled_failure_info"},
    }
    assert FailureView.of(Failure()).as_tree() == {"message": "", "type": None}
    # Key order is part of the JSON output.
    assert list(FailureView.of(NESTED).as_tree()) == ["message", "type", "non_retryable", "cause"]


def test_as_tree_stops_where_the_view_was_cut() -> None:
    assert FailureView.of(_chain(5), max_depth=2).as_tree() == {
        "message": "level 0",
        "type": "E0",
        "cause": {"message": "level 1", "type": "E1"},
    }


def test_headline_is_type_and_message_of_the_top_level() -> None:
    assert FailureView.of(NESTED).headline() == "ValueError: boom"
    assert FailureView.of(ACTIVITY).headline() == "Activity task failed"
    assert FailureView.of(Failure()).headline() == "(no message)"
    assert FailureView.of(UNTYPED).headline() == "(no message)"
    assert FailureView.of(_app("", "Empty")).headline() == "Empty: (no message)"


def test_chain_text_joins_the_first_levels() -> None:
    assert FailureView.of(NESTED).chain_text() == "ValueError: boom ← KeyError: inner"
    assert FailureView.of(ACTIVITY).chain_text() == (
        "Activity task failed ← CardDeclined: card declined"
    )
    assert FailureView.of(UNTYPED).chain_text() == "cancelled"
    assert FailureView.of(Failure()).chain_text() == "(no message)"
    assert FailureView.of(_chain(6)).chain_text() == (
        "E0: level 0 ← E1: level 1 ← E2: level 2 ← E3: level 3"
    )
    assert FailureView.of(_chain(6)).chain_text(levels=2) == "E0: level 0 ← E1: level 1"
    assert FailureView.of(_chain(6), max_depth=1).chain_text() == "E0: level 0"


def test_has_timeout_looks_within_the_first_levels() -> None:
    assert FailureView.of(NESTED).has_timeout()
    assert not FailureView.of(NESTED).has_timeout(within=2)
    assert FailureView.of(_timeout()).has_timeout(within=1)
    assert not FailureView.of(ACTIVITY).has_timeout()
    assert FailureView.of(_chain(25, timeout_at=19)).has_timeout(within=20)
    assert not FailureView.of(_chain(25, timeout_at=20)).has_timeout(within=20)
    assert FailureView.of(_chain(25, timeout_at=20)).has_timeout()
    assert not FailureView.of(_chain(25, timeout_at=20), max_depth=10).has_timeout()


def test_first_application_skips_wrappers() -> None:
    app = FailureView.of(ACTIVITY).first_application()
    assert app is not None and (app.app_type, app.message) == ("CardDeclined", "card declined")
    top = FailureView.of(NESTED)
    assert top.first_application() is top
    assert FailureView.of(Failure(message="x", cause=_timeout())).first_application() is None
    assert FailureView.of(Failure()).first_application() is None


# -------------------------------------------------------------- the modules that show them


def _event(event_id: int, event_type: int, **attrs: Any) -> HistoryEvent:
    ev = HistoryEvent(event_id=event_id, event_type=event_type, **attrs)  # type: ignore[arg-type]
    return ev


def _failed_workflow(failure: Failure) -> HistoryFile:
    events = [
        _event(1, ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(2, ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(3, ET.EVENT_TYPE_ACTIVITY_TASK_STARTED),
        _event(4, ET.EVENT_TYPE_ACTIVITY_TASK_FAILED),
        _event(5, ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED),
    ]
    events[0].workflow_execution_started_event_attributes.workflow_type.name = "Pay"
    events[0].workflow_execution_started_event_attributes.original_execution_run_id = "run-1"
    sched = events[1].activity_task_scheduled_event_attributes
    sched.activity_type.name = "charge_payment"
    sched.activity_id = "1"
    events[2].activity_task_started_event_attributes.scheduled_event_id = 2
    events[2].activity_task_started_event_attributes.attempt = 1
    fa = events[3].activity_task_failed_event_attributes
    fa.scheduled_event_id = 2
    fa.started_event_id = 3
    fa.failure.CopyFrom(failure)
    events[4].workflow_execution_failed_event_attributes.failure.CopyFrom(failure)
    return HistoryFile(path=None, workflow_id="wf-1", history=History(events=events))


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (NESTED, {"message": "boom", "type": "ValueError", "non_retryable": True}),
        (
            ACTIVITY,
            {
                "message": "Activity task failed",
                "type": "activity_failure_info",
                "non_retryable": None,
            },
        ),
        (Failure(), {"message": "", "type": None, "non_retryable": None}),
        (UNTYPED, {"message": "", "type": "", "non_retryable": False}),
    ],
)
def test_strict_comparer_holds_the_workflow_failure_to_its_top_level(
    failure: Failure, expected: dict[str, Any]
) -> None:
    ev = _failed_workflow(failure).events[4]
    other = Failure(message="something else")
    cmd = CapturedCommand(
        wf_commands.WorkflowCommand(
            fail_workflow_execution=wf_commands.FailWorkflowExecution(failure=other)
        ),
        activation=1,
    )
    ctx = _Ctx(out=[], workflow_task_queue="q")
    assert _compare_fail(ctx, ev, cmd)
    [d] = ctx.out
    assert d.recorded == expected
    assert d.current == {"message": "something else", "type": None, "non_retryable": None}
    # The same failure on both sides is no drift, whatever its causes say.
    same = CapturedCommand(
        wf_commands.WorkflowCommand(
            fail_workflow_execution=wf_commands.FailWorkflowExecution(failure=failure)
        ),
        activation=1,
    )
    ctx = _Ctx(out=[], workflow_task_queue="q")
    _compare_fail(ctx, ev, same)
    assert ctx.out == []


def test_diff_compares_the_failure_trees() -> None:
    diff = diff_histories(_failed_workflow(NESTED), _failed_workflow(ACTIVITY))
    [d] = [d for d in diff.differences if d.step == "completion" and d.field == "failure"]
    assert d.a == {
        "message": "boom",
        "type": "ValueError",
        "non_retryable": True,
        "cause": {
            "message": "inner",
            "type": "KeyError",
            "cause": {"message": "", "type": "timeout_failure_info"},
        },
    }
    assert d.b == {
        "message": "Activity task failed",
        "type": "activity_failure_info",
        "cause": {"message": "card declined", "type": "CardDeclined"},
    }
    deep = diff_histories(_failed_workflow(_chain(6, timeout_at=5)), _failed_workflow(Failure()))
    [d] = [d for d in deep.differences if d.step == "completion" and d.field == "failure"]
    assert d.a == {
        "message": "level 0",
        "type": "E0",
        "cause": {
            "message": "level 1",
            "type": "E1",
            "cause": {
                "message": "level 2",
                "type": "E2",
                "cause": {
                    "message": "level 3",
                    "type": "E3",
                    "cause": {
                        "message": "level 4",
                        "type": "E4",
                        "cause": {"message": "timeout 5", "type": "timeout_failure_info"},
                    },
                },
            },
        },
    }
    assert d.b == {"message": "", "type": None}


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (NESTED, "ValueError: boom ← KeyError: inner"),
        (ACTIVITY, "Activity task failed ← CardDeclined: card declined"),
        (Failure(), "(no message)"),
        (UNTYPED, "cancelled"),
        (LONG, "Big: a very long " + "x" * 102 + "…"),
        (_chain(6, timeout_at=5), "E0: level 0 ← E1: level 1 ← E2: level 2 ← E3: level 3"),
    ],
)
def test_timeline_shows_the_first_four_levels_clipped(failure: Failure, text: str) -> None:
    events = build_timeline(_failed_workflow(failure))
    assert events[3].summary == f"charge_payment failed: {text}"
    assert events[4].summary == text
    assert len(text) <= 120


@pytest.mark.parametrize(
    ("failure", "detail", "state"),
    [
        (
            NESTED,
            "failed after a timed-out attempt at event 4, attempt 1: ValueError: boom",
            "maybe",
        ),
        (ACTIVITY, "failed at event 4, attempt 1: Activity task failed", "not_applied"),
        (Failure(), "failed at event 4, attempt 1: (no message)", "not_applied"),
        (UNTYPED, "failed at event 4, attempt 1: (no message)", "not_applied"),
        (
            _chain(25, timeout_at=19),
            "failed after a timed-out attempt at event 4, attempt 1: E0: level 0",
            "maybe",
        ),
        (_chain(25, timeout_at=20), "failed at event 4, attempt 1: E0: level 0", "not_applied"),
    ],
)
def test_saga_verifier_names_the_failure_and_sees_timeouts_within_20_levels(
    failure: Failure, detail: str, state: str
) -> None:
    report = verify_saga(
        _failed_workflow(failure).history,
        spec=SagaSpec([("charge_payment", "refund_payment")]),
        raise_on_failure=False,
    )
    assert report.steps[0].detail == detail
    assert report.steps[0].state == state


def test_saga_verifier_reads_the_timeout_type() -> None:
    events = [
        _event(1, ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(2, ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(3, ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT),
        _event(4, ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED),
    ]
    events[1].activity_task_scheduled_event_attributes.activity_type.name = "charge_payment"
    to = events[2].activity_task_timed_out_event_attributes
    to.scheduled_event_id = 2
    spec = SagaSpec([("charge_payment", "refund_payment")])
    to.failure.CopyFrom(_timeout(kind=TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START))
    assert (
        verify_saga(History(events=events), spec=spec, raise_on_failure=False).steps[0].state
        == "not_applied"
    )
    to.failure.CopyFrom(_timeout(kind=TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE))
    assert (
        verify_saga(History(events=events), spec=spec, raise_on_failure=False).steps[0].state
        == "maybe"
    )


def _retried(failure: Failure, retry_state: int = 0) -> History:
    """The failed activity of :func:`_failed_workflow`, scheduled again with the same input."""
    events = list(_failed_workflow(failure).events[:4])
    events[3].activity_task_failed_event_attributes.retry_state = retry_state  # type: ignore[assignment]
    again = _event(5, ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    again.activity_task_scheduled_event_attributes.activity_type.name = "charge_payment"
    again.activity_task_scheduled_event_attributes.activity_id = "2"
    return History(events=[*events, again])


@pytest.mark.parametrize(
    ("failure", "retry_state", "err_type"),
    [
        (NESTED, 0, "ValueError"),  # the top level is the application failure
        (ACTIVITY, 0, None),  # CardDeclined is retryable
        (
            Failure(
                message="wrapper",
                activity_failure_info=ActivityFailureInfo(),
                cause=_app("no", "Fatal", non_retryable=True),
            ),
            0,
            "Fatal",
        ),
        (Failure(message="wrapper", cause=_timeout()), 0, None),
        (
            Failure(message="wrapper", cause=_timeout()),
            RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
            "error",
        ),
        (UNTYPED, RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, "error"),
    ],
)
def test_retry_policy_names_the_first_application_error(
    failure: Failure, retry_state: int, err_type: str | None
) -> None:
    verdict = check_retry_policy([("wf-1", _retried(failure, retry_state))], [])
    if err_type is None:
        assert verdict.ok
        return
    assert verdict.message == (
        f"non-retryable error {err_type} of activity `charge_payment` was retried by the "
        "workflow: scheduled again with the same input at event 5 after the failure at event 4"
    )
