"""A deliberately quadratic agent loop, and its bounded twin (history-budget tests).

``QuadraticChatAgent`` sends the whole conversation to ``call_llm`` on every turn and never
continues as new: each turn's input is ~1.2 KB larger than the last, so the history grows
quadratically. ``WindowedChatAgent`` sends only the last two messages.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

REPLY = "r" * 560


@activity.defn
async def call_llm(conversation: list[dict[str, str]], model: str) -> str:
    """A fixed-size reply (no network)."""
    return f"{REPLY}{len(conversation):04d}"


@workflow.defn
class QuadraticChatAgent:
    """Every model call carries the whole conversation; no continue-as-new."""

    @workflow.run
    async def run(self, turns: int) -> int:
        conversation: list[dict[str, str]] = []
        for turn in range(turns):
            conversation.append({"role": "user", "content": f"question {turn:03d} " + "q" * 560})
            reply = await workflow.execute_activity(
                call_llm, args=[conversation, "test-model"],
                start_to_close_timeout=timedelta(seconds=10),
            )
            conversation.append({"role": "assistant", "content": reply})
        return len(conversation)


@workflow.defn
class WindowedChatAgent:
    """Only the last exchange is sent: the input size stays flat."""

    @workflow.run
    async def run(self, turns: int) -> int:
        conversation: list[dict[str, str]] = []
        for turn in range(turns):
            conversation.append({"role": "user", "content": f"question {turn:03d} " + "q" * 560})
            reply = await workflow.execute_activity(
                call_llm, args=[conversation[-2:], "test-model"],
                start_to_close_timeout=timedelta(seconds=10),
            )
            conversation.append({"role": "assistant", "content": reply})
        return len(conversation)
