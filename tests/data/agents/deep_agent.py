"""A tiny LangChain Deep Agent on Temporal's DeepAgentsPlugin (tests only).

Offline: the plugin's model provider is the integration's own ``mock_model_provider``. The
agent has a name, a system prompt, one tool of its own (besides Deep Agents' built-in
ones) and a model (the provider resolves any name to the mock), so tests can change each.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.tools import tool
from temporalio import workflow

AGENT_NAME = "researcher"
SYSTEM_PROMPT = "You are a research assistant. Answer in one sentence."
MODEL = "fake-model"


@tool
async def lookup_capital(country: str) -> str:
    """Look up the capital city of a country."""
    return {"France": "Paris"}.get(country, "unknown")


@workflow.defn
class DeepAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        from temporalio.deepagents import create_temporal_deep_agent

        agent = create_temporal_deep_agent(
            model=MODEL,
            activity_options={"start_to_close_timeout": timedelta(seconds=30)},
            name=AGENT_NAME,
            system_prompt=SYSTEM_PROMPT,
            tools=[lookup_capital],
        )
        out: Any = await agent.ainvoke({"messages": [{"role": "user", "content": question}]})
        return str(out["messages"][-1].content)


def plugin() -> Any:
    from langchain_core.messages import AIMessage
    from temporalio.deepagents import DeepAgentsPlugin
    from temporalio.deepagents.testing import mock_model_provider

    ask = AIMessage(
        content="",
        tool_calls=[{"name": "lookup_capital", "args": {"country": "France"}, "id": "call-1"}],
    )
    return DeepAgentsPlugin(model_provider=mock_model_provider([ask, "Paris is the capital."]))
