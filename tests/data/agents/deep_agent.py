"""A tiny LangChain Deep Agent on Temporal's DeepAgentsPlugin (tests only).

Offline: the plugin's model provider is the integration's own ``mock_model_provider``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

SYSTEM_PROMPT = "You are a research assistant. Answer in one sentence."


@workflow.defn
class DeepAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        from temporalio.deepagents import create_temporal_deep_agent

        agent = create_temporal_deep_agent(
            model="fake-model", system_prompt=SYSTEM_PROMPT,
            activity_options={"start_to_close_timeout": timedelta(seconds=30)},
        )
        out: Any = await agent.ainvoke({"messages": [{"role": "user", "content": question}]})
        return str(out["messages"][-1].content)


def plugin() -> Any:
    from temporalio.deepagents import DeepAgentsPlugin
    from temporalio.deepagents.testing import mock_model_provider

    return DeepAgentsPlugin(model_provider=mock_model_provider(["Paris is the capital."]))
