"""Activities of the rollout demo (Worker Versioning)."""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def quote(item: str) -> str:
    """A price quote (no I/O)."""
    return f"{item}: 42"
