"""A small agent-like workflow whose payloads travel encrypted (see codec_conv.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def ask_llm(prompt: str) -> str:
    return f"answer to: {prompt}"


@workflow.defn
class SecretAgent:
    @workflow.run
    async def run(self, question: str) -> str:
        answer = await workflow.execute_activity(
            ask_llm, f"Answer briefly: {question}",
            start_to_close_timeout=timedelta(seconds=3),
        )
        return answer.upper()
