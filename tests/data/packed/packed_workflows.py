"""An agent-like workflow whose payloads are packed by packed_conv's binary converter."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def ask_llm(prompt: str) -> str:
    return f"answer to: {prompt}"


@workflow.defn
class PackedAgent:
    @workflow.run
    async def run(self, question: str) -> str:
        answer = await workflow.execute_activity(
            ask_llm, f"Answer briefly: {question}",
            start_to_close_timeout=timedelta(seconds=3),
        )
        return answer.upper()


@workflow.defn
class PackedTimer:
    """Decodes no payload at all: it sleeps and returns None."""

    @workflow.run
    async def run(self) -> None:
        await workflow.sleep(timedelta(milliseconds=10))
