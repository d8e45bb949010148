"""Recording scenarios of the payment agent: the happy path, a failure at each step, and a
cancellation while a step runs. Each scenario also verifies the saga on the history it made.

Side effects go to ``$REPLAYKIT_LEDGER`` (or ``$REFERENCE_AGENTS_DB``); see
:mod:`reference_agents.payment`.
"""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError

from replaykit import ScenarioRun, scenario
from replaykit.sagas import verify_saga

from .payment import ACTIVITIES, SAGA, Order, PaymentAgentWorkflow

# One decorator for all: same workflows, activities and preferred server.
payment_scenario = scenario(
    workflows=[PaymentAgentWorkflow], activities=ACTIVITIES, server="embedded"
)


def order(order_id: str, *, fail_at: str | None = None, block_at: str | None = None) -> Order:
    """The scenarios' order: 2 units of BOOK-1 for 42.00."""
    return Order(order_id, "BOOK-1", 2, 4200, fail_at=fail_at, block_at=block_at)


async def _run_order(run: ScenarioRun, workflow_id: str, *, fail_at: str | None = None) -> str:
    handle = await run.start(
        PaymentAgentWorkflow.run, order(workflow_id, fail_at=fail_at), id=workflow_id
    )
    result: str = await handle.result()
    verify_saga(await handle.fetch_history(), spec=SAGA)
    return result


async def wait_for_step(handle: WorkflowHandle[object, object], step: str) -> None:
    """Wait until a worker is running activity ``step`` of the workflow."""
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    while True:
        desc = await handle.describe()
        for pending in desc.raw_description.pending_activities:
            if pending.activity_type.name == step and pending.state == started:
                return
        await asyncio.sleep(0.05)


@payment_scenario
async def payment_happy_path(run: ScenarioRun) -> None:
    """All three steps apply; nothing is compensated."""
    assert await _run_order(run, "payment-happy") == "SUCCESS"


@payment_scenario
async def payment_fail_at_reserve(run: ScenarioRun) -> None:
    """The first step fails: nothing applied, nothing to undo."""
    assert await _run_order(run, "payment-fail-reserve", fail_at="reserve_inventory") == (
        "ROLLED_BACK"
    )


@payment_scenario
async def payment_fail_at_charge(run: ScenarioRun) -> None:
    """The charge fails: the reservation is released."""
    result = await _run_order(run, "payment-fail-charge", fail_at="charge_payment")
    assert result == "ROLLED_BACK"


@payment_scenario
async def payment_fail_at_dispatch(run: ScenarioRun) -> None:
    """Dispatch fails: refund, then release."""
    result = await _run_order(run, "payment-fail-dispatch", fail_at="dispatch_shipment")
    assert result == "ROLLED_BACK"


@payment_scenario
async def payment_cancel_during_charge(run: ScenarioRun) -> None:
    """Cancelled while charging: the charge is undone (it may have applied), then the stock."""
    workflow_id = "payment-cancel-charge"
    handle = await run.start(
        PaymentAgentWorkflow.run, order(workflow_id, block_at="charge_payment"), id=workflow_id
    )
    await wait_for_step(handle, "charge_payment")
    await handle.cancel()
    try:
        await handle.result()
    except WorkflowFailureError as err:
        assert isinstance(err.cause, CancelledError), err.cause
    else:
        raise AssertionError("the cancelled payment workflow completed")
    verify_saga(await handle.fetch_history(), spec=SAGA)
