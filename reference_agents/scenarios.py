"""Recording scenarios for every reference agent (``replaykit record reference_agents/scenarios.py``).

Workflow ids are fixed so recorded histories are stable. LLM calls replay from
``fixtures/cassettes/<scenario>.yaml`` (see ``reference_agents._offline``), so recording needs
neither network nor key. Each scenario asserts the behaviour it demonstrates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from reference_agents import (
    approval,
    monitoring,
    openai_agent,
    planner,
    research,
    support,
    versioned,
    weekly,
)
from reference_agents._offline import offline_llm
from reference_agents.approval import ApprovalRequiredAgentWorkflow
from reference_agents.models import (
    ApprovalDecision,
    ApprovalRequest,
    MonitoringState,
    OpenAIAgentRequest,
    PlanEdit,
    PlannerRequest,
    ResearchRequest,
    ReviewDecision,
    SupportSession,
    WeeklyResearchInput,
)
from reference_agents.monitoring import MonitoringAgentWorkflow
from reference_agents.openai_agent import OpenAIAgentWorkflow
from reference_agents.planner import PlannerAgentWorkflow, ReviewWorkflow
from reference_agents.research import ResearchAgentWorkflow
from reference_agents.support import CustomerSupportAgentWorkflow
from reference_agents.versioned import PRE_PATCH_CALLBACK, VersionedResearchAgentWorkflow
from reference_agents.weekly import WeeklyResearchAgent
from replaykit import scenario
from replaykit.record import Rule, reply_error

T = TypeVar("T")


async def wait_for_query(
    handle: WorkflowHandle[Any, Any],
    query: Callable[..., Any],
    predicate: Callable[[Any], bool],
    *,
    timeout: float = 30.0,
) -> Any:
    """Poll a query until ``predicate(result)`` holds (queries need a running worker).

    A query that times out (the run is between workflow tasks, e.g. just continued as new,
    or the machine is loaded) is asked again until ``timeout``.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    value: Any = None
    while True:
        try:
            value = await handle.query(query, rpc_timeout=timedelta(seconds=10))
        except RPCError as err:
            if asyncio.get_running_loop().time() > deadline:
                raise
            if err.status not in (
                RPCStatusCode.DEADLINE_EXCEEDED,
                RPCStatusCode.CANCELLED,
                RPCStatusCode.UNAVAILABLE,
            ):
                raise
            await asyncio.sleep(0.2)
            continue
        if predicate(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"query {getattr(query, '__name__', query)} still {value!r} after {timeout:g} s"
            )
        await asyncio.sleep(0.05)


async def _expect_cancelled(result: Awaitable[Any]) -> None:
    try:
        await result
    except WorkflowFailureError as err:
        assert isinstance(err.cause, CancelledError), f"expected cancellation, got {err.cause!r}"
        return
    raise AssertionError("workflow completed although it was cancelled")


# --------------------------------------------------------------------------- research


@scenario(workflows=research.WORKFLOWS, activities=research.ACTIVITIES)
async def research_happy_path(run: Any) -> None:
    """Decompose -> search -> PDF extraction -> retrieval -> synthesis -> report."""
    with offline_llm("research_happy_path"):
        report = await run.execute(
            ResearchAgentWorkflow.run, ResearchRequest("durable AI agents"), id="research-1"
        )
    assert report.status == "published" and report.sources, report


@scenario(workflows=research.WORKFLOWS, activities=research.ACTIVITIES)
async def research_cancelled(run: Any) -> None:
    """Cancelled while waiting for publish approval: the cleanup activity runs, then it ends cancelled."""
    with offline_llm("research_cancelled"):
        handle = await run.start(
            ResearchAgentWorkflow.run,
            ResearchRequest(
                "event sourcing for agents", max_sub_questions=2, require_publish_approval=True
            ),
            id="research-cancel-1",
        )
        await wait_for_query(
            handle, ResearchAgentWorkflow.status, lambda s: s == "awaiting_publish_approval"
        )
        await handle.cancel()
        await _expect_cancelled(handle.result())


# --------------------------------------------------------------------------- long-running loops


