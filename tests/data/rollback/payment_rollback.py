"""prove-rollback scenarios: one payment order, on the reference saga and on a broken copy.

Each run's world (the SQLite file of reservations, charges and shipments, and the effects
ledger) is ``$REPLAYKIT_WORLD``, which ``prove-rollback`` sets to a fresh file per run; the
order carries it to the worker processes as ``Order.db_path``.

    replaykit saga prove-rollback tests/data/rollback/payment_rollback.py -k reference_payment \\
        --spec reference_agents.payment:SAGA \\
        --snapshot reference_agents.payment:world_snapshot
"""

from __future__ import annotations

import os
from typing import Any

from forgetful_payment import ForgetfulPaymentWorkflow
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from reference_agents.payment import ACTIVITIES, WORLD_ENV, Order, PaymentAgentWorkflow
from replaykit import ScenarioRun, scenario


def _order(order_id: str) -> Order:
    return Order(order_id, "BOOK-1", 2, 4200, db_path=os.environ.get(WORLD_ENV))


async def _place(run: ScenarioRun, workflow: Any, workflow_id: str) -> str:
    handle = await run.start(workflow, _order(workflow_id), id=workflow_id)
    try:
        result: str = await handle.result()
    except WorkflowFailureError as err:
        if isinstance(err.cause, CancelledError):
            return "CANCELLED"
        raise
    assert result in ("SUCCESS", "ROLLED_BACK"), result
    return result


@scenario(workflows=[PaymentAgentWorkflow], activities=ACTIVITIES, server="embedded")
async def reference_payment(run: ScenarioRun) -> str:
    """The reference saga: every failure or cancellation must leave the world as it was."""
    return await _place(run, PaymentAgentWorkflow.run, "rollback-order-1")


@scenario(workflows=[ForgetfulPaymentWorkflow], activities=ACTIVITIES, server="embedded")
async def forgetful_payment(run: ScenarioRun) -> str:
    """The broken copy: a failure after the charge leaves the charge standing."""
    return await _place(run, ForgetfulPaymentWorkflow.run, "rollback-order-2")
