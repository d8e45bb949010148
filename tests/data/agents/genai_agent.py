"""A tiny Gemini SDK agent on Temporal's GoogleGenAIPlugin (tests only).

Offline: the plugin comes from the integration's own ``GeminiTestServer``
(``temporalio.google_genai.testing``), which scripts the model's replies under the real
plugin activities. The tool is a plain function run in the workflow by the Gemini SDK's
automatic function calling.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from google.genai import types

SYSTEM_INSTRUCTION = "You are an order desk assistant. Look orders up before answering."
TEMPERATURE = 0.2
MODEL = "gemini-2.5-flash"


async def lookup_order(order_id: str) -> str:
    """Look an order up by its id."""
    return f"order {order_id}: shipped"


async def cancel_order(order_id: str) -> str:
    """Cancel an order that has not shipped."""
    return f"order {order_id}: cancelled"


@workflow.defn
class GenAIAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        from temporalio.google_genai import TemporalAsyncClient

        client = TemporalAsyncClient()
        response = await client.models.generate_content(
            model=MODEL,
            contents=question,
            config=types.GenerateContentConfig(
                system_instruction=SYSTEM_INSTRUCTION,
                temperature=TEMPERATURE,
                tools=[lookup_order, cancel_order],
            ),
        )
        return response.text or ""


def plugin() -> Any:
    from temporalio.google_genai.testing import (
        GeminiTestServer,
        function_call_response,
        text_response,
    )

    return GeminiTestServer(
        [
            function_call_response("lookup_order", {"order_id": "42"}),
            text_response("Order 42 has shipped."),
        ]
    ).plugin()
