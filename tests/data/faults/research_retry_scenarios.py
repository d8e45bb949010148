"""The reference research agent's web search under a non-retryable failure, twice: as the agent
does it (the policy stops, the failure reaches the workflow) and wrapped in a hand-written retry
loop that schedules the same search again (a policy violation replaykit must report).

    replaykit faults tests/data/faults/research_retry_scenarios.py -k search_hand_retry \\
        --fail 'search_web:ClientError'
"""

from __future__ import annotations

from typing import Any

from search_app import QUERIES, HandRetrySearchWorkflow, SearchWorkflow

import reference_agents.activities as acts
from replaykit import scenario


@scenario(workflows=[SearchWorkflow], activities=[acts.search_web])
async def search_as_the_agent_does(run: Any) -> list[str]:
    result: list[str] = await run.execute(SearchWorkflow.run, QUERIES, id="search-1")
    assert result, result
    return result


@scenario(workflows=[HandRetrySearchWorkflow], activities=[acts.search_web])
async def search_hand_retry(run: Any) -> list[str]:
    result: list[str] = await run.execute(HandRetrySearchWorkflow.run, QUERIES, id="search-2")
    assert result, result
    return result
