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
                    get_weather, start_to_close_timeout=timedelta(seconds=3)
                ),
                packing_list,
            ],
        )
        result = await Runner.run(agent, input=question)
        return str(result.final_output)


def plugin():  # type: ignore[no-untyped-def]
    """A fresh plugin whose test model answers from its input (a factory: one per run).

    The model is a function of the conversation, like a real one, not a list of responses
    consumed in order: a worker process that takes over after a crash starts with a new
    model object, and must still get the answer the recorded run got for the same input.
    """
    from agents import Model
    from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModelProvider

    class TravelModel(Model):
        async def get_response(self, system_instructions, input, *args, **kwargs):  # type: ignore[no-untyped-def]
            items = input if isinstance(input, list) else []
            outputs = [i for i in items if isinstance(i, dict)
                       and i.get("type") == "function_call_output"]
            if not outputs:
                return ResponseBuilders.tool_call('{"city": "Lisbon"}', "get_weather")
            return ResponseBuilders.output_message(
                f"{outputs[-1]['output']}. Pack a light jacket."
            )

        def stream_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    # Short activity timeouts: after a worker is killed mid-call, the retry comes after
    # the start-to-close timeout (the plugin's default is 60 s).
    return OpenAIAgentsPlugin(
        model_provider=TestModelProvider(TravelModel()),
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=3)),
    )
