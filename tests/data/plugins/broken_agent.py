"""An OpenAI Agents workflow as Temporal's samples write it: ``agents`` imported at module
level without a sandbox pass-through, so it only loads with ``OpenAIAgentsPlugin``."""

from __future__ import annotations

from agents import Agent, Runner
from temporalio import workflow


@workflow.defn
class SampleAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        agent = Agent(name="Assistant", instructions="Answer in haikus.", model="gpt-4o-mini")
        result = await Runner.run(agent, input=question)
        return str(result.final_output)
