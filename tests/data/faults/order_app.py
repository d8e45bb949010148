"""A three-step order workflow (reserve -> charge -> wait -> notify) for fault-injection tests.

Every step writes its side effect through replaykit's effects ledger (``$REPLAYKIT_LEDGER``), so
the fault runner can tell whether an effect happened exactly once. ``charge`` comes in two
implementations with the same activity type: an idempotent one (deduplicated by key) and a blind
one that charges again when retried.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from replaykit.effects import EffectsLedger, idempotent

RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=300),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=5,
    non_retryable_error_types=["CardDeclined"],
)
OPTIONS: dict[str, object] = {
    "start_to_close_timeout": timedelta(seconds=5),
    # Short, so an attempt lost with a killed worker is retried after about a second.
    "heartbeat_timeout": timedelta(seconds=1),
    "retry_policy": RETRY,
}


@activity.defn
@idempotent(key=lambda order_id: f"{order_id}:reserve")
async def reserve_stock(order_id: str) -> str:
    return f"reserved {order_id}"


@activity.defn(name="charge")
@idempotent(key=lambda order_id: f"{order_id}:charge")
async def charge_idempotent(order_id: str) -> str:
    return f"charged {order_id}"


@activity.defn(name="charge")
async def charge_blind(order_id: str) -> str:
    # Charges every time it runs: a retry after a lost result charges the card twice.
    with EffectsLedger().record(f"{order_id}:charge"):
        pass
    return f"charged {order_id}"


@activity.defn
@idempotent(key=lambda order_id: f"{order_id}:notify")
async def send_receipt(order_id: str) -> str:
    return f"receipt sent for {order_id}"


@workflow.defn
class OrderWorkflow:
    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        done = [await workflow.execute_activity(reserve_stock, order_id, **OPTIONS)]  # type: ignore[arg-type]
        done.append(await workflow.execute_activity("charge", order_id, result_type=str, **OPTIONS))  # type: ignore[arg-type]
        await workflow.sleep(timedelta(milliseconds=200))
        done.append(await workflow.execute_activity(send_receipt, order_id, **OPTIONS))  # type: ignore[arg-type]
        return done


@workflow.defn
class HandRetryOrderWorkflow:
    """A workflow that retries a failed charge by itself, even a non-retryable decline (a bug)."""

    @workflow.run
    async def run(self, order_id: str) -> list[str]:
        done = [await workflow.execute_activity(reserve_stock, order_id, **OPTIONS)]  # type: ignore[arg-type]
        for _ in range(3):
            try:
                done.append(await workflow.execute_activity("charge", order_id, result_type=str, **OPTIONS))  # type: ignore[arg-type]
                break
            except Exception:
                continue
        done.append(await workflow.execute_activity(send_receipt, order_id, **OPTIONS))  # type: ignore[arg-type]
        return done
