"""Activities of the PatchDemo workflow versions (no side effects: tests only replay them)."""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def compose_greeting(name: str) -> str:
    """The greeting every version sends."""
    return f"Hello, {name}!"


@activity.defn
async def audit_greeting(name: str) -> None:
    """The step v2 added behind ``workflow.patched("patch-demo-audit")``."""
    activity.logger.info("audited greeting for %s", name)


ACTIVITIES = [compose_greeting, audit_greeting]
