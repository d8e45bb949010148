"""SupportDeskAgentWorkflow: the guide's "OpenAI Agents SDK integration", done the 2026 way.

The guide wraps each model call and each tool call in an activity by hand. With Temporal's
``OpenAIAgentsPlugin`` the agent is written with the OpenAI Agents SDK itself (``Agent``,
tools, handoffs, ``Runner.run``) and the plugin makes it durable: every model call becomes an
``invoke_model_activity`` whose input carries the agent's instructions, tools, model settings
and handoffs, and tools made with ``activity_as_tool`` run as ordinary activities.

A support specialist researches the customer's question in the knowledge base, files a case
note, formats a citation (an in-workflow ``function_tool``) and hands the case off to a reply
writer, which answers the customer.

Run it with the plugin on the client and the worker (``OpenAIAgentsPlugin()`` for a real
model; the recording scenarios use the SDK's offline ``TestModelProvider``, see
``reference_agents.integration_scenarios``).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, ModelSettings, Runner, function_tool

    from reference_agents._integrations import activity_as_tool
    from reference_agents.agent_activities import save_case_note, search_knowledge_base

SPECIALIST_MODEL = "gpt-4o-mini"
WRITER_MODEL = "gpt-4o"

SPECIALIST_INSTRUCTIONS = (
    "You are a support specialist for a team that runs AI agents on Temporal. "
    "Read the customer's question carefully and look up the relevant articles in the "
    "knowledge base before you answer anything; never rely on memory for product facts. "
    "Save a short case note that summarises what the customer asked and what you found. "
    "Cite every article you rely on with the cite_source tool. "
    "When the research is complete, hand the case to the reply writer, who writes to the "
    "customer; do not write the reply yourself."
)

WRITER_INSTRUCTIONS = (
    "You write replies to customers of a durable-execution platform. "
    "Use only the facts and citations the support specialist gathered. "
    "Answer in three sentences or fewer, in a friendly and precise tone, and end with the "
    "citations."
)


@function_tool
def cite_source(doc_id: str, title: str) -> str:
    """Format a citation of a knowledge-base article for the reply.

    Args:
        doc_id: The article id shown in brackets by the knowledge-base search.
        title: The article title.
    """
    return f"[{doc_id}] {title}"


def build_support_agent() -> Agent[None]:
    """The specialist (tools + a handoff) and the reply writer it hands off to."""
    writer = Agent[None](
        name="Reply writer",
        handoff_description="Writes the final reply to the customer from the research.",
        instructions=WRITER_INSTRUCTIONS,
        model=WRITER_MODEL,
        model_settings=ModelSettings(temperature=0.7, max_tokens=400),
    )
    return Agent[None](
        name="Support specialist",
        instructions=SPECIALIST_INSTRUCTIONS,
        model=SPECIALIST_MODEL,
        model_settings=ModelSettings(temperature=0.2, max_tokens=800),
        tools=[
            activity_as_tool(search_knowledge_base, start_to_close_timeout=timedelta(seconds=30)),
            activity_as_tool(save_case_note, start_to_close_timeout=timedelta(seconds=30)),
            cite_source,
        ],
        handoffs=[writer],
    )


@workflow.defn
class SupportDeskAgentWorkflow:
    """Answers one customer question with an OpenAI Agents SDK agent."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_support_agent(), input=question, max_turns=12)
        return str(result.final_output)


WORKFLOWS = [SupportDeskAgentWorkflow]
ACTIVITIES = [search_knowledge_base, save_case_note]
