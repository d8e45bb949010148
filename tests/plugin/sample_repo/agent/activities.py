"""The agent's tools. Deterministic stand-ins for a search API and an LLM call."""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def search_web(query: str, max_results: int) -> list[str]:
    return [f"{query} result {i}" for i in range(1, max_results + 1)]


@activity.defn
def summarize(notes: list[str]) -> str:
    # A sync activity on purpose: the worker fixture must give it a thread pool.
    return f"{len(notes)} notes: " + "; ".join(notes)
