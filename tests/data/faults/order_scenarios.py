"""Fault-injection sample scenarios: the same order workflow with an idempotent and a blind charge.

    replaykit faults tests/data/faults/order_scenarios.py -k order_idempotent --crash every-step
    replaykit faults tests/data/faults/order_scenarios.py -k order_blind --crash every-step
"""

from __future__ import annotations

from typing import Any

from order_app import (
    HandRetryOrderWorkflow,
    OrderWorkflow,
    charge_blind,
    charge_idempotent,
    reserve_stock,
    send_receipt,
)

from replaykit import scenario

EXPECTED = ["reserved order-1", "charged order-1", "receipt sent for order-1"]


@scenario(workflows=[OrderWorkflow], activities=[reserve_stock, charge_idempotent, send_receipt])
async def order_idempotent(run: Any) -> list[str]:
    result: list[str] = await run.execute(OrderWorkflow.run, "order-1", id="order-1")
    assert result == EXPECTED, result
    return result


@scenario(workflows=[OrderWorkflow], activities=[reserve_stock, charge_blind, send_receipt])
async def order_blind(run: Any) -> list[str]:
    result: list[str] = await run.execute(OrderWorkflow.run, "order-1", id="order-1")
    assert result == EXPECTED, result
    return result


@scenario(
    workflows=[HandRetryOrderWorkflow],
    activities=[reserve_stock, charge_idempotent, send_receipt],
)
async def order_hand_retry(run: Any) -> list[str]:
    result: list[str] = await run.execute(HandRetryOrderWorkflow.run, "order-1", id="order-1")
    assert result[0] == EXPECTED[0] and result[-1] == EXPECTED[-1], result
    return result
