"""Workflows as a team writes them: an activity, children with continue-as-new, an agent."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, ModelSettings, Runner
    from temporalio.openai_agents import workflow as oa_workflow

INSTRUCTIONS = (
    "You are a careful travel assistant. Always check the weather with the tool before "
    "recommending what to pack, and answer in two sentences."
)


@activity.defn
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
async def get_weather(city: str) -> str:
    """The weather of a city (deterministic)."""
    return f"{city}: 18C and cloudy"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class BatchWorkflow:
    """Greets each name in a child workflow, one name per run (continue-as-new)."""

    @workflow.run
    async def run(self, names: list[str], done: int = 0) -> int:
        if not names:
            return done
        await workflow.execute_child_workflow(
            GreetingWorkflow.run, names[0], id=f"{workflow.info().workflow_id}-{names[0]}"
        )
        workflow.continue_as_new(args=[names[1:], done + 1])


@workflow.defn
class TravelAgentWorkflow:
    @workflow.run
    async def run(self, question: str) -> str:
        agent = Agent(
            name="Travel assistant",
            instructions=INSTRUCTIONS,
            model="gpt-4o-mini",
            model_settings=ModelSettings(temperature=0.2),
            tools=[
                oa_workflow.activity_as_tool(
                    get_weather, start_to_close_timeout=timedelta(seconds=10)
                )
            ],
        )
        result = await Runner.run(agent, input=question)
        return str(result.final_output)
