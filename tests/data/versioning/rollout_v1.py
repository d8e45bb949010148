"""Rollout demo, the deployed code (v1 and v2 run this): a PINNED and an AUTO_UPGRADE agent.

Both wait for a ``go`` signal, then quote an item.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from rollout_activities import quote


@workflow.defn(name="OrderAgent", versioning_behavior=VersioningBehavior.PINNED)
class OrderAgent:
    """Short-lived: pinned to the version it started on."""

    def __init__(self) -> None:
        self._go = False

    @workflow.signal
    def go(self) -> None:
        """Continue."""
        self._go = True

    @workflow.run
    async def run(self, item: str) -> str:
        await workflow.wait_condition(lambda: self._go)
        return await workflow.execute_activity(
            quote, item, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(name="ChatAgent", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class ChatAgent:
    """Long-lived: moves to the current version on its next workflow task."""

    def __init__(self) -> None:
        self._go = False

    @workflow.signal
    def go(self) -> None:
        """Continue."""
        self._go = True

    @workflow.run
    async def run(self, item: str) -> str:
        await workflow.wait_condition(lambda: self._go)
        return await workflow.execute_activity(
            quote, item, start_to_close_timeout=timedelta(seconds=10)
        )
