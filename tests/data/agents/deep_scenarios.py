"""Scenario recording the tiny Deep Agent (needs temporalio-deepagents)."""

from replaykit import scenario
from tests.data.agents import deep_agent


@scenario(workflows=[deep_agent.DeepAgentWorkflow], plugins=[deep_agent.plugin])
async def deep_agent_run(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(deep_agent.DeepAgentWorkflow.run, "Capital of France?",
                               id="deep-1")
    assert "Paris" in answer, answer
