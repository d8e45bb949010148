"""A small OpenAI Agents workflow on OpenAIAgentsPlugin, for the plugin plumbing tests.

Offline: the plugin's model provider is the integration's own ``TestModelProvider`` with
scripted responses (a tool call, then an answer). No import-time side effects.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, ModelSettings, Runner, function_tool
    from temporalio.openai_agents import workflow as oa_workflow

INSTRUCTIONS = (
    "You are a careful travel assistant. Always check the weather with the tool before "
    "recommending what to pack, and answer in two sentences."
)


@activity.defn
async def get_weather(city: str) -> str:
    """The weather of a city (deterministic)."""
    return f"{city}: 18C and cloudy"


@function_tool
def packing_list(weather: str) -> str:
    """What to pack for the weather."""
    return "a light jacket" if "cloudy" in weather else "sunglasses"


@workflow.defn
class ToolsWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        agent = Agent(
            name="Travel assistant",
            instructions=INSTRUCTIONS,
            model="gpt-4o-mini",
            model_settings=ModelSettings(temperature=0.2),
            tools=[
                oa_workflow.activity_as_tool(
                    get_weather, start_to_close_timeout=timedelta(seconds=10)
                ),
                packing_list,
            ],
        )
        result = await Runner.run(agent, input=question)
        return str(result.final_output)


def plugin():  # type: ignore[no-untyped-def]
    """A fresh plugin with a scripted test model (a factory: one per run)."""
    from temporalio.openai_agents import OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider

    model = TestModel.returning_responses([
        ResponseBuilders.tool_call('{"city": "Lisbon"}', "get_weather"),
        ResponseBuilders.output_message("Lisbon is 18C and cloudy. Pack a light jacket."),
    ])
    return OpenAIAgentsPlugin(model_provider=TestModelProvider(model))
