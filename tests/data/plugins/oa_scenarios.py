"""Scenarios for the OpenAI Agents plumbing tests."""

from replaykit import scenario
from tests.data.plugins.oa_tools import ToolsWorkflow, get_weather, plugin


@scenario(workflows=[ToolsWorkflow], activities=[get_weather], plugins=[plugin])
async def travel(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(ToolsWorkflow.run, "What should I pack for Lisbon?",
                               id="travel-1")
    assert "jacket" in answer, answer


@scenario(workflows=[ToolsWorkflow], activities=[get_weather], name="travel_no_plugin")
async def travel_no_plugin(run):  # type: ignore[no-untyped-def]
    await run.execute(ToolsWorkflow.run, "What should I pack?", id="travel-2")
