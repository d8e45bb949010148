"""Rollout demo scenarios: executions started on deployment version v1, then v2 made current.

``rollout_v1`` starts one PINNED and one AUTO_UPGRADE execution on ``rollout.v1`` and leaves
them waiting. ``rollout_v2`` (worker ``rollout.v2``, now current) starts one of each on v2,
lets the v1 AUTO_UPGRADE execution go (it moves to v2) and finishes the v2 ones except
``chat-3`` (AUTO_UPGRADE, left running); the v1 PINNED execution keeps waiting for a v1 worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rollout_activities import quote
from rollout_v1 import ChatAgent, OrderAgent

from replaykit import scenario

WORKFLOWS = [OrderAgent, ChatAgent]
QUEUE = "rollout"


async def _first_task_done(handle: Any) -> None:
    """Wait until the execution's first workflow task completed (it is on a version)."""
    for _ in range(100):
        desc = await handle.describe()
        if desc.raw_description.workflow_execution_info.versioning_info.behavior:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id}: no workflow task completed")


@scenario(workflows=WORKFLOWS, activities=[quote], task_queue=QUEUE, deployment="rollout.v1")
async def rollout_v1(run: Any) -> None:
    order = await run.start(OrderAgent.run, "order-1-item", id="order-1")
    chat = await run.start(ChatAgent.run, "chat-1-item", id="chat-1")
    await _first_task_done(order)
    await _first_task_done(chat)


@scenario(workflows=WORKFLOWS, activities=[quote], task_queue=QUEUE, deployment="rollout.v2")
async def rollout_v2(run: Any) -> None:
    order = await run.start(OrderAgent.run, "order-2-item", id="order-2")
    chat = await run.start(ChatAgent.run, "chat-2-item", id="chat-2")
    waiting = await run.start(ChatAgent.run, "chat-3-item", id="chat-3")  # left running
    await _first_task_done(order)
    await _first_task_done(chat)
    await _first_task_done(waiting)
    old_chat = run.client.get_workflow_handle("chat-1")
    await old_chat.signal("go")
    assert await old_chat.result() == "chat-1-item: 42"
    for handle in (order, chat):
        await handle.signal("go")
        await handle.result()
