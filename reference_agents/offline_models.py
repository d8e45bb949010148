"""Offline models for the framework-based reference agents: the frameworks' own test models.

No network and no API key: the OpenAI Agents agent gets ``temporalio.openai_agents.testing``'s
``TestModel`` through a ``TestModelProvider``; the LangGraph agent gets ``langchain_core``'s
``FakeMessagesListChatModel``; the Pydantic AI agent gets ``pydantic_ai``'s ``FunctionModel``.

Each script answers from the conversation it is given (how many tool results it holds), not
from a counter, so a retried or replayed model call on another worker process gets the same
answer as the first one did.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from temporalio.openai_agents.testing import TestModelProvider

SUPPORT_QUESTION = "My agent workflow retries a failing LLM call forever. How do I stop that?"


def _tool_results(items: Any) -> int:
    if isinstance(items, str):
        return 0
    count = 0
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
        if kind == "function_call_output":
            count += 1
    return count


# The support desk conversation: search, note, cite, hand off, then the writer replies.
_SUPPORT_SCRIPT: tuple[tuple[str, dict[str, str]] | str, ...] = (
    ("search_knowledge_base", {"query": "retry policy maximum attempts non-retryable errors"}),
    (
        "save_case_note",
        {
            "topic": "LLM call retried forever",
            "note": "Customer's LLM activity has no maximum_attempts; suggested a retry policy "
            "with a cap and non-retryable error types.",
        },
    ),
    ("cite_source", {"doc_id": "retry-policies", "title": "Retry policies"}),
    ("transfer_to_reply_writer", {}),
    "Give the LLM activity a RetryPolicy with maximum_attempts and list errors such as "
    "AuthenticationError as non_retryable_error_types, so bad requests fail fast while rate "
    "limits are still retried with backoff. [retry-policies] Retry policies",
)


def support_desk_model_provider() -> TestModelProvider:
    """The ``model_provider`` for ``OpenAIAgentsPlugin`` in offline runs: the SDK's
    ``TestModelProvider`` with a ``TestModel`` whose next response follows from the tool
    results already in the input."""
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider

    class SupportDeskModel(TestModel):
        __test__ = False

        def __init__(self) -> None:
            super().__init__(lambda: ResponseBuilders.output_message("(unused)"))

        async def get_response(  # type: ignore[override]
            self, system_instructions: str | None, input: Any, *args: Any, **kwargs: Any
        ) -> Any:
            step = _SUPPORT_SCRIPT[min(_tool_results(input), len(_SUPPORT_SCRIPT) - 1)]
            if isinstance(step, str):
                return ResponseBuilders.output_message(step)
            name, arguments = step
            return ResponseBuilders.tool_call(
                json.dumps(arguments), name, call_id=f"call-{name}", item_id=f"item-{name}"
            )

    return TestModelProvider(SupportDeskModel())


TRIAGE_TICKET = (
    "Ticket 4711: after we deployed a new prompt, running agent workflows started failing "
    "with a nondeterminism error. What should we have done?"
)

# The triage conversation: search, record the note, then answer.
_TRIAGE_SCRIPT: tuple[tuple[str, dict[str, str]] | str, ...] = (
    ("search_knowledge_base", {"query": "workflow versioning patched deploy running executions"}),
    ("record_case_note", {"category": "versioning", "article": "workflow-versioning"}),
    "Running executions replay their history against the new code, so a change in what the "
    "workflow does must be guarded with workflow.patched(...) until the old executions have "
    "finished; see the article workflow-versioning.",
)


def triage_chat_model(
    messages: list[Any], *, model: str, temperature: float, tools: list[dict[str, Any]]
) -> FakeMessagesListChatModel:
    """``langchain_core``'s fake chat model, positioned at the script's next answer.

    ``model``, ``temperature`` and ``tools`` are what a real chat model would be created and
    bound with (``init_chat_model(model, temperature=...).bind_tools(tools)``); the fake model
    ignores them.
    """
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage, ToolMessage

    responses: list[Any] = []
    for index, step in enumerate(_TRIAGE_SCRIPT):
        if isinstance(step, str):
            responses.append(AIMessage(step))
        else:
            name, arguments = step
            responses.append(
                AIMessage("", tool_calls=[{"name": name, "args": arguments, "id": f"call-{index}"}])
            )
    done = sum(1 for m in messages if isinstance(m, ToolMessage))
    return FakeMessagesListChatModel(responses=responses, i=min(done, len(responses) - 1))


RUNBOOK_INCIDENT = (
    "Our research agent's workflow history passed 40,000 events overnight and the server "
    "warns it will terminate it. What do we do?"
)

_RUNBOOK_QUERY = "continue-as-new event history limit long running loop"
_RUNBOOK_ANSWER = (
    "1. Make the loop call workflow.continue_as_new with its state before the history grows "
    "past a few thousand events. 2. Check workflow.info().is_continue_as_new_suggested() on "
    "every cycle. 3. Carry only the state the next run needs. (article: continue-as-new)"
)


def runbook_reply(messages: list[Any], info: Any) -> Any:
    """The ``FunctionModel`` function of the runbook agent: search once, then answer."""
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart

    returned = any(
        isinstance(part, ToolReturnPart) for message in messages for part in message.parts
    )
    if returned:
        return ModelResponse(parts=[TextPart(_RUNBOOK_ANSWER)])
    return ModelResponse(
        parts=[ToolCallPart("search_runbooks", {"query": _RUNBOOK_QUERY}, tool_call_id="call-1")]
    )
