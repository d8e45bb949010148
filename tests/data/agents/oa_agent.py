"""A tiny OpenAI Agents SDK agent on Temporal's OpenAIAgentsPlugin (tests only).

A triage agent with a long system prompt (about 4 KB: a support policy), one function tool
and a handoff to a refunds agent. It runs offline: the plugin is given the integration's own
``TestModelProvider``, which answers with a scripted tool call and then a final message.
Tests copy this file with a changed prompt, tool or setting to play "the next release".
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider

from agents import Agent, ModelSettings, Runner, function_tool

_POLICY = " ".join(
    f"Rule {n}: when a customer asks about order number {n}, look the order up first, "
    f"quote its status exactly as the tool returns it, and never promise a delivery date."
    for n in range(1, 13)
)
INSTRUCTIONS = (
    "You are the triage agent of the Acme support desk. "
    + _POLICY
    + " Always be polite and hand refund requests to the refunds agent. "
    + _POLICY
)
TEMPERATURE = 0.2


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up by its id.

    Args:
        order_id: The order's id.
    """
    return f"order {order_id}: shipped"


def build_agent() -> Agent:
    refunds = Agent(name="Refunds", instructions="You process refunds.")
    return Agent(
        name="Triage",
        instructions=INSTRUCTIONS,
        tools=[lookup_order],
        handoffs=[refunds],
        model="gpt-4o-mini",
        model_settings=ModelSettings(temperature=TEMPERATURE),
    )


@workflow.defn
class SupportAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_agent(), question)
        return str(result.final_output)


def plugin() -> OpenAIAgentsPlugin:
    """The plugin with the integration's offline test model (one tool call, one answer)."""
    model = TestModel.returning_responses(
        [
            ResponseBuilders.tool_call('{"order_id": "42"}', "lookup_order"),
            ResponseBuilders.output_message("Order 42 has shipped."),
        ]
    )
    return OpenAIAgentsPlugin(
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)),
        model_provider=TestModelProvider(model),
    )
