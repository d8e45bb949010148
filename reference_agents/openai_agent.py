"""OpenAIAgentWorkflow: the durable tool-calling loop.

The workflow owns the message list (durable agent memory). Each turn is one LLM activity
(chat completions with tools, through the ``openai`` client); each tool call the model makes is
its own activity, and its result goes back to the model as a ``tool`` message. Rate limits (429)
and server errors (5xx) are retried with exponential backoff by Temporal; bad requests (400) and
bad credentials (401) fail fast: the activity raises a non-retryable ``ApplicationError``.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import (
        AssistantTurn,
        ChatWithToolsRequest,
        OpenAIAgentRequest,
        OpenAIAgentResult,
    )
    from reference_agents.tool_specs import tool_specs

_SYSTEM = "You are a research assistant. Use the tools to look things up, then answer concisely."


@workflow.defn
class OpenAIAgentWorkflow:
    """LLM + tools loop with the conversation held in workflow state."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []

    @workflow.query
    def messages(self) -> list[dict[str, Any]]:
        """The conversation so far (system, user, assistant and tool messages)."""
        return self._messages

    @workflow.run
    async def run(self, request: OpenAIAgentRequest) -> OpenAIAgentResult:
        tools = tool_specs(request.tools)
        self._messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": request.task},
        ]
        called: list[str] = []
        for turn in range(1, request.max_turns + 1):
            reply: AssistantTurn = await workflow.execute_activity(
                acts.call_chat_with_tools,
                ChatWithToolsRequest(
                    model=request.model, messages=list(self._messages), tools=tools
                ),
                start_to_close_timeout=policies.LLM_TIMEOUT,
                retry_policy=policies.LLM_RETRY,
            )
            if not reply.tool_calls:
                self._messages.append({"role": "assistant", "content": reply.content or ""})
                return OpenAIAgentResult(reply.content or "", turn, called, self._messages)
            self._messages.append(
                {
                    "role": "assistant",
                    "content": reply.content,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in reply.tool_calls
                    ],
                }
            )
            for call in reply.tool_calls:
                result: str = await workflow.execute_activity(
                    acts.execute_tool,
                    call,
                    start_to_close_timeout=policies.TOOL_TIMEOUT,
                    retry_policy=policies.TOOL_RETRY,
                )
                called.append(call.name)
                self._messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        return OpenAIAgentResult(
            f"stopped after {request.max_turns} turns without a final answer",
            request.max_turns,
            called,
            self._messages,
        )


WORKFLOWS = [OpenAIAgentWorkflow]
ACTIVITIES = [acts.call_chat_with_tools, acts.execute_tool]
