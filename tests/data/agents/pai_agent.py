"""A tiny Pydantic AI agent on Pydantic AI's Temporal integration (tests only).

The agent ``helper`` has instructions, one tool and runs on Pydantic AI's own offline
``TestModel`` (it calls every tool once, then answers).
"""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.durable_exec.temporal import AgentPlugin, PydanticAIPlugin, TemporalDurability
from pydantic_ai.models.test import TestModel
from temporalio import workflow

INSTRUCTIONS = "You are a helpful assistant. Look orders up before you answer."

agent = Agent(
    TestModel(),
    name="helper",
    instructions=INSTRUCTIONS,
    capabilities=[TemporalDurability()],
)


@agent.tool_plain
def lookup_order(order_id: str) -> str:
    """Look an order up by its id."""
    return f"order {order_id}: shipped"


@workflow.defn
class PydanticAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        result = await agent.run(question)
        return str(result.output)


def plugin() -> list[object]:
    """The client plugin (converter, sandbox) and the agent's worker plugin (activities)."""
    return [PydanticAIPlugin(), AgentPlugin(agent)]
