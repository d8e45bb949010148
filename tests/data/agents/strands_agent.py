"""A tiny Strands agent on Temporal's StrandsPlugin (tests only).

Offline: Strands ships no test model, so the plugin's model factories return a scripted
``strands.models.Model`` (the framework's model interface), as Temporal's own StrandsPlugin
tests do. The model name chosen in the workflow (``TemporalAgent(model=...)``) is the agent's
model setting; the temperature of a Strands model lives in the worker's factory, never in
the history.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from strands import tool
    from strands.models import Model

SYSTEM_PROMPT = "You are an order desk assistant. Look orders up before answering."
MODEL = "desk-small"


@tool
async def lookup_order(order_id: str) -> str:
    """Look an order up by its id."""
    return f"order {order_id}: shipped"


@tool
async def cancel_order(order_id: str) -> str:
    """Cancel an order that has not shipped."""
    return f"order {order_id}: cancelled"


@workflow.defn
class StrandsAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        from temporalio.strands_agents import TemporalAgent

        agent = TemporalAgent(
            name="OrderDesk",
            model=MODEL,
            system_prompt=SYSTEM_PROMPT,
            tools=[lookup_order, cancel_order],
            start_to_close_timeout=timedelta(seconds=30),
            callback_handler=None,
        )
        result = await agent.invoke_async(question)
        return str(result)


class ScriptedModel(Model):
    """One scripted turn per ``stream()`` call: a tool use, then a text answer."""

    def __init__(self, turns: list[Any]) -> None:
        self._turns = list(turns)

    def update_config(self, **_config: Any) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {}

    def structured_output(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedError

    async def stream(self, messages: Any, *_args: Any, **_kwargs: Any) -> AsyncIterable[Any]:
        # The turn is chosen by the conversation so far (the factory's model is cached
        # per worker, and each replay builds a new worker).
        turn = self._turns[min(sum(m.get("role") == "assistant" for m in messages), 1)]
        yield {"messageStart": {"role": "assistant"}}
        if isinstance(turn, str):
            yield {"contentBlockDelta": {"delta": {"text": turn}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}
            return
        yield {
            "contentBlockStart": {
                "start": {"toolUse": {"name": turn["name"], "toolUseId": "tool-1"}}
            }
        }
        yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(turn["input"])}}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "tool_use"}}


def _model() -> ScriptedModel:
    return ScriptedModel(
        [{"name": "lookup_order", "input": {"order_id": "42"}}, "Order 42 has shipped."]
    )


def plugin() -> Any:
    from temporalio.strands_agents import StrandsPlugin

    return StrandsPlugin(models={"desk-small": _model, "desk-large": _model})
