"""A broken copy of the reference PaymentAgentWorkflow: its failure path never refunds.

Same activities, same saga spec; only the rollback forgets ``refund_payment``, so a failure
after the charge leaves the customer charged for an order that was rolled back. This is the
bug ``replaykit saga prove-rollback`` must report.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from reference_agents.payment import (
        COMPENSATION_RETRY,
        COMPENSATION_TIMEOUT,
        FORWARD_HEARTBEAT,
        FORWARD_RETRY,
        FORWARD_TIMEOUT,
        SAGA,
        Compensation,
        Order,
        may_have_applied,
    )


@workflow.defn
class ForgetfulPaymentWorkflow:
    """Reserve, charge, dispatch; on failure undoes everything *but the charge*."""

    SAGA = SAGA

    def __init__(self) -> None:
        self.compensations: list[Compensation] = []

    @workflow.run
    async def run(self, order: Order) -> str:
        """Returns ``"SUCCESS"`` or ``"ROLLED_BACK"`` (or ends cancelled)."""
        try:
            for step in SAGA.steps:
                try:
                    await workflow.execute_activity(
                        step.forward,
                        order,
                        start_to_close_timeout=FORWARD_TIMEOUT,
                        heartbeat_timeout=FORWARD_HEARTBEAT,
                        retry_policy=FORWARD_RETRY,
                        cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                        result_type=str,
                    )
                except BaseException as err:
                    if may_have_applied(err):
                        self.compensations.append(Compensation(step.compensation, order))
                    raise
                self.compensations.append(Compensation(step.compensation, order))
        except (ActivityError, asyncio.CancelledError) as err:
            cancelled = isinstance(err, asyncio.CancelledError) or (
                isinstance(err, ActivityError) and isinstance(err.cause, CancelledError)
            )
            for comp in reversed(self.compensations):
                if comp.activity == "refund_payment":
                    continue  # the bug: "refunds are handled by the finance team"
                await workflow.execute_activity(
                    comp.activity,
                    comp.order,
                    start_to_close_timeout=COMPENSATION_TIMEOUT,
                    retry_policy=COMPENSATION_RETRY,
                    result_type=str,
                )
            if cancelled:
                raise
            return "ROLLED_BACK"
        return "SUCCESS"
