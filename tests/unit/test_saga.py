"""Saga verifier: rules on hand-built event sequences, recorded histories, and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import History, HistoryEvent

from replaykit import ConfigError
from replaykit.cli import main
from replaykit.history import load_history
from replaykit.sagas import SagaError, SagaReport, SagaSpec, SagaStep, load_saga_spec, verify_saga

DATA = Path(__file__).resolve().parents[1] / "data" / "saga"
STEPS = [
    ("reserve_inventory", "release_inventory"),
    ("charge_payment", "refund_payment"),
    ("dispatch_shipment", "cancel_shipment"),
]
SPEC = SagaSpec(STEPS)
ET = EventType


class Builder:
    """Builds a history event by event (only what the verifier reads)."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        started = self._add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        started.workflow_execution_started_event_attributes.workflow_type.name = "Payment"

    def _add(self, event_type: int) -> HistoryEvent:
        ev = HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)  # type: ignore[arg-type]
        self.events.append(ev)
        return ev

    def schedule(self, name: str) -> int:
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        ev.activity_task_scheduled_event_attributes.activity_type.name = name
        return ev.event_id

    def _start(self, sched: int, attempt: int, last_failure: Failure | None = None) -> int:
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        attrs = ev.activity_task_started_event_attributes
        attrs.scheduled_event_id = sched
        attrs.attempt = attempt
        if last_failure is not None:
            attrs.last_failure.CopyFrom(last_failure)
        return ev.event_id

    def complete(self, sched: int, attempt: int = 1) -> int:
        started = self._start(sched, attempt)
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        ev.activity_task_completed_event_attributes.scheduled_event_id = sched
        ev.activity_task_completed_event_attributes.started_event_id = started
        return ev.event_id

    def fail(
        self, sched: int, message: str = "boom", attempt: int = 1, last_timed_out: bool = False
    ) -> int:
        last = (
            Failure(message="timed out", timeout_failure_info=TimeoutFailureInfo())
            if last_timed_out
            else None
        )
        started = self._start(sched, attempt, last)
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_FAILED)
        attrs = ev.activity_task_failed_event_attributes
        attrs.scheduled_event_id = sched
        attrs.started_event_id = started
        attrs.failure.CopyFrom(
            Failure(message=message, application_failure_info=ApplicationFailureInfo(type="Err"))
        )
        return ev.event_id

    def time_out(self, sched: int, kind: int = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) -> int:
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
        attrs = ev.activity_task_timed_out_event_attributes
        attrs.scheduled_event_id = sched
        attrs.failure.CopyFrom(
            Failure(message="timeout", timeout_failure_info=TimeoutFailureInfo(timeout_type=kind))  # type: ignore[arg-type]
        )
        return ev.event_id

    def cancel_activity(self, sched: int, *, started: bool) -> int:
        req = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
        req.activity_task_cancel_requested_event_attributes.scheduled_event_id = sched
        started_id = self._start(sched, 1) if started else 0
        ev = self._add(ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
        ev.activity_task_canceled_event_attributes.scheduled_event_id = sched
        ev.activity_task_canceled_event_attributes.started_event_id = started_id
        return ev.event_id

    def cancel_workflow(self) -> int:
        return self._add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED).event_id

    def run(self, name: str) -> int:
        """Schedule and complete; returns the scheduled event id."""
        sched = self.schedule(name)
        self.complete(sched)
        return sched

    def close(self, how: str = "completed") -> History:
        kinds = {
            "completed": ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
            "failed": ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            "canceled": ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        }
        self._add(kinds[how])
        return History(events=self.events)

    def history(self) -> History:
        return History(events=self.events)


def check(history: History) -> SagaReport:
    return verify_saga(history, spec=STEPS, raise_on_failure=False)


def kinds(report: SagaReport) -> list[str]:
    return [v.kind for v in report.violations]


def rolled_back_after_dispatch_failure(order: list[str]) -> History:
    b = Builder()
    b.run("reserve_inventory")
    b.run("charge_payment")
    b.fail(b.schedule("dispatch_shipment"))
    for name in order:
        b.run(name)
    return b.close()


