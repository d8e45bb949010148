"""The OpenAI Agents plugin with the integration's own test model (offline, scripted).

A module-level object, so a harvested history can name it (``harvest_sample.agent_plugin:plugin``).
"""

from __future__ import annotations

from typing import Any

from agents import Model
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.openai_agents.testing import ResponseBuilders, TestModelProvider


class TravelModel(Model):
    """Answers from the conversation: a weather tool call first, then the advice."""

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> Any:
        items = input if isinstance(input, list) else []
        outputs = [
            i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
        if not outputs:
            return ResponseBuilders.tool_call('{"city": "Lisbon"}', "get_weather")
        return ResponseBuilders.output_message(f"{outputs[-1]['output']}. Pack a light jacket.")

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def make_plugin() -> OpenAIAgentsPlugin:
    """A fresh plugin (tests that build theirs in a fixture call this)."""
    return OpenAIAgentsPlugin(model_provider=TestModelProvider(TravelModel()))


plugin = make_plugin()
