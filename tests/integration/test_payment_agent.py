"""PaymentAgentWorkflow on a real dev server: the world (SQLite rows) stays consistent, the saga
verifier accepts every history, the ledger says exactly once; broken variants are caught.

Set ``REPLAYKIT_REGENERATE_SAGA=1`` to rewrite the sample histories in ``tests/data/saga``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.worker import Worker

from reference_agents import payment
from reference_agents.payment import (
    ACTIVITIES,
    SAGA,
    Compensation,
    Order,
    PaymentAgentWorkflow,
)
from replaykit.effects import EffectsError, EffectsLedger
from replaykit.history import write_history
from replaykit.history._files import make_meta
from replaykit.sagas import SagaReport, verify_saga
from replaykit.servers import RunningServer, parse_server, start_server

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STEPS = ["reserve_inventory", "charge_payment", "dispatch_shipment"]
DATA = Path(__file__).resolve().parents[1] / "data" / "saga"
REGENERATE = bool(os.environ.get("REPLAYKIT_REGENERATE_SAGA"))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(parse_server("embedded")) as running:
        yield running


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "world.db"
    monkeypatch.setenv("REPLAYKIT_LEDGER", str(path))
    payment._LEDGERS.clear()
    payment.ledger_for()  # creates the world tables, so an untouched world reads as empty
    return path


@pytest.fixture
async def client(server: RunningServer) -> Client:
    return await server.client()


async def _worker_run(
    client: Client,
    workflows: list[type],
    activities: list[object] | None = None,
) -> tuple[Worker, str]:
    queue = f"payment-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        client,
        task_queue=queue,
        workflows=workflows,
        activities=activities if activities is not None else ACTIVITIES,
        # Cancellation reaches an activity through a heartbeat response: keep it quick.
        max_heartbeat_throttle_interval=timedelta(milliseconds=300),
    )
    return worker, queue


@pytest.fixture
async def reference(client: Client) -> AsyncIterator[str]:
    worker, queue = await _worker_run(client, [PaymentAgentWorkflow])
    async with worker:
        yield queue


def world(db: Path, order_id: str) -> dict[str, list[str]]:
    """Status of every row of every world table for one order."""
    conn = sqlite3.connect(db)
    try:
        return {
            table: [
                r[0]
                for r in conn.execute(
                    f"SELECT status FROM {table} WHERE order_id = ? ORDER BY id", (order_id,)
                )
            ]
            for table in ("inventory_reservations", "charges", "shipments")
        }
    finally:
        conn.close()


def assert_rolled_back(db: Path, order_id: str) -> None:
    rows = world(db, order_id)
    assert rows["inventory_reservations"] in ([], ["released"]), rows
    assert rows["charges"] in ([], ["refunded"]), rows
    assert rows["shipments"] in ([], ["cancelled"]), rows


def new_order(prefix: str, **kw: str | None) -> Order:
    return replace(Order(f"{prefix}-{uuid.uuid4().hex[:6]}", "BOOK-1", 2, 4200), **kw)


async def wait_for_step(handle: WorkflowHandle[object, object], step: str) -> None:
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    for _ in range(400):
        desc = await handle.describe()
        if any(
            p.activity_type.name == step and p.state == started
            for p in desc.raw_description.pending_activities
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"activity {step} never started")


async def run_to_end(
    client: Client, wf: object, order: Order, queue: str, *, cancel_at: str | None = None
) -> tuple[str, WorkflowHistory]:
    """Run a workflow (cancelling it while ``cancel_at`` runs); its outcome and history."""
    if cancel_at is not None:
        order = replace(order, block_at=cancel_at)
    handle = await client.start_workflow(
        wf,  # type: ignore[arg-type]
        order,
        id=order.order_id,
        task_queue=queue,
        execution_timeout=timedelta(seconds=60),
    )
    if cancel_at is not None:
        await wait_for_step(handle, cancel_at)
        await handle.cancel()
    try:
        outcome = str(await handle.result())
    except WorkflowFailureError as err:
        outcome = "CANCELLED" if isinstance(err.cause, CancelledError) else f"FAILED: {err.cause}"
    return outcome, await handle.fetch_history()


def save(name: str, history: WorkflowHistory, scenario: str) -> None:
    if not REGENERATE:
        return
    first = history.events[0].workflow_execution_started_event_attributes
    meta = make_meta(
        workflow_id=history.workflow_id,
        run_id=first.original_execution_run_id,
        workflow_type=first.workflow_type.name,
        task_queue=first.task_queue.name,
        namespace="default",
        scenario=scenario,
    )
    write_history(DATA / f"{name}.json", history, meta=meta)


# -- the reference agent ----------------------------------------------------------------------


async def test_happy_path(client: Client, reference: str, db: Path) -> None:
    order = new_order("happy")
    outcome, history = await run_to_end(client, PaymentAgentWorkflow.run, order, reference)
    assert outcome == "SUCCESS"
    assert world(db, order.order_id) == {
        "inventory_reservations": ["reserved"],
        "charges": ["charged"],
        "shipments": ["dispatched"],
    }
    report = verify_saga(history, spec=SAGA)
    assert not report.rolled_back
    assert [s.state for s in report.steps] == ["applied"] * 3
    assert EffectsLedger(db).verify(expect_once=[(s, f"{order.order_id}:{s}") for s in STEPS]).ok


@pytest.mark.parametrize("step", STEPS)
async def test_failure_at_each_step_rolls_back(
    client: Client, reference: str, db: Path, step: str
) -> None:
    order = new_order(f"fail-{step}", fail_at=step)
    outcome, history = await run_to_end(client, PaymentAgentWorkflow.run, order, reference)
    assert outcome == "ROLLED_BACK"
    assert_rolled_back(db, order.order_id)
    applied = STEPS[: STEPS.index(step)]
    rows = world(db, order.order_id)
    assert len(rows["inventory_reservations"]) == ("reserve_inventory" in applied)
    assert len(rows["charges"]) == ("charge_payment" in applied)
    report = verify_saga(history, spec=SAGA)
    assert report.rolled_back
    assert [s.forward for s in report.steps if s.state == "applied"] == applied
    assert [s.forward for s in report.steps if s.compensation_events] == applied
    EffectsLedger(db).verify()
    if step == "dispatch_shipment":
        save("correct_rollback", history, "payment_fail_at_dispatch")


@pytest.mark.parametrize("step", STEPS)
async def test_cancellation_at_each_step_rolls_back(
    client: Client, reference: str, db: Path, step: str
) -> None:
    order = new_order(f"cancel-{step}")
    outcome, history = await run_to_end(
        client, PaymentAgentWorkflow.run, order, reference, cancel_at=step
    )
    assert outcome == "CANCELLED"
    assert_rolled_back(db, order.order_id)
    # The blocked step never applied, the ones before it did and were undone.
    done = STEPS[: STEPS.index(step)]
    rows = world(db, order.order_id)
    assert len(rows["inventory_reservations"]) == ("reserve_inventory" in done)
    assert len(rows["charges"]) == ("charge_payment" in done)
    assert rows["shipments"] == []
    report = verify_saga(history, spec=SAGA)
    assert report.closed_as == "canceled"
    # The cancelled step may have applied (history alone cannot tell): it is compensated too.
    by_step = {s.forward: s for s in report.steps}
    assert by_step[step].state == "maybe"
    assert all(by_step[s].compensation_events for s in [*done, step])
    EffectsLedger(db).verify()
    if step == "charge_payment":
        save("correct_cancel", history, "payment_cancel_during_charge")


# -- broken variants: each must be caught -----------------------------------------------------

_OPTS = {
    "start_to_close_timeout": timedelta(seconds=30),
    "heartbeat_timeout": timedelta(seconds=10),
    "retry_policy": payment.FORWARD_RETRY,
    "cancellation_type": workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
}
_COMP_OPTS = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": payment.COMPENSATION_RETRY,
}


@workflow.defn(name="MissingCompensationPayment", sandboxed=False)
class MissingCompensationPayment:
    """Forgets to register the refund."""

    @workflow.run
    async def run(self, order: Order) -> str:
        undo: list[str] = []
        try:
            for step in SAGA.steps:
                await workflow.execute_activity(step.forward, order, **_OPTS)  # type: ignore[call-overload]
                if step.forward != "charge_payment":
                    undo.insert(0, step.compensation)
        except ActivityError:
            for name in undo:
                await workflow.execute_activity(name, order, **_COMP_OPTS)  # type: ignore[call-overload]
            return "ROLLED_BACK"
        return "SUCCESS"


@workflow.defn(name="ForwardOrderPayment", sandboxed=False)
class ForwardOrderPayment:
    """Undoes in the order the steps ran (append, not insert at 0)."""

    @workflow.run
    async def run(self, order: Order) -> str:
        undo: list[str] = []
        try:
            for step in SAGA.steps:
                await workflow.execute_activity(step.forward, order, **_OPTS)  # type: ignore[call-overload]
                undo.append(step.compensation)
        except ActivityError:
            for name in undo:
                await workflow.execute_activity(name, order, **_COMP_OPTS)  # type: ignore[call-overload]
            return "ROLLED_BACK"
        return "SUCCESS"


@workflow.defn(name="EagerCompensationPayment", sandboxed=False)
class EagerCompensationPayment:
    """Registers each compensation before its step runs: a failed step gets undone."""

    @workflow.run
    async def run(self, order: Order) -> str:
        undo: list[Compensation] = []
        try:
            for step in SAGA.steps:
                undo.insert(0, Compensation(step.compensation, order))
                await workflow.execute_activity(step.forward, order, **_OPTS)  # type: ignore[call-overload]
        except ActivityError:
            for comp in undo:
                await workflow.execute_activity(comp.activity, comp.order, **_COMP_OPTS)  # type: ignore[call-overload]
            return "ROLLED_BACK"
        return "SUCCESS"


@workflow.defn(name="UnshieldedPayment", sandboxed=False)
class UnshieldedPayment:
    """The seed's ``except Exception``: a cancellation that arrives while the workflow waits on a
    timer is ``asyncio.CancelledError``, which is not an ``Exception``, so nothing is undone."""

    @workflow.run
    async def run(self, order: Order) -> str:
        undo: list[str] = []
        try:
            for step in SAGA.steps:
                await workflow.execute_activity(step.forward, order, **_OPTS)  # type: ignore[call-overload]
                undo.insert(0, step.compensation)
                if step.forward == "charge_payment":
                    await workflow.sleep(timedelta(hours=1))  # fraud-review window
        except Exception:
            for name in undo:
                await workflow.execute_activity(name, order, **_COMP_OPTS)  # type: ignore[call-overload]
            return "ROLLED_BACK"
        return "SUCCESS"


def _report(history: WorkflowHistory) -> SagaReport:
    report = verify_saga(history, spec=SAGA, raise_on_failure=False)
    assert not report.ok, report.format()
    return report


async def test_missing_compensation_is_caught(client: Client, db: Path) -> None:
    worker, queue = await _worker_run(client, [MissingCompensationPayment])
    order = new_order("missing", fail_at="dispatch_shipment")
    async with worker:
        outcome, history = await run_to_end(client, "MissingCompensationPayment", order, queue)
    assert outcome == "ROLLED_BACK"
    assert world(db, order.order_id)["charges"] == ["charged"]  # the money is gone
    report = _report(history)
    assert [v.kind for v in report.violations] == ["missing-compensation"]
    message = report.violations[0].message
    assert message.startswith("step `charge_payment` applied (completed at event ")
    assert "`refund_payment` did not run after activity `dispatch_shipment` failed" in message
    save("missing_compensation", history, "broken_missing_compensation")


async def test_forward_order_compensation_is_caught(client: Client, db: Path) -> None:
    worker, queue = await _worker_run(client, [ForwardOrderPayment])
    order = new_order("forward", fail_at="dispatch_shipment")
    async with worker:
        outcome, history = await run_to_end(client, "ForwardOrderPayment", order, queue)
    assert outcome == "ROLLED_BACK"
    report = _report(history)
    assert [v.kind for v in report.violations] == ["order"]
    violation = report.violations[0]
    assert violation.steps == ("reserve_inventory", "charge_payment")
    assert violation.message.startswith(
        "compensations not in reverse order: `release_inventory` (event "
    )
    assert "ran before `refund_payment`" in violation.message
    assert len(violation.event_ids) == 2
    save("forward_order", history, "broken_forward_order")


async def test_compensating_a_never_applied_step_is_caught(client: Client, db: Path) -> None:
    worker, queue = await _worker_run(client, [EagerCompensationPayment])
    order = new_order("eager", fail_at="charge_payment")
    async with worker:
        outcome, history = await run_to_end(client, "EagerCompensationPayment", order, queue)
    assert outcome == "ROLLED_BACK"
    report = _report(history)
    assert [v.kind for v in report.violations] == ["unneeded-compensation"]
    message = report.violations[0].message
    assert message.startswith("compensation `refund_payment` (event ")
    assert "for step `charge_payment` that never applied: failed at event " in message
    assert "attempt 1: OrderRejected: injected failure at charge_payment" in message
    save("compensates_never_applied", history, "broken_eager_compensation")


async def test_unshielded_compensation_under_cancellation_is_caught(
    client: Client, db: Path
) -> None:
    worker, queue = await _worker_run(client, [UnshieldedPayment])
    order = new_order("unshielded")
    async with worker:
        handle = await client.start_workflow(
            "UnshieldedPayment", order, id=order.order_id, task_queue=queue
        )
        for _ in range(400):  # cancel while it sleeps after the charge
            events = (await handle.fetch_history()).events
            if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events):
                break
            await asyncio.sleep(0.05)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        assert isinstance(caught.value.cause, CancelledError)
        history = await handle.fetch_history()
    rows = world(db, order.order_id)  # stock and money leaked
    assert rows["inventory_reservations"] == ["reserved"] and rows["charges"] == ["charged"]
    report = _report(history)
    assert [v.kind for v in report.violations] == ["missing-compensation"] * 2
    messages = {v.steps[0]: v.message for v in report.violations}
    assert set(messages) == {"reserve_inventory", "charge_payment"}
    assert (
        "`release_inventory` did not run after the cancel requested at event"
        in (messages["reserve_inventory"])
    )
    assert (
        "`refund_payment` did not run after the cancel requested at event"
        in (messages["charge_payment"])
    )
    save("unshielded_cancel", history, "broken_unshielded_cancellation")


@activity.defn(name="charge_payment")
async def double_charging_payment(order: Order) -> str:
    """Not idempotent: charges, then fails on attempt 1, so the retry charges again."""
    with payment.ledger_for(order).record(f"{order.order_id}:charge_payment") as slot:
        slot.conn.execute(
            "INSERT INTO charges (order_id, amount_cents, status) VALUES (?, ?, 'charged')",
            (order.order_id, order.amount_cents),
        )
    if activity.info().attempt == 1:
        raise RuntimeError("connection reset after the charge went through")
    return "applied"


async def test_non_idempotent_charge_under_retry_is_caught(client: Client, db: Path) -> None:
    acts = [double_charging_payment if a is payment.charge_payment else a for a in ACTIVITIES]
    worker, queue = await _worker_run(client, [PaymentAgentWorkflow], acts)
    order = new_order("dup")
    async with worker:
        outcome, history = await run_to_end(client, PaymentAgentWorkflow.run, order, queue)
    assert outcome == "SUCCESS"
    assert world(db, order.order_id)["charges"] == ["charged", "charged"]
    verify_saga(history, spec=SAGA)  # the history looks fine: only the ledger can tell
    with pytest.raises(EffectsError) as caught:
        EffectsLedger(db).verify()
    violations = caught.value.report.violations
    assert len(violations) == 1
    assert violations[0].message == (
        f"effect not exactly once: activity `charge_payment` applied key "
        f"{order.order_id}:charge_payment twice: attempt 1 (applied), attempt 2 (applied) "
        f"(workflow {order.order_id})"
    )


async def test_reference_charge_is_idempotent_under_the_same_retry(
    client: Client, db: Path
) -> None:
    """Control for the test above: the reference activity, retried after applying, is deduped."""

    @activity.defn(name="charge_payment")
    async def charge_then_fail_once(order: Order) -> str:
        result = await payment.charge_payment(order)
        if activity.info().attempt == 1:
            raise RuntimeError("connection reset after the charge went through")
        return result

    acts = [charge_then_fail_once if a is payment.charge_payment else a for a in ACTIVITIES]
    worker, queue = await _worker_run(client, [PaymentAgentWorkflow], acts)
    order = new_order("dedup")
    async with worker:
        outcome, _ = await run_to_end(client, PaymentAgentWorkflow.run, order, queue)
    assert outcome == "SUCCESS"
    assert world(db, order.order_id)["charges"] == ["charged"]
    report = EffectsLedger(db).verify()
    statuses = [(a.attempt, a.status) for a in report.attempts if a.effect == "charge_payment"]
    assert statuses == [(1, "applied"), (2, "skipped")]


# -- the recording scenarios -------------------------------------------------------------------


async def test_payment_scenarios_run_and_verify_their_sagas(client: Client, db: Path) -> None:
    from replaykit import load_scenarios, run_scenario_async

    scenarios = load_scenarios(["reference_agents.payment_scenarios"])
    assert [s.name for s in scenarios] == [
        "payment_happy_path",
        "payment_fail_at_reserve",
        "payment_fail_at_charge",
        "payment_fail_at_dispatch",
        "payment_cancel_during_charge",
    ]
    for scn in scenarios:
        outcome = await run_scenario_async(
            scn, client, task_queue=f"{scn.queue}-{uuid.uuid4().hex[:6]}"
        )
        assert outcome.ok, f"{scn.name}: {outcome.error!r}"
        (ref,) = outcome.executions
        verify_saga(
            WorkflowHistory(ref.workflow_id, list(outcome.histories[ref].events)), spec=SAGA
        )
        if scn.name != "payment_happy_path":
            assert_rolled_back(db, ref.workflow_id)
    assert world(db, "payment-happy") == {
        "inventory_reservations": ["reserved"],
        "charges": ["charged"],
        "shipments": ["dispatched"],
    }
    EffectsLedger(db).verify()
