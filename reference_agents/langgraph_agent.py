"""TriageGraphWorkflow: a ReAct-style LangGraph agent on Temporal's ``LangGraphPlugin``.

The graph has two nodes, ``agent`` (calls the chat model) and ``tools`` (runs the tool calls
the model made), looping until the model answers without tool calls. The plugin runs each node
as an activity named ``{graph}.{node}`` (``support-triage.agent``, ``support-triage.tools``),
so the model call and the tool calls are durable and retried by Temporal.

The system prompt is the first message of the graph state, and the model name, temperature
and tools' schemas are the graph's runtime *context*; the workflow builds both and LangGraph
hands them to every node. That keeps them in the node activities' input, so a changed prompt,
model setting or tool schema is visible in the recorded history (and to ``replaykit check``).
A prompt hard-coded inside an activity node would never reach the history: on replay,
activity results come from the history and the node code does not run.

Offline, the agent node uses ``langchain_core``'s ``FakeMessagesListChatModel`` with a script
(``reference_agents.offline_models``); with a real model the node would call
``init_chat_model(model, temperature=...).bind_tools(tools)`` the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, TypedDict

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from langchain_core.messages import (
        AnyMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        convert_to_messages,
    )
    from langchain_core.utils.function_calling import convert_to_openai_tool
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages
    from langgraph.runtime import Runtime

    from reference_agents._integrations import registered_graph
    from reference_agents.agent_activities import knowledge_base_answer, write_case_note
    from reference_agents.offline_models import triage_chat_model

GRAPH_NAME = "support-triage"

TRIAGE_PROMPT = (
    "You triage support tickets for a platform that runs AI agents on Temporal. "
    "First search the knowledge base for the articles that match the ticket, then record a "
    "case note with the category and the article you chose. "
    "Finish with a one-paragraph answer for the customer that names the article; "
    "if nothing in the knowledge base matches, say so and escalate instead of guessing."
)
TRIAGE_MODEL = "gpt-4o-mini"
TRIAGE_TEMPERATURE = 0.1


class TriageState(TypedDict):
    """The graph state: the conversation, LangGraph's ``add_messages`` reducer appends."""

    messages: Annotated[list[AnyMessage], add_messages]


class TriageContext(TypedDict):
    """How the model is called (LangGraph runtime context)."""

    model: str
    temperature: float
    tools: list[dict[str, Any]]
    workflow_id: str


def search_knowledge_base(query: str) -> str:
    """Search the knowledge base of durable-execution articles.

    Args:
        query: A few keywords describing what to look up.
    """
    return knowledge_base_answer(query)


def record_case_note(category: str, article: str) -> str:
    """Record the ticket's category and the article chosen for it in the case file.

    Args:
        category: The ticket category, e.g. "retries" or "versioning".
        article: The id of the knowledge-base article that answers the ticket.
    """
    return f"{category}: {article}"


TOOLS = [search_knowledge_base, record_case_note]


async def call_model(state: TriageState, runtime: Runtime[TriageContext]) -> dict[str, Any]:
    """The ``agent`` node: one chat-model call on the conversation (system prompt first)."""
    context = runtime.context
    # Inside the node's activity the state arrives as JSON: make messages of it again.
    messages = convert_to_messages(state["messages"])
    model = triage_chat_model(
        messages, model=context["model"], temperature=context["temperature"], tools=context["tools"]
    )
    reply = await model.ainvoke(messages)
    return {"messages": [reply]}


async def run_tools(state: TriageState, runtime: Runtime[TriageContext]) -> dict[str, Any]:
    """The ``tools`` node: run every tool call of the last model reply."""
    replies: list[ToolMessage] = []
    last = convert_to_messages(state["messages"])[-1]
    for call in getattr(last, "tool_calls", []):
        if call["name"] == "search_knowledge_base":
            output = search_knowledge_base(**call["args"])
        elif call["name"] == "record_case_note":
            note = record_case_note(**call["args"])
            output = write_case_note(runtime.context["workflow_id"], call["args"]["category"], note)
        else:
            output = f"unknown tool {call['name']!r}"
        replies.append(ToolMessage(output, tool_call_id=call["id"], name=call["name"]))
    return {"messages": replies}


async def route_after_model(state: TriageState) -> str:
    """Loop to ``tools`` while the model asks for tools, else finish."""
    last = state["messages"][-1]
    return "tools" if getattr(last, "tool_calls", None) else END


def build_triage_graph() -> StateGraph[Any, Any, Any, Any]:
    """A fresh, uncompiled graph (``LangGraphPlugin`` wraps its nodes in place)."""
    node_options = {"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=30)}
    builder = StateGraph(TriageState, context_schema=TriageContext)
    builder.add_node("agent", call_model, metadata=dict(node_options))
    builder.add_node("tools", run_tools, metadata=dict(node_options))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route_after_model, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder


@workflow.defn
class TriageGraphWorkflow:
    """Triages one support ticket with the LangGraph agent; returns the customer answer."""

    @workflow.run
    async def run(self, ticket: str) -> str:
        context: TriageContext = {
            "model": TRIAGE_MODEL,
            "temperature": TRIAGE_TEMPERATURE,
            "tools": [convert_to_openai_tool(tool) for tool in TOOLS],
            "workflow_id": workflow.info().workflow_id,
        }
        app = registered_graph(GRAPH_NAME).compile()
        state = {"messages": [SystemMessage(TRIAGE_PROMPT), HumanMessage(ticket)]}
        final = await app.ainvoke(state, context=context)
        return str(final["messages"][-1].content)


WORKFLOWS = [TriageGraphWorkflow]
ACTIVITIES: list[Any] = []  # the plugin registers the node activities itself
