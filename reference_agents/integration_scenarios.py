"""Recording scenarios for the agents built on Temporal's AI-framework integrations.

``replaykit record reference_agents/integration_scenarios.py --out fixtures/integration_histories``

Each scenario names its plugins (factories from ``reference_agents.integration_plugins``: a
fresh plugin per run, with the framework's own offline test model), so recording needs neither
network nor API key. Workflow ids are fixed so recorded histories are stable; each scenario
asserts what the agent did.
"""

from __future__ import annotations

from reference_agents import agent_activities, integration_plugins
from reference_agents.langgraph_agent import TriageGraphWorkflow
from reference_agents.offline_models import RUNBOOK_INCIDENT, SUPPORT_QUESTION, TRIAGE_TICKET
from reference_agents.openai_agents_agent import ACTIVITIES as SUPPORT_ACTIVITIES
from reference_agents.openai_agents_agent import SupportDeskAgentWorkflow
from reference_agents.pydantic_ai_agent import RunbookAgentWorkflow
from replaykit import scenario


@scenario(
    workflows=[SupportDeskAgentWorkflow],
    activities=SUPPORT_ACTIVITIES,
    plugins=[integration_plugins.openai_agents],
)
async def support_desk_agent(run):  # type: ignore[no-untyped-def]
    """OpenAI Agents SDK: research with tools, file a note, hand off to the reply writer."""
    reply = await run.execute(SupportDeskAgentWorkflow.run, SUPPORT_QUESTION, id="support-desk-1")
    assert "maximum_attempts" in reply and "[retry-policies]" in reply, reply
    notes = agent_activities.case_notes("support-desk-1")
    assert [topic for _, topic, _ in notes] == ["LLM call retried forever"], notes


@scenario(workflows=[TriageGraphWorkflow], plugins=[integration_plugins.langgraph])
async def triage_graph_agent(run):  # type: ignore[no-untyped-def]
    """LangGraph: the agent node calls the model, the tools node runs its tool calls."""
    answer = await run.execute(TriageGraphWorkflow.run, TRIAGE_TICKET, id="triage-graph-1")
    assert "workflow.patched" in answer and "workflow-versioning" in answer, answer
    notes = agent_activities.case_notes("triage-graph-1")
    assert [topic for _, topic, _ in notes] == ["versioning"], notes


@scenario(workflows=[RunbookAgentWorkflow], plugins=[integration_plugins.pydantic_ai])
async def runbook_agent(run):  # type: ignore[no-untyped-def]
    """Pydantic AI: one tool call (search the runbooks), then the numbered answer."""
    answer = await run.execute(RunbookAgentWorkflow.run, RUNBOOK_INCIDENT, id="runbook-1")
    assert answer.startswith("1. ") and "continue_as_new" in answer, answer
