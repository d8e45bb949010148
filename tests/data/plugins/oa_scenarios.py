"""Scenarios for the OpenAI Agents plumbing tests."""

from replaykit import scenario
from tests.data.plugins.headers import HeaderWorkflow, context_plugin, lookup
from tests.data.plugins.oa_tools import ToolsWorkflow, get_weather, plugin


@scenario(workflows=[ToolsWorkflow], activities=[get_weather], plugins=[plugin])
async def travel(run):  # type: ignore[no-untyped-def]
    answer = await run.execute(ToolsWorkflow.run, "What should I pack for Lisbon?",
                               id="travel-1")
    assert "jacket" in answer, answer


@scenario(workflows=[ToolsWorkflow], activities=[get_weather], name="missing_plugin")
async def missing_plugin(run):  # type: ignore[no-untyped-def]
    await run.execute(ToolsWorkflow.run, "What should I pack?", id="travel-2")


@scenario(workflows=[HeaderWorkflow], activities=[lookup], plugins=[context_plugin])
async def headers(run):  # type: ignore[no-untyped-def]
    assert await run.execute(HeaderWorkflow.run, "ada", id="headers-1") == "hello ada"
