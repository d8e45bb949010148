"""PatchDemo v4: the patch call removed altogether."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from patch_demo_activities import audit_greeting, compose_greeting


@workflow.defn(name="PatchDemo")
class PatchDemoWorkflow:
    """Greets someone after a short wait, always auditing first."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        await workflow.execute_activity(
            audit_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
