"""The validator checks every reference between events and the workflow-task order.

One hand-built history uses every kind of step (activity, timer, child, external signal and
cancel, marker, upsert, update); each test breaks one reference of it and expects a
:class:`HistoryError` naming the event, the field and the reference, from the one loader
every command uses. The stock replayer's behaviour on such histories (a panic that never
returns, or a nondeterminism error blaming the code) is in ``_references``' docstring.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from replaykit import HistoryError, history_from_json, load_history


def _event(event_id: int, kind: str, **attrs: Any) -> dict[str, Any]:
    words = kind.lower().split("_")
    key = words[0] + "".join(w.capitalize() for w in words[1:]) + "EventAttributes"
    return {
        "eventId": str(event_id),
        "eventTime": "2026-01-01T00:00:00Z",
        "eventType": f"EVENT_TYPE_{kind}",
        key: {k: str(v) if isinstance(v, int) else v for k, v in attrs.items()},
    }


def _task(first: int) -> list[dict[str, Any]]:
    """A workflow task: scheduled, started, completed at ``first``, ``first+1``, ``first+2``."""
    return [
        _event(first, "WORKFLOW_TASK_SCHEDULED", taskQueue={"name": "q"}),
        _event(first + 1, "WORKFLOW_TASK_STARTED", scheduledEventId=first),
        _event(
            first + 2, "WORKFLOW_TASK_COMPLETED", scheduledEventId=first, startedEventId=first + 1
        ),
    ]


def _valid() -> list[dict[str, Any]]:
    ev = [
        _event(
            1,
            "WORKFLOW_EXECUTION_STARTED",
            workflowType={"name": "Wf"},
            taskQueue={"name": "q"},
        ),
        *_task(2),  # 2, 3, 4
        _event(
            5,
            "ACTIVITY_TASK_SCHEDULED",
            activityId="1",
            activityType={"name": "act"},
            taskQueue={"name": "q"},
            workflowTaskCompletedEventId=4,
        ),
        _event(6, "TIMER_STARTED", timerId="2", workflowTaskCompletedEventId=4),
        _event(7, "TIMER_STARTED", timerId="3", workflowTaskCompletedEventId=4),
        _event(
            8,
            "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
            workflowId="c",
            workflowType={"name": "Child"},
            workflowTaskCompletedEventId=4,
        ),
        _event(
            9,
            "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
            signalName="s",
            workflowExecution={"workflowId": "other"},
            workflowTaskCompletedEventId=4,
        ),
        _event(
            10,
            "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
            workflowExecution={"workflowId": "other"},
            workflowTaskCompletedEventId=4,
        ),
        _event(11, "MARKER_RECORDED", markerName="m", workflowTaskCompletedEventId=4),
        _event(12, "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", workflowTaskCompletedEventId=4),
        _event(
            13,
            "ACTIVITY_TASK_SCHEDULED",
            activityId="4",
            activityType={"name": "act"},
            taskQueue={"name": "q"},
            workflowTaskCompletedEventId=4,
        ),
        _event(14, "ACTIVITY_TASK_STARTED", scheduledEventId=5),
        _event(15, "ACTIVITY_TASK_COMPLETED", scheduledEventId=5, startedEventId=14),
        _event(16, "TIMER_FIRED", timerId="2", startedEventId=6),
        _event(
            17,
            "CHILD_WORKFLOW_EXECUTION_STARTED",
            initiatedEventId=8,
            workflowExecution={"workflowId": "c", "runId": "r"},
        ),
        _event(18, "CHILD_WORKFLOW_EXECUTION_COMPLETED", initiatedEventId=8, startedEventId=17),
        _event(19, "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED", initiatedEventId=9),
        _event(20, "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED", initiatedEventId=10),
        *_task(21),  # 21, 22, 23
        _event(
            24, "TIMER_CANCELED", timerId="3", startedEventId=7, workflowTaskCompletedEventId=23
        ),
        _event(
            25,
            "ACTIVITY_TASK_CANCEL_REQUESTED",
            scheduledEventId=13,
            workflowTaskCompletedEventId=23,
        ),
        _event(
            26,
            "ACTIVITY_TASK_CANCELED",
            scheduledEventId=13,
            latestCancelRequestedEventId=25,
        ),
        _event(27, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED", protocolInstanceId="u"),
        _event(28, "WORKFLOW_EXECUTION_UPDATE_COMPLETED", acceptedEventId=27),
        *_task(29),  # 29, 30, 31
        _event(32, "WORKFLOW_EXECUTION_COMPLETED", workflowTaskCompletedEventId=31),
    ]
    for i, e in enumerate(ev, 1):
        assert int(e["eventId"]) == i
    return ev


def _load(events: list[dict[str, Any]]) -> None:
    history_from_json({"events": events}, workflow_id="wf")


def _attrs(event: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in event.items() if k.endswith("EventAttributes"))


def _broken(event_id: int, field: str, value: int) -> list[dict[str, Any]]:
    events = copy.deepcopy(_valid())
    attrs = _attrs(events[event_id - 1])
    if value:
        attrs[field] = str(value)
    else:
        attrs.pop(field, None)
    return events


def _rejects(events: list[dict[str, Any]], *fragments: str) -> str:
    with pytest.raises(HistoryError) as info:
        _load(events)
    reason = info.value.reason
    assert reason.startswith("malformed history"), reason
    for fragment in fragments:
        assert fragment in reason, reason
    return reason


def test_the_hand_built_history_is_valid() -> None:
    _load(_valid())


# (event id, field, broken value, fragments the message must hold): one per reference kind.
CASES = [
    # workflow tasks
    (
        3,
        "scheduledEventId",
        1,
        ["event 3 (WorkflowTaskStarted)", "scheduledEventId 1", "WorkflowTaskScheduled"],
    ),
    (4, "scheduledEventId", 3, ["event 4 (WorkflowTaskCompleted)", "scheduledEventId 3"]),
    (
        4,
        "startedEventId",
        2,
        ["event 4 (WorkflowTaskCompleted)", "startedEventId 2", "WorkflowTaskStarted"],
    ),
    (
        4,
        "startedEventId",
        40,
        ["event 4 (WorkflowTaskCompleted)", "startedEventId 40", "past the end"],
    ),
    # activities
    (
        14,
        "scheduledEventId",
        6,
        ["event 14 (ActivityTaskStarted)", "scheduledEventId 6", "a TimerStarted"],
    ),
    (15, "scheduledEventId", 0, ["event 15 (ActivityTaskCompleted)", "has no scheduledEventId"]),
    (
        15,
        "scheduledEventId",
        13,
        ["event 15 (ActivityTaskCompleted)", "startedEventId 14", "another step"],
    ),
    (
        15,
        "startedEventId",
        5,
        ["event 15 (ActivityTaskCompleted)", "startedEventId 5", "ActivityTaskStarted"],
    ),
    (15, "startedEventId", 0, ["event 15 (ActivityTaskCompleted)", "has no startedEventId"]),
    (
        25,
        "scheduledEventId",
        25,
        ["event 25 (ActivityTaskCancelRequested)", "scheduledEventId 25", "itself"],
    ),
    (
        26,
        "latestCancelRequestedEventId",
        24,
        ["event 26 (ActivityTaskCanceled)", "latestCancelRequestedEventId 24"],
    ),
    # timers
    (16, "startedEventId", 99, ["event 16 (TimerFired)", "startedEventId 99", "past the end"]),
    (
        16,
        "startedEventId",
        5,
        ["event 16 (TimerFired)", "startedEventId 5", "an ActivityTaskScheduled"],
    ),
    (24, "startedEventId", 30, ["event 24 (TimerCanceled)", "startedEventId 30", "a later event"]),
    (
        24,
        "startedEventId",
        6,
        ["event 24 (TimerCanceled)", "startedEventId 6", "event 16 already names it"],
    ),
    # children
    (17, "initiatedEventId", 9, ["event 17 (ChildWorkflowExecutionStarted)", "initiatedEventId 9"]),
    (
        18,
        "initiatedEventId",
        0,
        ["event 18 (ChildWorkflowExecutionCompleted)", "has no initiatedEventId"],
    ),
    (18, "startedEventId", 16, ["event 18 (ChildWorkflowExecutionCompleted)", "startedEventId 16"]),
    # external signal and cancel
    (
        19,
        "initiatedEventId",
        10,
        ["event 19 (ExternalWorkflowExecutionSignaled)", "initiatedEventId 10"],
    ),
    (
        20,
        "initiatedEventId",
        9,
        ["event 20 (ExternalWorkflowExecutionCancelRequested)", "initiatedEventId 9"],
    ),
    # command events name the workflow task that produced them
    (
        5,
        "workflowTaskCompletedEventId",
        2,
        ["event 5 (ActivityTaskScheduled)", "workflowTaskCompletedEventId 2"],
    ),
    (
        6,
        "workflowTaskCompletedEventId",
        20,
        ["event 6 (TimerStarted)", "workflowTaskCompletedEventId 20"],
    ),
    (8, "workflowTaskCompletedEventId", 1, ["event 8 (StartChildWorkflowExecutionInitiated)"]),
    (
        11,
        "workflowTaskCompletedEventId",
        5,
        ["event 11 (MarkerRecorded)", "workflowTaskCompletedEventId 5"],
    ),
    (12, "workflowTaskCompletedEventId", 99, ["event 12 (UpsertWorkflowSearchAttributes)"]),
    (32, "workflowTaskCompletedEventId", 28, ["event 32 (WorkflowExecutionCompleted)"]),
    # updates
    (
        28,
        "acceptedEventId",
        26,
        ["event 28 (WorkflowExecutionUpdateCompleted)", "acceptedEventId 26"],
    ),
]


@pytest.mark.parametrize(("event_id", "field", "value", "fragments"), CASES)
def test_each_broken_reference_is_named(
    event_id: int, field: str, value: int, fragments: list[str]
) -> None:
    _rejects(_broken(event_id, field, value), *fragments)


def _renumber(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, e in enumerate(events, 1):
        e["eventId"] = str(i)
    return events


def test_an_event_after_workflow_task_started_must_close_it() -> None:
    events = _valid()
    del events[3]  # WorkflowTaskCompleted 4: the activity follows WorkflowTaskStarted 3
    _rejects(
        _renumber(events[:6]), "event 4 (ActivityTaskScheduled) follows WorkflowTaskStarted event 3"
    )


def test_a_second_workflow_task_while_one_is_open() -> None:
    events = _valid()[:4]
    events.insert(2, copy.deepcopy(events[1]))  # a duplicated WorkflowTaskScheduled
    _rejects(
        _renumber(events), "event 3 (WorkflowTaskScheduled)", "scheduled at event 2 is still open"
    )


def test_a_workflow_task_completed_without_started() -> None:
    events = _valid()[:4]
    del events[2]
    _attrs(events[2]).pop("startedEventId")
    _rejects(
        _renumber(events), "event 3 (WorkflowTaskCompleted)", "has no WorkflowTaskStarted event"
    )


def test_a_started_task_names_the_open_one() -> None:
    events = _valid()[:12] + _task(13)
    _attrs(events[13])["scheduledEventId"] = "2"  # the first task's, long closed
    _rejects(events, "event 14 (WorkflowTaskStarted)", "scheduledEventId 2")


@pytest.mark.parametrize("end", [2, 3, 4, 5, 22, 31, 32])
def test_a_partial_history_may_end_after_any_event(end: int) -> None:
    # What the SDK's Replayer accepts: the last task scheduled, started, or completed.
    events = _valid()[:end]
    for e in events:  # references to events cut off are not references that are wrong here
        assert all(
            int(v) < int(e["eventId"])
            for k, v in _attrs(e).items()
            if k.endswith("EventId") and isinstance(v, str)
        )
    _load(events)


@pytest.mark.parametrize("close", ["WORKFLOW_EXECUTION_TERMINATED", "WORKFLOW_EXECUTION_TIMED_OUT"])
def test_a_started_task_may_be_cut_short_by_the_execution_closing(close: str) -> None:
    _load([*_valid()[:3], _event(4, close)])


def test_a_schedule_to_start_timeout_closes_the_task_unstarted() -> None:
    events = [
        *_valid()[:2],
        _event(
            3,
            "WORKFLOW_TASK_TIMED_OUT",
            scheduledEventId=2,
            timeoutType="TIMEOUT_TYPE_SCHEDULE_TO_START",
        ),
        *_task(4),
    ]
    _load(events)


def test_time_skipping_test_server_histories_are_accepted() -> None:
    # Its quirks, kept by the fixtures recorded on it: no startedEventId on
    # WorkflowTaskCompleted, commands naming the task's started event, and an activity's
    # close naming the event before its (lazily written) ActivityTaskStarted.
    root = Path(__file__).resolve().parent.parent.parent
    hf = load_history(root / "tests/data/core/histories/parent_flow/parent-1.json")
    assert len(hf.events) > 20
    events = _valid()
    _attrs(events[3]).pop("startedEventId")
    _attrs(events[4])["workflowTaskCompletedEventId"] = "3"
    _load(events)


def test_check_reports_a_malformed_history_as_an_input_error(tmp_path: Path) -> None:
    from replaykit import CheckOptions, check_histories

    events = _valid()
    _attrs(events[15])["startedEventId"] = "99"
    (tmp_path / "bad.json").write_text(json.dumps({"events": events}))
    report = check_histories(
        [tmp_path], workflows=["reference_agents"], jobs=0, options=CheckOptions(cache=False)
    )
    (result,) = report.results
    assert result.status == "error"
    assert result.error is not None
    assert "event 16 (TimerFired)" in result.error and "startedEventId 99" in result.error
    assert "workflow.patched" not in result.describe()


def test_a_started_event_without_task_queue_is_rejected() -> None:
    # The stock replayer waits forever on it.
    events = _valid()
    _attrs(events[0]).pop("taskQueue")
    with pytest.raises(HistoryError, match="no task queue"):
        _load(events)


def test_a_history_without_a_workflow_task_is_not_replayed(tmp_path: Path) -> None:
    # A start delay not yet over: loads (show, diff read it) but the stock replayer would
    # wait forever for a workflow task, so check reports it instead of replaying.
    from replaykit import CheckOptions, check_histories

    (tmp_path / "wf.json").write_text(json.dumps({"events": _valid()[:1]}))
    load_history(tmp_path / "wf.json")
    report = check_histories(
        [tmp_path],
        workflows=["reference_agents"],
        jobs=0,
        options=CheckOptions(cache=False, timeout=600),
    )
    (result,) = report.results
    assert result.status == "error"
    assert result.error is not None and "nothing to replay" in result.error


@pytest.mark.parametrize(
    ("event_id", "field", "named"),
    [
        (5, "activityType", "event 5 (ActivityTaskScheduled) has no activityType.name"),
        (5, "activityId", "event 5 (ActivityTaskScheduled) has no activityId"),
        (6, "timerId", "event 6 (TimerStarted) has no timerId"),
        (8, "workflowId", "event 8 (StartChildWorkflowExecutionInitiated) has no workflowId"),
        (11, "markerName", "event 11 (MarkerRecorded) has no markerName"),
        (9, "signalName", "event 9 (SignalExternalWorkflowExecutionInitiated) has no signalName"),
    ],
)
def test_a_command_event_without_what_a_server_writes(
    event_id: int, field: str, named: str
) -> None:
    # Else the code would be blamed (a changed activity type, a new timer id).
    events = _valid()
    _attrs(events[event_id - 1]).pop(field)
    _rejects(events, named)
