"""A tiny LangGraph agent on Temporal's LangGraphPlugin (tests only).

One graph, ``react-agent``, with one node, ``agent``, that runs as an activity and asks a
langchain fake chat model for an answer, given a system prompt. The prompt can be swapped
through ``SYSTEM_PROMPT`` so tests can record with one prompt and replay with another.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from temporalio import workflow
from temporalio.langgraph import LangGraphPlugin, graph

GRAPH = "react-agent"
SYSTEM_PROMPT = "You are a helpful support agent. Answer briefly."


async def agent(state: MessagesState) -> dict[str, Any]:
    model = FakeMessagesListChatModel(responses=[AIMessage(content="Refund approved.")])
    reply = await model.ainvoke([SystemMessage(content=SYSTEM_PROMPT), *state["messages"]])
    return {"messages": [reply]}


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    g: StateGraph[Any, Any, Any, Any] = StateGraph(MessagesState)
    g.add_node(
        "agent", agent,
        metadata={"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=30)},
    )
    g.add_edge(START, "agent")
    g.add_edge("agent", END)
    return g


def plugin() -> LangGraphPlugin:
    """A fresh plugin (each worker/replayer gets its own graph wrappers)."""
    return LangGraphPlugin(graphs={GRAPH: build_graph()})


@workflow.defn
class LangGraphAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        app = graph(GRAPH).compile()
        out = await app.ainvoke({"messages": [HumanMessage(content=question)]})
        return str(out["messages"][-1].content)
