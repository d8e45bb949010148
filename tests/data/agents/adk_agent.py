"""A tiny Google ADK agent on Temporal's GoogleAdkPlugin (tests only).

Offline: the model is ADK's own ``MockModel`` (``google.adk.cli.agent_test_runner``), registered
in ADK's ``LLMRegistry`` under a name of its own, as Temporal's GoogleAdkPlugin tests register
their scripted models. The plugin's ``invoke_model`` activity builds a new model per call, so
the reply is chosen by the conversation so far.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from google.adk.cli.agent_test_runner import MockModel
    from google.adk.models import LLMRegistry
    from google.adk.models.llm_request import LlmRequest
    from google.adk.models.llm_response import LlmResponse
    from google.genai import types

INSTRUCTION = "You are an order desk assistant. Look orders up before answering."
TEMPERATURE = 0.2
MODEL = "order-desk-mock"


async def lookup_order(order_id: str) -> str:
    """Look an order up by its id."""
    return f"order {order_id}: shipped"


async def cancel_order(order_id: str) -> str:
    """Cancel an order that has not shipped."""
    return f"order {order_id}: cancelled"


@workflow.defn
class AdkAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        from google.adk.agents import LlmAgent
        from google.adk.runners import InMemoryRunner
        from temporalio.google_adk import TemporalModel

        agent = LlmAgent(
            name="order_desk",
            model=TemporalModel(MODEL),
            instruction=INSTRUCTION,
            tools=[lookup_order, cancel_order],
            generate_content_config=types.GenerateContentConfig(temperature=TEMPERATURE),
        )
        runner = InMemoryRunner(agent=agent, app_name="orders")
        session = await runner.session_service.create_session(app_name="orders", user_id="u")
        answer = ""
        async for event in runner.run_async(
            user_id="u",
            session_id=session.id,
            new_message=types.Content(role="user", parts=[types.Part(text=question)]),
        ):
            if event.content and event.content.parts and event.content.parts[0].text:
                answer = event.content.parts[0].text
        return answer


class OrderDeskModel(MockModel):
    """ADK's MockModel, replying by conversation position: a tool call, then an answer."""

    model: str = MODEL

    @classmethod
    def supported_models(cls) -> list[str]:
        return [MODEL]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        replied = any(c.role == "model" for c in llm_request.contents)
        part = (
            types.Part(text="Order 42 has shipped.")
            if replied
            else types.Part(
                function_call=types.FunctionCall(name="lookup_order", args={"order_id": "42"})
            )
        )
        yield LlmResponse(content=types.Content(role="model", parts=[part]))


def plugin() -> Any:
    from temporalio.google_adk import GoogleAdkPlugin

    LLMRegistry.register(OrderDeskModel)
    return GoogleAdkPlugin()