@scenario(workflows=monitoring.WORKFLOWS, activities=monitoring.ACTIVITIES, server="timeskip")
async def monitoring_continue_as_new(run: Any) -> None:
    """Hourly checks; continue-as-new once the history passes 20 events; ends after 6 checks."""
    state = MonitoringState(
        targets=["api-latency", "queue-depth"], history_threshold=20, max_checks=6
    )
    summary = await run.execute(MonitoringAgentWorkflow.run, state, id="monitoring-1")
    assert summary.checks_done == 6 and summary.runs > 1, summary


@scenario(workflows=weekly.WORKFLOWS, activities=weekly.ACTIVITIES, server="timeskip")
async def weekly_two_cycles(run: Any) -> None:
    """Two weekly cycles: report, durable 7-day timer, continue-as-new, report."""
    with offline_llm("weekly_two_cycles"):
        summary = await run.execute(
            WeeklyResearchAgent.run,
            WeeklyResearchInput("agent reliability", max_cycles=2),
            id="weekly-1",
        )
    assert summary.cycles == 2 and len(summary.report_ids) == 2, summary


# --------------------------------------------------------------------------- human in the loop


@scenario(workflows=approval.WORKFLOWS, activities=approval.ACTIVITIES)
async def approval_edited_and_approved(run: Any) -> None:
    """Plan, edit the plan with an update, approve with a signal, execute the edited plan."""
    with offline_llm("approval_edited_and_approved"):
        handle = await run.start(
            ApprovalRequiredAgentWorkflow.run,
            ApprovalRequest("migrate the billing database"),
            id="approval-1",
        )
        await wait_for_query(
            handle, ApprovalRequiredAgentWorkflow.status, lambda s: s.state == "awaiting_approval"
        )
        edited = ["Back up the billing database", "Run the migration", "Verify row counts"]
        status = await handle.execute_update(
            ApprovalRequiredAgentWorkflow.edit_plan, PlanEdit(edited, "alice")
        )
        assert status.revision == 2
        await handle.signal(ApprovalRequiredAgentWorkflow.approve, ApprovalDecision("alice"))
        result = await handle.result()
    assert result.state == "completed" and result.plan == edited and len(result.outputs) == 3, (
        result
    )


@scenario(workflows=approval.WORKFLOWS, activities=approval.ACTIVITIES)
async def approval_rejected(run: Any) -> None:
    """A reviewer rejects the plan: nothing is executed."""
    with offline_llm("approval_rejected"):
        handle = await run.start(
            ApprovalRequiredAgentWorkflow.run,
            ApprovalRequest("delete inactive accounts"),
            id="approval-rejected-1",
        )
        await wait_for_query(
            handle, ApprovalRequiredAgentWorkflow.status, lambda s: s.state == "awaiting_approval"
        )
        await handle.signal(
            ApprovalRequiredAgentWorkflow.reject, ApprovalDecision("bob", "too risky")
        )
        result = await handle.result()
    assert result.state == "rejected" and result.outputs == [], result


@scenario(workflows=approval.WORKFLOWS, activities=approval.ACTIVITIES, server="timeskip")
async def approval_deadline(run: Any) -> None:
    """Nobody decides within the hour: the agent times out without executing."""
    with offline_llm("approval_deadline"):
        result = await run.execute(
            ApprovalRequiredAgentWorkflow.run,
            ApprovalRequest("rotate the API keys", approval_timeout_seconds=3600),
            id="approval-timeout-1",
        )
    assert result.state == "timed_out" and result.outputs == [], result


@scenario(workflows=planner.WORKFLOWS, activities=planner.ACTIVITIES)
async def planner_with_review(run: Any) -> None:
    """Planner fans out one executor per task, validates, and waits for a human review."""
    with offline_llm("planner_with_review"):
        handle = await run.start(
            PlannerAgentWorkflow.run,
            PlannerRequest("write a guide to reliable agents", max_tasks=3),
            id="planner-1",
        )
        await wait_for_query(handle, PlannerAgentWorkflow.status, lambda s: s == "awaiting_review")
        review_id = await handle.query(PlannerAgentWorkflow.review_workflow_id)
        review = run.client.get_workflow_handle(review_id)
        await review.signal(ReviewWorkflow.decide, ReviewDecision(approved=True, reviewer="carol"))
        result = await handle.result()
    assert result.status == "accepted" and len(result.results) == 3, result


