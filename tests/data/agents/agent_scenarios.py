"""Scenarios recording the tiny test agents (explanations and volatile values)."""

from replaykit import scenario
from tests.data.agents import lg_agent, oa_agent, pai_agent


@scenario(workflows=[oa_agent.SupportAgentWorkflow], plugins=[oa_agent.plugin])
async def support_agent(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(oa_agent.SupportAgentWorkflow.run, "Where is order 42?",
                               id="support-1")
    assert "shipped" in answer, answer


@scenario(workflows=[lg_agent.LangGraphAgentWorkflow], plugins=[lg_agent.plugin])
async def langgraph_agent(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(lg_agent.LangGraphAgentWorkflow.run, "Can I get a refund?",
                               id="langgraph-1")
    assert "Refund" in answer, answer


@scenario(workflows=[pai_agent.PydanticAgentWorkflow], plugins=[pai_agent.plugin])
async def pydantic_agent(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(pai_agent.PydanticAgentWorkflow.run, "Where is order 42?",
                               id="pydantic-1")
    assert answer, answer
