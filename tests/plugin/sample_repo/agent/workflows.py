"""The agent workflow. No import-time side effects: the SDK sandbox re-imports this module."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agent.activities import search_web, summarize

MAX_RESULTS = 3


@workflow.defn
class ResearchAgent:
    @workflow.run
    async def run(self, topic: str) -> str:
        notes = await workflow.execute_activity(
            search_web,
            args=[f"latest on {topic}", MAX_RESULTS],
            start_to_close_timeout=timedelta(seconds=10),
        )
        # A day-long review window: the time-skipping server makes it instant.
        await workflow.sleep(timedelta(days=1))
        return await workflow.execute_activity(
            summarize, notes, start_to_close_timeout=timedelta(seconds=10)
        )
