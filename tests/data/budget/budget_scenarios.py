"""Scenarios recording the quadratic agent loop and its bounded twin."""

from __future__ import annotations

from typing import Any

from quadratic_agent import QuadraticChatAgent, WindowedChatAgent, call_llm

from replaykit import scenario

TURNS = 30


@scenario(workflows=[QuadraticChatAgent, WindowedChatAgent], activities=[call_llm])
async def chat_loops(run: Any) -> None:
    assert await run.execute(QuadraticChatAgent.run, TURNS, id="quadratic-1") == 2 * TURNS
    assert await run.execute(WindowedChatAgent.run, TURNS, id="windowed-1") == 2 * TURNS
