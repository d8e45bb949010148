"""Scenario recording the tiny Strands agent (needs temporalio-strands-agents)."""

from replaykit import scenario
from tests.data.agents import strands_agent


@scenario(workflows=[strands_agent.StrandsAgentWorkflow], plugins=[strands_agent.plugin])
async def strands_agent_run(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(
        strands_agent.StrandsAgentWorkflow.run, "Where is order 42?", id="strands-1"
    )
    assert "shipped" in answer, answer
