"""Scenario recording the tiny Google ADK agent (needs temporalio-google-adk)."""

from replaykit import scenario
from tests.data.agents import adk_agent


@scenario(workflows=[adk_agent.AdkAgentWorkflow], plugins=[adk_agent.plugin])
async def adk_agent_run(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(adk_agent.AdkAgentWorkflow.run, "Where is order 42?", id="adk-1")
    assert "shipped" in answer, answer
