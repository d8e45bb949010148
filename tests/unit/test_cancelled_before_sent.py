"""Commands started and cancelled in one activation never reach the server (the SDK core
drops both): strict replay must not expect them in the history.

The history: an approval agent whose decision arrived while its plan activity still ran, so
``wait_condition(decided, timeout=1 day)`` found the condition true and started and cancelled
its timer in one activation. The stock replayer passes it; strict replay once reported "the
code now issues timer of 1d where the history recorded activity execute_plan_step".
"""

from __future__ import annotations

from pathlib import Path

from temporalio.bridge.proto.workflow_commands import workflow_commands_pb2 as wc

from replaykit.check import CheckOptions, check_histories
from replaykit.check._capture import _cancelled_before_sent

HISTORY = (
    Path(__file__).resolve().parents[1] / "data" / "strict" / "approval_decided_before_plan.json"
)


def test_a_timer_started_and_cancelled_in_one_activation_is_not_a_divergence() -> None:
    report = check_histories(
        [HISTORY],
        workflows=["reference_agents.approval"],
        options=CheckOptions(),
        jobs=0,
        workflow_id="a1",
    )
    (result,) = report.results
    assert result.status == "clean", result.describe()


def _cmd(**variant: object) -> wc.WorkflowCommand:
    return wc.WorkflowCommand(**variant)  # type: ignore[arg-type]


def test_only_pairs_within_one_completion_are_dropped() -> None:
    commands = [
        _cmd(start_timer=wc.StartTimer(seq=1)),
        _cmd(schedule_activity=wc.ScheduleActivity(seq=1, activity_type="a")),
        _cmd(cancel_timer=wc.CancelTimer(seq=1)),
        _cmd(request_cancel_activity=wc.RequestCancelActivity(seq=7)),  # sent earlier: kept
        _cmd(start_child_workflow_execution=wc.StartChildWorkflowExecution(seq=2)),
        _cmd(cancel_child_workflow_execution=wc.CancelChildWorkflowExecution(child_workflow_seq=2)),
        _cmd(start_timer=wc.StartTimer(seq=3)),
    ]
    assert _cancelled_before_sent(commands) == {0, 2, 4, 5}
