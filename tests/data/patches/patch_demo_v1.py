"""PatchDemo v1: the original workflow (no audit step)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from patch_demo_activities import compose_greeting


@workflow.defn(name="PatchDemo")
class PatchDemoWorkflow:
    """Greets someone after a short wait."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
