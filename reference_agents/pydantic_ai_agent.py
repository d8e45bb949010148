"""RunbookAgentWorkflow: a Pydantic AI agent made durable by its Temporal integration.

The agent is a plain ``pydantic_ai.Agent`` with the ``TemporalDurability`` capability (the
2026 replacement of the deprecated ``TemporalAgent`` wrapper). The workflow lists it in
``__pydantic_ai_agents__``, so ``PydanticAIPlugin`` on the worker registers its activities:
every model request is an activity ``agent__runbook_agent__model_request`` whose input holds
the instructions, the tool definitions and the model settings; tool calls are activities too.

Offline, the model is Pydantic AI's own ``FunctionModel`` with a script
(``reference_agents.offline_models``); in production it would be a model name such as
``"openai:gpt-4o-mini"``.
"""

from __future__ import annotations

from temporalio import workflow

RUNBOOK_INSTRUCTIONS = (
    "You are the on-call assistant for a team that runs AI agents on Temporal. "
    "When an engineer describes an incident, look up the matching runbook article first and "
    "base every step on it. "
    "Reply with at most three numbered steps, the most urgent first, and name the article."
)

with workflow.unsafe.imports_passed_through():
    from pydantic_ai import Agent, ModelSettings
    from pydantic_ai.models.function import FunctionModel

    from reference_agents._integrations import PydanticAIWorkflow, temporal_durability
    from reference_agents.agent_activities import knowledge_base_answer
    from reference_agents.offline_models import runbook_reply

    # Built inside the pass-through block: constructing an agent imports parts of Pydantic AI
    # lazily (HTTP clients, pricing), which the workflow sandbox must not re-import. With
    # PydanticAIPlugin on the worker they are passed through anyway; this keeps the module
    # loadable by a worker or replayer that hosts other workflows without the plugin.
    runbook_agent = Agent(
        FunctionModel(runbook_reply, model_name="runbook-script"),
        name="runbook_agent",
        instructions=RUNBOOK_INSTRUCTIONS,
        model_settings=ModelSettings(temperature=0.3, max_tokens=500),
        capabilities=temporal_durability(),
    )


@runbook_agent.tool_plain
def search_runbooks(query: str) -> str:
    """Search the runbook articles of the knowledge base.

    Args:
        query: A few keywords describing the incident.
    """
    return knowledge_base_answer(query)


@workflow.defn
class RunbookAgentWorkflow(PydanticAIWorkflow):
    """Answers one incident report with the runbook agent."""

    __pydantic_ai_agents__ = [runbook_agent]

    @workflow.run
    async def run(self, incident: str) -> str:
        result = await runbook_agent.run(incident)
        return result.output


WORKFLOWS = [RunbookAgentWorkflow]
ACTIVITIES: list[object] = []  # PydanticAIPlugin registers the agent's activities itself