def test_correct_rollback_passes() -> None:
    report = check(rolled_back_after_dispatch_failure(["refund_payment", "release_inventory"]))
    assert report.ok, report.format()
    assert (
        report.rolled_back and report.trigger == "activity `dispatch_shipment` failed at event 10"
    )
    assert [s.state for s in report.steps] == ["applied", "applied", "not_applied"]
    assert "saga rolled back 2 steps after activity `dispatch_shipment` failed" in report.summary()


def test_success_without_compensation_passes() -> None:
    b = Builder()
    for name in ("reserve_inventory", "charge_payment", "dispatch_shipment"):
        b.run(name)
    report = check(b.close())
    assert report.ok and not report.rolled_back


def test_forward_order_is_a_violation() -> None:
    report = check(rolled_back_after_dispatch_failure(["release_inventory", "refund_payment"]))
    assert kinds(report) == ["order"]
    assert report.violations[0].message == (
        "compensations not in reverse order: `release_inventory` (event 11) ran before "
        "`refund_payment` (event 14), but `reserve_inventory` (event 2) ran before "
        "`charge_payment` (event 5); undo `charge_payment` first"
    )
    assert report.violations[0].event_ids == (11, 14)


def test_missing_compensation_is_a_violation() -> None:
    report = check(rolled_back_after_dispatch_failure(["release_inventory"]))
    assert kinds(report) == ["missing-compensation"]
    assert report.violations[0].message == (
        "step `charge_payment` applied (completed at event 7) but was never compensated: "
        "`refund_payment` did not run after activity `dispatch_shipment` failed at event 10"
    )


def test_failed_workflow_without_any_compensation_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"))
    report = check(b.close("failed"))
    assert kinds(report) == ["missing-compensation"]
    assert report.violations[0].steps == ("reserve_inventory",)


def test_compensating_a_step_that_failed_with_an_error_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"), "declined", attempt=3)
    b.run("refund_payment")
    b.run("release_inventory")
    report = check(b.close())
    assert kinds(report) == ["unneeded-compensation"]
    assert report.violations[0].message == (
        "compensation `refund_payment` (event 8) for step `charge_payment` that never applied: "
        "failed at event 7, attempt 3: Err: declined"
    )


def test_compensating_a_step_that_never_ran_is_a_violation() -> None:
    b = Builder()
    b.fail(b.schedule("reserve_inventory"))
    b.run("refund_payment")
    report = check(b.close())
    assert kinds(report) == ["unneeded-compensation"]
    assert "for step `charge_payment` that never ran" in report.violations[0].message


def test_a_timed_out_step_may_have_applied_and_must_be_compensated() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.time_out(b.schedule("charge_payment"))
    b.run("release_inventory")
    report = check(b.close())
    assert report.steps[1].state == "maybe"
    assert kinds(report) == ["missing-compensation"]
    assert report.violations[0].message.startswith(
        "step `charge_payment` may have applied (timed out at event 6)"
    )
    # Compensating it (newest first) is correct.
    b = Builder()
    b.run("reserve_inventory")
    b.time_out(b.schedule("charge_payment"))
    b.run("refund_payment")
    b.run("release_inventory")
    assert check(b.close()).ok


def test_a_schedule_to_start_timeout_never_applied() -> None:
    b = Builder()
    b.time_out(b.schedule("reserve_inventory"), TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)
    report = check(b.close("failed"))
    assert report.ok and report.steps[0].state == "not_applied"


def test_a_failure_after_a_timed_out_attempt_may_have_applied() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"), attempt=2, last_timed_out=True)
    b.run("release_inventory")
    report = check(b.close())
    assert report.steps[1].state == "maybe"
    assert kinds(report) == ["missing-compensation"]


