"""Fault-injection sample scenarios: the same order workflow with an idempotent and a blind charge.

    replaykit faults tests/data/faults/order_scenarios.py -k order_idempotent --crash every-step
    replaykit faults tests/data/faults/order_scenarios.py -k order_blind --crash every-step
    replaykit faults tests/data/faults/order_scenarios.py -k order_unique_idempotent --crash every-step
"""

from __future__ import annotations

import uuid
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


# The common way to write a scenario: a fresh workflow id on every run, carried into the
# activities and the result. Fault runs match executions by place, not by id.


async def _unique_order(run: Any) -> list[str]:
    order_id = f"order-{uuid.uuid4().hex}"
    result: list[str] = await run.execute(OrderWorkflow.run, order_id, id=order_id)
    assert result == [f"reserved {order_id}", f"charged {order_id}",
                      f"receipt sent for {order_id}"], result
    return result


@scenario(workflows=[OrderWorkflow], activities=[reserve_stock, charge_idempotent, send_receipt])
async def order_unique_idempotent(run: Any) -> list[str]:
    return await _unique_order(run)


@scenario(workflows=[OrderWorkflow], activities=[reserve_stock, charge_blind, send_receipt])
async def order_unique_blind(run: Any) -> list[str]:
    return await _unique_order(run)
