"""PatchDemo v2: an audit step added behind ``workflow.patched`` (old executions skip it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from patch_demo_activities import audit_greeting, compose_greeting

PATCH_ID = "patch-demo-audit"


@workflow.defn(name="PatchDemo")
class PatchDemoWorkflow:
    """Greets someone after a short wait; new executions audit first."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        if workflow.patched(PATCH_ID):
            await workflow.execute_activity(
                audit_greeting, name, start_to_close_timeout=timedelta(seconds=10)
            )
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
