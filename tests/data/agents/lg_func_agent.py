"""A tiny LangGraph Functional API agent on Temporal's LangGraphPlugin (tests only).

One ``@entrypoint``, ``react_agent_entrypoint``, runs in the workflow: it decides the system
prompt, the tools and the model settings, and calls two ``@task``s that run as activities:
``call_model`` (a langchain fake chat model) and ``call_tool``.

Imported as the top-level module ``lg_func_agent`` (its folder on ``sys.path``): a task's
activity type is its ``module.qualname``, so the next release of this agent must keep the
module's name, as a real repository's would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.func import entrypoint, task
from temporalio import workflow
from temporalio.langgraph import LangGraphPlugin
from temporalio.langgraph import entrypoint as registered_entrypoint

ENTRYPOINT = "react_agent_entrypoint"
SYSTEM_PROMPT = "You are a helpful support agent. Answer briefly."
TEMPERATURE = 0.2


@tool
def lookup_order(order_id: str) -> str:
    """Look an order up by its id."""
    return f"order {order_id}: shipped"


TOOLS = {"lookup_order": lookup_order}


async def call_model(
    messages: list[BaseMessage], tools: list[dict[str, Any]], model_settings: dict[str, Any]
) -> AIMessage:
    """The model call (an activity): the fake model asks for the tool once, then answers."""
    # messages cross the activity boundary as dicts
    seen_tool = any(m.type == "tool" for m in convert_to_messages(messages))
    reply = (
        AIMessage(content="Order 42 has shipped.")
        if seen_tool
        else AIMessage(
            content="",
            tool_calls=[{"name": "lookup_order", "args": {"order_id": "42"}, "id": "call-1"}],
        )
    )
    model = FakeMessagesListChatModel(responses=[reply])
    out = await model.ainvoke(convert_to_messages(messages))
    assert isinstance(out, AIMessage)
    return out


async def call_tool(tool_call: dict[str, Any]) -> BaseMessage:
    """A tool call (an activity)."""
    result: BaseMessage = await TOOLS[tool_call["name"]].ainvoke(
        {**tool_call, "type": "tool_call"}
    )
    return result


def build(tasks: dict[str, Any]) -> Any:
    """The entrypoint over fresh ``@task`` wrappers (the plugin rewrites its tasks in place)."""

    @entrypoint()
    async def react_agent_entrypoint(question: str) -> str:
        messages: list[BaseMessage] = [
            SystemMessage(content=SYSTEM_PROMPT),
            HumanMessage(content=question),
        ]
        tools = [convert_to_openai_tool(t) for t in TOOLS.values()]
        settings = {"temperature": TEMPERATURE}
        for _ in range(3):
            raw = await tasks["call_model"](messages=messages, tools=tools, model_settings=settings)
            (reply,) = convert_to_messages([raw])  # results come back as dicts
            messages.append(reply)
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                return str(reply.content)
            for call in reply.tool_calls:
                messages.extend(convert_to_messages([await tasks["call_tool"](call)]))
        return "gave up"

    return react_agent_entrypoint


def plugin() -> LangGraphPlugin:
    """A fresh plugin with fresh task wrappers (each worker/replayer gets its own)."""
    tasks = {"call_model": task(call_model), "call_tool": task(call_tool)}
    options = {"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=30)}
    return LangGraphPlugin(
        entrypoints={ENTRYPOINT: build(tasks)},
        tasks=list(tasks.values()),
        activity_options={name: dict(options) for name in tasks},
    )


@workflow.defn
class LangGraphFunctionalWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        out = await registered_entrypoint(ENTRYPOINT).ainvoke(question)
        return str(out)