@scenario(workflows=support.WORKFLOWS, activities=support.ACTIVITIES)
async def support_conversation(run: Any) -> None:
    """Three turns with continue-as-new every two turns; memory survives it; close ends it."""
    messages = [
        "My export fails with error 42",
        "It happens on every CSV export",
        "Thanks, that fixed it",
    ]
    with offline_llm("support_conversation"):
        handle = await run.start(
            CustomerSupportAgentWorkflow.run,
            SupportSession("session-1", max_turns_per_run=2),
            id="support-1",
        )
        for i, message in enumerate(messages, 1):
            await handle.signal(CustomerSupportAgentWorkflow.receive_message, message)
            # one message at a time keeps the recorded history's shape stable
            await wait_for_query(
                handle, CustomerSupportAgentWorkflow.history, lambda h, n=i: len(h) == 2 * n
            )
        await handle.signal(CustomerSupportAgentWorkflow.close)
        transcript = await handle.result()
    assert transcript.runs == 2 and [m.content for m in transcript.messages[::2]] == messages, (
        transcript
    )


# --------------------------------------------------------------------------- OpenAI tool loop


_AGENT_TOOLS = ["search_corpus", "read_document"]


@scenario(workflows=openai_agent.WORKFLOWS, activities=openai_agent.ACTIVITIES)
async def openai_tool_agent(run: Any) -> None:
    """The model calls two tools (each its own activity), then answers."""
    with offline_llm("openai_tool_agent"):
        result = await run.execute(
            OpenAIAgentWorkflow.run,
            OpenAIAgentRequest("How should an agent handle LLM rate limits?", tools=_AGENT_TOOLS),
            id="openai-agent-1",
        )
    assert result.tool_calls == _AGENT_TOOLS and result.turns == 3, result


@scenario(workflows=openai_agent.WORKFLOWS, activities=openai_agent.ACTIVITIES)
async def openai_rate_limited(run: Any) -> None:
    """Two HTTP 429 answers are retried by Temporal (backoff in the history), then it succeeds."""
    rules = [Rule(when=lambda r: True, reply=reply_error(429), times=2, name="429")]
    with offline_llm("openai_rate_limited", rules=rules):
        result = await run.execute(
            OpenAIAgentWorkflow.run,
            OpenAIAgentRequest("What is continue-as-new?", tools=["search_corpus"]),
            id="openai-agent-429-1",
        )
    assert result.tool_calls == ["search_corpus"], result


# --------------------------------------------------------------------------- versioning


@scenario(workflows=versioned.WORKFLOWS, activities=versioned.ACTIVITIES)
async def versioned_research_pre_patch(run: Any) -> None:
    """A v1 execution: recorded with patch activation off, so patched() is False (no marker)."""
    queue = f"{run.task_queue}-pre-patch"
    with offline_llm("versioned_research_pre_patch"):
        async with Worker(
            run.client,
            task_queue=queue,
            workflows=versioned.WORKFLOWS,
            activities=versioned.ACTIVITIES,
            patch_activation_callback=PRE_PATCH_CALLBACK,
        ):
            report = await run.client.execute_workflow(
                VersionedResearchAgentWorkflow.run,
                ResearchRequest("workflow versioning", max_sub_questions=2),
                id="versioned-research-v1",
                task_queue=queue,
            )
    assert "Caveat" not in report.summary, report


@scenario(workflows=versioned.WORKFLOWS, activities=versioned.ACTIVITIES)
async def versioned_research_post_patch(run: Any) -> None:
    """A v2 execution: patched() is True and the improved synthesis (with critique) runs."""
    with offline_llm("versioned_research_post_patch"):
        report = await run.execute(
            VersionedResearchAgentWorkflow.run,
            ResearchRequest("workflow versioning", max_sub_questions=2),
            id="versioned-research-v2",
        )
    assert "Caveat" in report.summary, report
