"""PatchDemo changed the unsafe way: v1 with the audit step inserted and no patch guard."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from patch_demo_activities import audit_greeting, compose_greeting


@workflow.defn(name="PatchDemo")
class PatchDemoWorkflow:
    """Greets someone after a short wait, auditing first (breaks running executions)."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        await workflow.execute_activity(  # the unguarded new step
            audit_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
