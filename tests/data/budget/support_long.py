"""A longer conversation with the reference support agent (budget numbers): 12 customer
messages, continue-as-new every 3 turns. LLM answers come from replaykit's scripted local
endpoint (the test sets REPLAYKIT_RECORD_CASSETTES=scripted and a temporary cassette dir)."""

from __future__ import annotations

from typing import Any

from reference_agents import support
from reference_agents._offline import offline_llm
from reference_agents.models import SupportSession
from reference_agents.scenarios import wait_for_query
from replaykit import scenario

MESSAGES = [f"Message {i}: my CSV export still fails with error {40 + i}" for i in range(12)]


@scenario(workflows=support.WORKFLOWS, activities=support.ACTIVITIES)
async def support_long(run: Any) -> None:
    agent = support.CustomerSupportAgentWorkflow
    with offline_llm("support_long"):
        handle = await run.start(
            agent.run, SupportSession("session-long", max_turns_per_run=3), id="support-long"
        )
        for i, message in enumerate(MESSAGES, 1):
            await handle.signal(agent.receive_message, message)
            await wait_for_query(handle, agent.history, lambda h, n=i: len(h) == 2 * n)
        await handle.signal(agent.close)
        transcript = await handle.result()
    assert len(transcript.messages) == 2 * len(MESSAGES)