def test_cancelled_activity_state_depends_on_whether_it_started() -> None:
    for started, state in ((True, "maybe"), (False, "not_applied")):
        b = Builder()
        b.run("reserve_inventory")
        b.cancel_workflow()
        b.cancel_activity(b.schedule("charge_payment"), started=started)
        if started:
            b.run("refund_payment")
        b.run("release_inventory")
        report = check(b.close("canceled"))
        assert report.steps[1].state == state
        assert report.ok, report.format()


def test_cancellation_without_compensation_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    cancel = b.cancel_workflow()
    report = check(b.close("canceled"))
    assert kinds(report) == ["missing-compensation"]
    assert report.violations[0].message.endswith(
        f"`release_inventory` did not run after the cancel requested at event {cancel}"
    )
    assert cancel in report.violations[0].event_ids


def test_compensation_before_any_failure_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.run("release_inventory")
    report = check(b.close())
    assert kinds(report) == ["early-compensation"]
    assert report.violations[0].message == (
        "compensation `release_inventory` (event 5) started before any failure or "
        "cancellation (the history has none)"
    )


def test_failed_or_cancelled_compensation_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"))
    b.fail(b.schedule("release_inventory"), "db down", attempt=5)
    report = check(b.close("failed"))
    assert kinds(report) == ["compensation-failed"]
    assert report.violations[0].message == (
        "compensation `release_inventory` (event 8) failed at event 10, attempt 5: Err: db down"
    )
    b = Builder()
    b.run("reserve_inventory")
    b.cancel_workflow()
    b.cancel_activity(b.schedule("release_inventory"), started=True)
    report = check(b.close("canceled"))
    assert kinds(report) == ["compensation-failed"]
    assert "must be shielded from the workflow's cancellation" in report.violations[0].message


def test_overlapping_compensations_and_duplicates_are_violations() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.run("charge_payment")
    b.fail(b.schedule("dispatch_shipment"))
    refund = b.schedule("refund_payment")
    release = b.schedule("release_inventory")  # before the refund finished
    b.complete(refund)
    b.complete(release)
    b.run("release_inventory")
    report = check(b.close())
    assert sorted(kinds(report)) == ["duplicate-compensation", "order"]
    by_kind = {v.kind: v.message for v in report.violations}
    assert by_kind["order"] == (
        f"compensations overlap: `release_inventory` (event {release}) started before "
        f"`refund_payment` finished (event {release + 2})"
    )
    assert by_kind["duplicate-compensation"].startswith(
        "step `reserve_inventory` compensated 2 times: `release_inventory` scheduled at events"
    )


def test_forward_step_after_compensation_began_is_a_violation() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"))
    b.run("release_inventory")
    dispatch = b.run("dispatch_shipment")
    report = check(b.close())
    assert "forward-after-compensation" in kinds(report)
    message = next(v for v in report.violations if v.kind == "forward-after-compensation").message
    assert message == (
        f"forward step `dispatch_shipment` (event {dispatch}) started after compensation began "
        "(`release_inventory`, event 8)"
    )


def test_open_history_does_not_demand_compensations_yet() -> None:
    b = Builder()
    b.run("reserve_inventory")
    b.fail(b.schedule("charge_payment"))
    report = check(b.history())
    assert report.ok and report.closed_as == "open"


def test_spec_accepts_activity_functions_and_rejects_bad_input() -> None:
    from reference_agents.payment import charge_payment, refund_payment

    spec = SagaSpec([(charge_payment, refund_payment)])
    assert spec.steps == (SagaStep("charge_payment", "refund_payment"),)
    with pytest.raises(ConfigError, match="appears twice"):
        SagaSpec([("a", "b"), ("a", "c")])
    with pytest.raises(ConfigError, match="FORWARD:COMPENSATION"):
        SagaStep.parse("only_forward")
    with pytest.raises(ConfigError, match="exactly one"):
        verify_saga(History(), steps=STEPS, spec=SPEC)
    with pytest.raises(ConfigError, match="not an @activity.defn"):
        SagaStep.of(print, "x")


