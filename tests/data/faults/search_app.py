"""Workflows of ``research_retry_scenarios.py`` (in their own module: the workflow sandbox
re-imports a workflow's module by name, which a scenario file loaded by path is not)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import SearchHit, SearchRequest

QUERIES = ["durable execution", "agent memory"]


async def _search(query: str) -> list[SearchHit]:
    # The options the research agent uses for web search (reference_agents/research.py).
    hits: list[SearchHit] = await workflow.execute_activity(
        acts.search_web,
        SearchRequest(query=query, limit=2),
        heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
        start_to_close_timeout=policies.TOOL_TIMEOUT,
        retry_policy=policies.WEB_SEARCH_RETRY,
    )
    return hits


@workflow.defn
class SearchWorkflow:
    """Searches each query once, as the research agent does; a failure ends the workflow."""

    @workflow.run
    async def run(self, queries: list[str]) -> list[str]:
        return [hit.doc_id for q in queries for hit in await _search(q)]


@workflow.defn
class HandRetrySearchWorkflow:
    """The anti-pattern: catches every activity failure and searches again, 3 times."""

    @workflow.run
    async def run(self, queries: list[str]) -> list[str]:
        found: list[str] = []
        for q in queries:
            for attempt in range(1, 4):
                try:
                    found += [hit.doc_id for hit in await _search(q)]
                    break
                except ActivityError:
                    if attempt == 3:
                        raise
        return found
