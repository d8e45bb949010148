"""Regressions of PaymentAgentWorkflow found by ``replaykit saga prove-rollback``.

1. A cancel that arrives while a forward step finishes: the SDK hands the workflow the step's
   result (``WAIT_CANCELLATION_COMPLETED``) and does not raise the cancellation again. The
   workflow used to go on to ``dispatch_shipment`` and complete; it must roll back and end
   cancelled, and the fault runner's ``outcome`` check must flag a workflow that completes.
2. A lost completion, then a definite failure on the retry: attempt 1 of ``charge_payment``
   charged and its worker died before reporting; attempt 2 was declined. The workflow only saw
   the decline and left the charge; it must refund it (the saga verifier requires it too).

Each fault run uses real worker subprocesses on a real dev server, and a fresh SQLite world.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import temporalio.api.history.v1
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.worker import Worker

from reference_agents import payment
from reference_agents.payment import (
    ACTIVITIES,
    SAGA,
    WORLD_ENV,
    Order,
    PaymentAgentWorkflow,
    world_snapshot,
)
from replaykit.faults import FaultPlan, FaultRunResult, parse_fault, run_fault_plan
from replaykit.faults._invariants import check_outcome, summarize_execution
from replaykit.record import Scenario, load_scenarios
from replaykit.sagas import SagaReport, verify_saga
from replaykit.servers import RunningServer, ServerSpec, start_server

pytestmark = pytest.mark.integration

SCENARIOS = str(Path(__file__).resolve().parents[1] / "data" / "rollback" / "payment_rollback.py")
EMPTY: dict[str, list[Any]] = {"inventory_reservations": [], "charges": [], "shipments": []}
_ET = EventType


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(ServerSpec("embedded")) as running:
        yield running


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    [scn] = [s for s in load_scenarios([SCENARIOS]) if s.name == "reference_payment"]
    return scn


def _run(
    scenario: Scenario,
    server: RunningServer,
    world: Path,
    monkeypatch: pytest.MonkeyPatch,
    *faults: tuple[str, str],
) -> tuple[FaultRunResult, temporalio.api.history.v1.History, SagaReport]:
    # The scenario reads $REPLAYKIT_WORLD in this process and hands it to the workers.
    monkeypatch.setenv(WORLD_ENV, str(world))
    plan = FaultPlan(tuple(parse_fault(option, value) for option, value in faults))
    result = run_fault_plan(scenario, plan, server=server)
    assert result.error is None, result.error
    assert not result.not_reached, result.not_reached
    [history] = result.histories.values()
    return result, history, verify_saga(history, spec=SAGA, raise_on_failure=False)


def _events(history: Any) -> list[tuple[int, str, str]]:
    """(event id, event type, activity type of scheduled events) for every event."""
    out = []
    for ev in history.events:
        name = ""
        if ev.event_type == _ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = ev.activity_task_scheduled_event_attributes.activity_type.name
        out.append((ev.event_id, _ET.Name(ev.event_type).removeprefix("EVENT_TYPE_"), name))
    return out


def _scheduled(history: Any) -> list[str]:
    return [name for _, kind, name in _events(history) if kind == "ACTIVITY_TASK_SCHEDULED"]


def _verdicts(result: FaultRunResult) -> dict[str, str]:
    return {v.name: v.verdict for v in result.verdicts}


# -- 1: a cancel that arrives while a step finishes --------------------------------------------


def test_cancel_while_a_step_finishes_rolls_back(
    scenario: Scenario, server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = tmp_path / "world.db"
    result, history, saga = _run(
        scenario, server, world, monkeypatch, ("cancel", "start:charge_payment")
    )
    events = _events(history)
    kinds = [kind for _, kind, _ in events]
    # The path of the bug: the cancel is recorded, the charge is asked to stop, and it
    # completes anyway (it never heartbeats, so it never learns of the cancel).
    cancel_at = kinds.index("WORKFLOW_EXECUTION_CANCEL_REQUESTED")
    assert kinds.index("ACTIVITY_TASK_CANCEL_REQUESTED") > cancel_at
    assert kinds.count("ACTIVITY_TASK_COMPLETED") >= 2  # reserve and charge completed
    # Rolled back instead of going on to dispatch, and ended cancelled.
    assert _scheduled(history) == [
        "reserve_inventory",
        "charge_payment",
        "refund_payment",
        "release_inventory",
    ]
    assert kinds[-1] == "WORKFLOW_EXECUTION_CANCELED"
    assert result.scenario_result == repr("CANCELLED")
    assert world_snapshot(world) == EMPTY
    assert saga.ok, saga.format()
    states = {s.forward: s for s in saga.steps}
    assert states["charge_payment"].state == "applied"
    assert states["charge_payment"].compensation_events
    assert states["dispatch_shipment"].state == "not_run"
    assert saga.trigger == f"cancel requested at event {events[cancel_at][0]}"
    assert result.ok, [v for v in result.verdicts if not v.ok]
    assert _verdicts(result)["outcome"] == "ok"


# -- 2: completion lost, then a definite failure on the retry ----------------------------------


def test_lost_completion_then_declined_retry_refunds_the_charge(
    scenario: Scenario, server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = tmp_path / "world.db"
    result, history, saga = _run(
        scenario,
        server,
        world,
        monkeypatch,
        ("kill-worker", "returned:charge_payment@1"),
        ("fail", "charge_payment@2+:PaymentDeclined!"),
    )
    assert result.kills == 1
    assert result.scenario_result == repr("ROLLED_BACK")
    # The charge from attempt 1 was refunded: nothing is left in the world.
    assert world_snapshot(world) == EMPTY
    assert _scheduled(history) == [
        "reserve_inventory",
        "charge_payment",
        "earlier_attempt_may_have_applied",
        "refund_payment",
        "release_inventory",
    ]
    [started] = [
        ev.activity_task_started_event_attributes
        for ev in history.events
        if ev.event_type == _ET.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and ev.activity_task_started_event_attributes.attempt == 2
    ]
    assert started.last_failure.HasField("timeout_failure_info")  # attempt 1 timed out
    assert saga.ok, saga.format()
    charge = {s.forward: s for s in saga.steps}["charge_payment"]
    assert charge.state == "maybe" and charge.compensation_events
    assert result.ok, [v for v in result.verdicts if not v.ok]


def test_declined_first_attempt_is_not_compensated(
    scenario: Scenario, server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Control for the test above: with no earlier attempt, a decline applied nothing; the
    # history question says so and the refund does not run (the verifier would flag it).
    world = tmp_path / "world.db"
    result, history, saga = _run(
        scenario, server, world, monkeypatch, ("fail", "charge_payment@1:PaymentDeclined!")
    )
    assert result.scenario_result == repr("ROLLED_BACK")
    assert _scheduled(history) == [
        "reserve_inventory",
        "charge_payment",
        "earlier_attempt_may_have_applied",
        "release_inventory",
    ]
    assert world_snapshot(world) == EMPTY
    assert saga.ok, saga.format()
    charge = {s.forward: s for s in saga.steps}["charge_payment"]
    assert charge.state == "not_applied" and not charge.compensation_events


# -- a cancel that arrives during the rollback ---------------------------------------------------


def test_cancel_during_the_rollback_finishes_it(
    scenario: Scenario, server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = tmp_path / "world.db"
    result, history, saga = _run(
        scenario,
        server,
        world,
        monkeypatch,
        ("fail", "dispatch_shipment@1:CarrierDown!"),
        ("cancel", "start:refund_payment"),
    )
    kinds = [kind for _, kind, _ in _events(history)]
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in kinds
    # The refund was not abandoned and the release still ran; then it ended cancelled.
    assert _scheduled(history)[-2:] == ["refund_payment", "release_inventory"]
    assert "ACTIVITY_TASK_CANCEL_REQUESTED" not in kinds
    assert kinds[-1] == "WORKFLOW_EXECUTION_CANCELED"
    assert result.scenario_result == repr("CANCELLED")
    assert world_snapshot(world) == EMPTY
    assert saga.ok, saga.format()


# -- the outcome invariant on a workflow that loses the cancel ---------------------------------

_CHARGE_MAY_FINISH = asyncio.Event()


@activity.defn(name="charge_payment")
async def charge_after_cancel(order: Order) -> str:
    """Charges only once the test has cancelled the workflow (and never heartbeats)."""
    await _CHARGE_MAY_FINISH.wait()
    return await payment.charge_payment(order)


@workflow.defn(name="LostCancelPayment", sandboxed=False)
class LostCancelPayment:
    """The reference before the fix: no cancellation check after a step returned."""

    @workflow.run
    async def run(self, order: Order) -> str:
        undo: list[str] = []
        try:
            for step in SAGA.steps:
                await workflow.execute_activity(
                    step.forward,
                    order,
                    start_to_close_timeout=timedelta(seconds=30),
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
                undo.insert(0, step.compensation)
        except (ActivityError, asyncio.CancelledError):
            for name in undo:
                await workflow.execute_activity(
                    name, order, start_to_close_timeout=timedelta(seconds=30)
                )
            raise
        return "SUCCESS"


async def _cancel_while_charging(client: Client, wf: str, queue: str, world: Path) -> Any:
    order = Order(f"lost-{uuid.uuid4().hex[:6]}", "BOOK-1", 2, 4200, db_path=str(world))
    handle = await client.start_workflow(
        wf, order, id=order.order_id, task_queue=queue, execution_timeout=timedelta(seconds=60)
    )
    for _ in range(400):
        desc = await handle.describe()
        if any(
            p.activity_type.name == "charge_payment"
            for p in desc.raw_description.pending_activities
        ):
            break
        await asyncio.sleep(0.05)
    await handle.cancel()
    # Let the charge finish only once the cancel request is in the history.
    for _ in range(400):
        history = await handle.fetch_history()
        if any(
            e.event_type == _ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED for e in history.events
        ):
            break
        await asyncio.sleep(0.05)
    _CHARGE_MAY_FINISH.set()
    try:
        outcome = str(await handle.result())
    except WorkflowFailureError as err:
        outcome = "CANCELLED" if isinstance(err.cause, CancelledError) else f"FAILED: {err}"
    _CHARGE_MAY_FINISH.clear()
    final: WorkflowHistory = await handle.fetch_history()
    summary = summarize_execution(
        order.order_id, temporalio.api.history.v1.History(events=final.events)
    )
    return (
        outcome,
        summary,
        check_outcome([summary], None, lenient=None, cancelled=[order.order_id]),
    )


@pytest.mark.asyncio(loop_scope="function")
async def test_outcome_invariant_flags_a_lost_cancellation(
    server: RunningServer, tmp_path: Path
) -> None:
    client = await server.client()
    acts = [charge_after_cancel if a is payment.charge_payment else a for a in ACTIVITIES]
    queue = f"lost-cancel-{uuid.uuid4().hex[:6]}"
    world = tmp_path / "world.db"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[LostCancelPayment, PaymentAgentWorkflow],
        activities=acts,
    ):
        outcome, summary, verdict = await _cancel_while_charging(
            client, "LostCancelPayment", queue, world
        )
        assert outcome == "SUCCESS" and summary.cancel_requested  # the bug, reproduced
        assert verdict.verdict == "violation"
        assert verdict.message == (
            f"cancel requested at event {summary.cancel_requested} but workflow "
            f"{summary.workflow_id} completed normally instead of ending cancelled"
        )
        # The reference under the very same timing rolls back and ends cancelled.
        outcome, summary, verdict = await _cancel_while_charging(
            client, "PaymentAgentWorkflow", queue, world
        )
        assert outcome == "CANCELLED" and summary.close == "WORKFLOW_EXECUTION_CANCELED"
        assert verdict.verdict == "ok", verdict.message
    rows = world_snapshot(world)
    # Only the broken run's effects are left: all three (it dispatched after the cancel).
    assert [r["order_id"].startswith("lost-") for t in rows.values() for r in t] == [True] * 3
    assert len({r["order_id"] for t in rows.values() for r in t}) == 1