def test_load_saga_spec_from_module_and_class() -> None:
    from reference_agents.payment import SAGA

    assert load_saga_spec("reference_agents.payment") is SAGA
    assert load_saga_spec("reference_agents.payment:SAGA") is SAGA
    assert load_saga_spec("reference_agents.payment:PaymentAgentWorkflow") is SAGA
    with pytest.raises(ConfigError, match="no attribute 'NOPE'"):
        load_saga_spec("reference_agents.payment:NOPE")
    with pytest.raises(ConfigError, match="cannot import"):
        load_saga_spec("no_such_module_xyz:SAGA")


# -- recorded histories (tests/data/saga, made by tests/integration/test_payment_agent.py) ----


@pytest.mark.parametrize("name", ["correct_rollback", "correct_cancel"])
def test_recorded_correct_histories_pass(name: str) -> None:
    hist = load_history(DATA / f"{name}.json")
    report = verify_saga(hist, spec=SPEC)
    assert report.rolled_back and report.source == str(DATA / f"{name}.json")


@pytest.mark.parametrize(
    ("name", "kind", "fragment"),
    [
        ("forward_order", "order", "`release_inventory` (event"),
        ("missing_compensation", "missing-compensation", "`refund_payment` did not run"),
        ("compensates_never_applied", "unneeded-compensation", "step `charge_payment` that never"),
        ("unshielded_cancel", "missing-compensation", "after the cancel requested at event"),
    ],
)
def test_recorded_broken_histories_fail(name: str, kind: str, fragment: str) -> None:
    with pytest.raises(SagaError) as caught:
        verify_saga(DATA / f"{name}.json", spec=SPEC)
    report = caught.value.report
    assert {v.kind for v in report.violations} == {kind}
    assert fragment in report.violations[0].message
    assert all(v.event_ids for v in report.violations)


# -- CLI -------------------------------------------------------------------------------------

STEP_ARGS = [arg for fwd, comp in STEPS for arg in ("--step", f"{fwd}:{comp}")]


def saga_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["saga", "verify", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_cli_passes_correct_histories() -> None:
    code, out = saga_cli(
        str(DATA / "correct_rollback.json"), str(DATA / "correct_cancel.json"), *STEP_ARGS
    )
    assert code == 0, out
    assert out.count("PASS ") == 2 and "2 histories: 2 ok" in out


def test_cli_reports_violations_with_exit_1() -> None:
    code, out = saga_cli(str(DATA), "--spec", "reference_agents.payment:SAGA")
    assert code == 1, out
    assert "FAIL " + str(DATA / "forward_order.json") in out
    assert "compensations not in reverse order" in out
    assert "6 histories: 2 ok, 4 with violations, 0 unreadable" in out


def test_cli_names_unreadable_files_and_exits_2(tmp_path: Path) -> None:
    shutil.copy(DATA / "correct_rollback.json", tmp_path / "good.json")
    (tmp_path / "broken.json").write_text("{not json")
    code, out = saga_cli(str(tmp_path), str(tmp_path / "missing.json"), *STEP_ARGS)
    assert code == 2, out
    assert "Traceback" not in out
    assert f"ERROR {tmp_path / 'broken.json'}: " in out
    assert f"ERROR {tmp_path / 'missing.json'}: no such file or folder" in out
    assert "PASS " + str(tmp_path / "good.json") in out


def test_cli_usage_errors_exit_2() -> None:
    code, out = saga_cli(str(DATA / "correct_rollback.json"))
    assert code == 2 and "either as --step" in out
    code, out = saga_cli(str(DATA / "correct_rollback.json"), "--step", "nocolon")
    assert code == 2 and "FORWARD:COMPENSATION" in out
    code, out = saga_cli(str(DATA / "correct_rollback.json"), "--spec", "nope_mod_xyz")
    assert code == 2 and "cannot import" in out


def test_cli_json_output() -> None:
    code, out = saga_cli(str(DATA / "missing_compensation.json"), *STEP_ARGS, "--json")
    assert code == 1
    (entry,) = json.loads(out)
    assert entry["error"] is None
    assert entry["report"]["violations"][0]["kind"] == "missing-compensation"
