"""Scenario recording the tiny Gemini SDK agent (needs temporalio-google-genai)."""

from replaykit import scenario
from tests.data.agents import genai_agent


@scenario(workflows=[genai_agent.GenAIAgentWorkflow], plugins=[genai_agent.plugin])
async def genai_agent_run(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(
        genai_agent.GenAIAgentWorkflow.run, "Where is order 42?", id="genai-1"
    )
    assert "shipped" in answer, answer
