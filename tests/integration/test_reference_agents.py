"""Behaviour of the reference agents on the time-skipping test server (one per module)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.workflow import NondeterminismError

from reference_agents import store, versioned
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
from reference_agents.registry import all_activities, all_workflows
from reference_agents.research import ResearchAgentWorkflow
from reference_agents.scenarios import wait_for_query
from reference_agents.support import CustomerSupportAgentWorkflow
from reference_agents.versioned import PATCH_ID, VersionedResearchAgentWorkflow
from reference_agents.weekly import WeeklyResearchAgent
from replaykit.record import Rule, ScriptedEndpoint, reply_error, scripted_openai

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[2]
TEST_SERVER = ROOT / ".venv" / "bin" / "temporal-test-server"
QUEUE = "reference-agents-tests"


@pytest.fixture(scope="module")
def agent_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("agents") / "agents.sqlite3"
    saved = os.environ.get(store.DB_ENV)
    os.environ[store.DB_ENV] = str(path)
    yield path
    if saved is None:
        os.environ.pop(store.DB_ENV, None)
    else:
        os.environ[store.DB_ENV] = saved


# A time-skipping server per test: the test server skips no time while an activity runs
# anywhere on it, and a query or lock call that times out on a loaded machine can leave its
# time-skipping lock unbalanced; with one server per module, one test's leftovers stalled
# every later timer of the module (seen in a CI-like run under heavy load).
@pytest_asyncio.fixture(loop_scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER) if TEST_SERVER.exists() else None
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest_asyncio.fixture(loop_scope="module")
async def client(env: WorkflowEnvironment, agent_db: Path) -> AsyncIterator[Client]:
    # Default sticky cache: with max_cached_workflows=0, queries to a run that has just continued
    # as new hit "query deadline exceeded" on the time-skipping server (seen while writing these).
    # Replay correctness is covered by `replaykit check` over the recorded histories instead.
    async with Worker(
        env.client,
        task_queue=QUEUE,
        workflows=all_workflows(),
        activities=all_activities(),
        workflow_failure_exception_types=[NondeterminismError],
    ):
        yield env.client


@pytest.fixture
def llm() -> Iterator[ScriptedEndpoint]:
    with scripted_openai(set_env=True) as endpoint:
        yield endpoint


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        conn.executescript(store._SCHEMA)
        return list(conn.execute(sql, args))


async def _events(client: Client, workflow_id: str, run_id: str | None = None) -> list[Any]:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return list(history.events)


async def _runs(client: Client, workflow_id: str, first_run_id: str) -> list[list[Any]]:
    """Events of every run of a continue-as-new chain, in order."""
    runs, run_id = [], first_run_id
    while run_id:
        events = await _events(client, workflow_id, run_id)
        runs.append(events)
        last = events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else ""
        )
    return runs


# --------------------------------------------------------------------------- approval


async def test_approval_edit_then_approve_executes_the_edited_plan(
    client: Client, llm: ScriptedEndpoint, agent_db: Path
) -> None:
    wf_id = _id("approval")
    handle = await client.start_workflow(
        ApprovalRequiredAgentWorkflow.run, ApprovalRequest("ship it"), id=wf_id, task_queue=QUEUE
    )
    await wait_for_query(
        handle, ApprovalRequiredAgentWorkflow.status, lambda s: s.state == "awaiting_approval"
    )
    with pytest.raises(WorkflowUpdateFailedError):  # the validator rejects an empty plan
        await handle.execute_update(ApprovalRequiredAgentWorkflow.edit_plan, PlanEdit([]))
    status = await handle.execute_update(
        ApprovalRequiredAgentWorkflow.edit_plan, PlanEdit(["one", "two"])
    )
    assert status.revision == 2
    await handle.signal(ApprovalRequiredAgentWorkflow.approve, ApprovalDecision("alice"))
    result = await handle.result()
    assert (result.state, result.outputs, result.reviewer) == (
        "completed",
        ["done: one", "done: two"],
        "alice",
    )
    assert _rows(
        agent_db, "SELECT step FROM executed_steps WHERE workflow_id=? ORDER BY step_index", wf_id
    ) == [("one",), ("two",)]
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # no edits once the run is over
        await handle.execute_update(ApprovalRequiredAgentWorkflow.edit_plan, PlanEdit(["late"]))


async def test_approval_reject_executes_nothing(
    client: Client, llm: ScriptedEndpoint, agent_db: Path
) -> None:
    wf_id = _id("approval-reject")
    handle = await client.start_workflow(
        ApprovalRequiredAgentWorkflow.run,
        ApprovalRequest("drop tables"),
        id=wf_id,
        task_queue=QUEUE,
    )
    await wait_for_query(
        handle, ApprovalRequiredAgentWorkflow.status, lambda s: s.state == "awaiting_approval"
    )
    await handle.signal(ApprovalRequiredAgentWorkflow.reject, ApprovalDecision("bob", "too risky"))
    try:  # too late: the first decision wins (the run may even have completed already)
        await handle.signal(ApprovalRequiredAgentWorkflow.approve, ApprovalDecision("mallory"))
    except RPCError as err:
        assert "completed" in str(err).lower(), err
    result = await handle.result()
    assert (result.state, result.outputs, result.reviewer, result.reason) == (
        "rejected",
        [],
        "bob",
        "too risky",
    )
    assert (await handle.query(ApprovalRequiredAgentWorkflow.status)).state == "rejected"
    assert _rows(agent_db, "SELECT * FROM executed_steps WHERE workflow_id=?", wf_id) == []


async def test_approval_deadline_times_out(
    client: Client, llm: ScriptedEndpoint, agent_db: Path
) -> None:
    wf_id = _id("approval-deadline")
    result = await client.execute_workflow(
        ApprovalRequiredAgentWorkflow.run,
        ApprovalRequest("rotate keys", approval_timeout_seconds=2 * 3600),
        id=wf_id,
        task_queue=QUEUE,
    )
    assert (result.state, result.outputs) == ("timed_out", [])
    timers = [
        e
        for e in await _events(client, wf_id)
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert [t.timer_started_event_attributes.start_to_fire_timeout.seconds for t in timers] == [
        7200
    ]


# --------------------------------------------------------------------------- support


async def test_support_memory_survives_continue_as_new(
    client: Client, llm: ScriptedEndpoint
) -> None:
    wf_id = _id("support")
    handle = await client.start_workflow(
        CustomerSupportAgentWorkflow.run,
        SupportSession("s-1", max_turns_per_run=1),
        id=wf_id,
        task_queue=QUEUE,
    )
    messages = ["first: my export fails", "second: on CSV", "third: thanks"]
    for i, message in enumerate(messages, 1):
        await handle.signal(CustomerSupportAgentWorkflow.receive_message, message)
        await wait_for_query(
            handle, CustomerSupportAgentWorkflow.history, lambda h, n=i: len(h) == 2 * n
        )
    # `close` must reach the fourth run: the time-skipping test server can drop a signal that
    # arrives while a run is completing with continue-as-new (a real server would make the
    # run take it first); seen once as a result() that never came.
    deadline = asyncio.get_running_loop().time() + 60
    while len(await _runs(client, wf_id, handle.result_run_id or "")) < 4:
        assert asyncio.get_running_loop().time() < deadline, "the fourth run never started"
        await asyncio.sleep(0.1)
    await handle.signal(CustomerSupportAgentWorkflow.close)
    transcript = await handle.result()
    # one turn per run: a continue-as-new after every answer, the last run only sees `close`
    assert transcript.runs == 4
    assert [m.content for m in transcript.messages if m.role == "user"] == messages
    runs = await _runs(client, wf_id, handle.result_run_id or "")
    assert len(runs) == 4
    # The LLM saw the first message even in the third run: memory really was carried.
    last_call = [r for r in llm.requests if r.last_user == "third: thanks"][-1]
    assert any(m.get("content") == "first: my export fails" for m in last_call.messages)


# --------------------------------------------------------------------------- planner


async def test_planner_starts_one_executor_per_task(client: Client, llm: ScriptedEndpoint) -> None:
    wf_id = _id("planner")
    handle = await client.start_workflow(
        PlannerAgentWorkflow.run,
        PlannerRequest("write a guide", max_tasks=4),
        id=wf_id,
        task_queue=QUEUE,
    )
    await wait_for_query(handle, PlannerAgentWorkflow.status, lambda s: s == "awaiting_review")
    review_id = await handle.query(PlannerAgentWorkflow.review_workflow_id)
    await client.get_workflow_handle(review_id).signal(
        ReviewWorkflow.decide, ReviewDecision(False, "carol", "needs work")
    )
    result = await handle.result()
    assert result.status == "rejected" and result.review.reviewer == "carol"
    assert len(result.tasks) == 4 and [r.index for r in result.results] == [0, 1, 2, 3]
    started = [
        e.child_workflow_execution_started_event_attributes
        for e in await _events(client, wf_id)
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
    ]
    executors = sorted(
        a.workflow_execution.workflow_id
        for a in started
        if a.workflow_type.name == "ExecutorAgentWorkflow"
    )
    assert executors == [f"{wf_id}-executor-{i}" for i in range(4)]
    assert sorted(
        a.workflow_type.name for a in started if a.workflow_type.name != "ExecutorAgentWorkflow"
    ) == [
        "ReviewWorkflow",
        "ValidatorWorkflow",
    ]


# --------------------------------------------------------------------------- OpenAI agent


async def test_openai_agent_calls_tools_as_activities(
    client: Client, llm: ScriptedEndpoint
) -> None:
    wf_id = _id("openai")
    result = await client.execute_workflow(
        OpenAIAgentWorkflow.run,
        OpenAIAgentRequest("What is continue-as-new?"),
        id=wf_id,
        task_queue=QUEUE,
    )
    assert result.tool_calls == ["search_corpus", "read_document"] and result.turns == 3
    assert [m["role"] for m in result.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    activity_types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in await _events(client, wf_id)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert activity_types == ["call_chat_with_tools", "execute_tool"] * 2 + ["call_chat_with_tools"]


@pytest.mark.parametrize(
    ("status", "error_type"), [(400, "BadRequestError"), (401, "AuthenticationError")]
)
async def test_openai_agent_fails_fast_on_client_errors(
    client: Client, status: int, error_type: str
) -> None:
    with scripted_openai(
        rules=[Rule(when=lambda r: True, reply=reply_error(status))], set_env=True
    ) as endpoint:
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(
                OpenAIAgentWorkflow.run,
                OpenAIAgentRequest("x"),
                id=_id("openai-fail"),
                task_queue=QUEUE,
            )
    assert len(endpoint.requests) == 1  # no retry at all
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    app_error = activity_error.cause
    assert isinstance(app_error, ApplicationError)
    assert app_error.type == error_type and app_error.non_retryable


@pytest.mark.parametrize("status", [429, 500])
async def test_openai_agent_retries_rate_limits_and_server_errors(
    client: Client, status: int
) -> None:
    rules = [Rule(when=lambda r: True, reply=reply_error(status), times=2, name="error")]
    with scripted_openai(rules=rules, set_env=True) as endpoint:
        wf_id = _id("openai-retry")
        result = await client.execute_workflow(
            OpenAIAgentWorkflow.run,
            OpenAIAgentRequest("x", tools=["search_corpus"]),
            id=wf_id,
            task_queue=QUEUE,
        )
    assert result.tool_calls == ["search_corpus"]
    assert endpoint.answered_by == ["error", "error", "tool-loop", "tool-loop"]
    completed = [
        e.activity_task_started_event_attributes.attempt
        for e in await _events(client, wf_id)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert completed[0] == 3  # the first LLM activity succeeded on its third attempt


# --------------------------------------------------------------------------- cancellation


async def test_research_cancellation_runs_cleanup(
    client: Client, llm: ScriptedEndpoint, agent_db: Path
) -> None:
    wf_id = _id("research-cancel")
    handle = await client.start_workflow(
        ResearchAgentWorkflow.run,
        ResearchRequest("saga pattern", max_sub_questions=2, require_publish_approval=True),
        id=wf_id,
        task_queue=QUEUE,
    )
    await wait_for_query(
        handle, ResearchAgentWorkflow.status, lambda s: s == "awaiting_publish_approval"
    )
    assert len(_rows(agent_db, "SELECT * FROM drafts WHERE workflow_id=?", wf_id)) == 1
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    assert _rows(
        agent_db, "SELECT stage, drafts_deleted FROM cleanups WHERE workflow_id=?", wf_id
    ) == [("awaiting_publish_approval", 1)]
    assert _rows(agent_db, "SELECT * FROM drafts WHERE workflow_id=?", wf_id) == []
    last = (await _events(client, wf_id))[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_research_publishes_after_approval(
    client: Client, llm: ScriptedEndpoint, agent_db: Path
) -> None:
    wf_id = _id("research")
    handle = await client.start_workflow(
        ResearchAgentWorkflow.run,
        ResearchRequest("deterministic replay", require_publish_approval=True),
        id=wf_id,
        task_queue=QUEUE,
    )
    await wait_for_query(
        handle, ResearchAgentWorkflow.status, lambda s: s == "awaiting_publish_approval"
    )
    await handle.signal(ResearchAgentWorkflow.publish, True)
    report = await handle.result()
    assert report.status == "published" and len(report.sub_questions) == 3
    assert "file://corpus/deterministic-replay.pdf" in report.sources  # the PDF was found and cited
    assert _rows(agent_db, "SELECT topic FROM reports WHERE report_id=?", report.report_id) == [
        ("deterministic replay",)
    ]


# --------------------------------------------------------------------------- long-running loops


async def test_monitoring_continues_as_new_at_the_threshold(client: Client) -> None:
    threshold = 25
    # one loop iteration adds at most ~16 events (check + alert activities, timer, workflow tasks)
    per_iteration = 16
    wf_id = _id("monitoring")
    handle = await client.start_workflow(
        MonitoringAgentWorkflow.run,
        MonitoringState(targets=["api", "db"], history_threshold=threshold, max_checks=8),
        id=wf_id,
        task_queue=QUEUE,
    )
    summary = await handle.result()
    runs = await _runs(client, wf_id, handle.result_run_id or "")
    assert summary.checks_done == 8 and summary.runs == len(runs) >= 2
    for events in runs[:-1]:
        assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        # continued as new on the first check past the threshold: not before, not much later
        assert threshold < len(events) <= threshold + per_iteration
    # below the threshold it never continues as new
    single = await client.start_workflow(
        MonitoringAgentWorkflow.run,
        MonitoringState(targets=["api"], history_threshold=10_000, max_checks=3),
        id=_id("monitoring-single"),
        task_queue=QUEUE,
    )
    assert (await single.result()).runs == 1


async def test_weekly_agent_sleeps_seven_days_then_continues_as_new(
    client: Client, llm: ScriptedEndpoint
) -> None:
    wf_id = _id("weekly")
    handle = await client.start_workflow(
        WeeklyResearchAgent.run,
        WeeklyResearchInput("agents", max_cycles=2),
        id=wf_id,
        task_queue=QUEUE,
    )
    summary = await handle.result()
    assert summary.cycles == 2 and len(summary.report_ids) == 2
    first, second = await _runs(client, wf_id, handle.result_run_id or "")
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.seconds
        for e in first
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert timers == [7 * 24 * 3600]
    assert not any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in second)


# --------------------------------------------------------------------------- versioning


async def test_versioned_agent_pre_and_post_patch(
    env: WorkflowEnvironment, client: Client, llm: ScriptedEndpoint
) -> None:
    queue = f"{QUEUE}-pre-patch"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=versioned.WORKFLOWS,
        activities=versioned.ACTIVITIES,
        patch_activation_callback=versioned.PRE_PATCH_CALLBACK,
    ):
        old_id = _id("versioned-v1")
        old = await client.execute_workflow(
            VersionedResearchAgentWorkflow.run,
            ResearchRequest("versioning", 2),
            id=old_id,
            task_queue=queue,
        )
    new_id = _id("versioned-v2")
    new = await client.execute_workflow(
        VersionedResearchAgentWorkflow.run,
        ResearchRequest("versioning", 2),
        id=new_id,
        task_queue=QUEUE,
    )
    assert "Caveat" not in old.summary and "Caveat" in new.summary

    def markers(events: list[Any]) -> list[str]:
        return [
            e.marker_recorded_event_attributes.marker_name
            for e in events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        ]

    assert markers(await _events(client, old_id)) == []
    new_events = await _events(client, new_id)
    assert markers(new_events) == ["core_patch"]
    marker = next(e for e in new_events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED)
    assert (
        PATCH_ID.encode()
        in marker.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
    )


# --------------------------------------------------------------------------- recorded scenarios


async def test_every_scenario_runs_offline_from_its_cassette(agent_db: Path) -> None:
    """The committed cassettes still match the agents' requests (a changed prompt fails here).

    Each scenario gets a time-skipping server of its own: the test server skips no time
    while any activity anywhere on it runs, so what another test left behind (this module
    shares one server) could hold every later timer here at wall-clock speed (seen once
    under heavy load: a 1-hour approval timer never fired and the test stalled).
    """
    from replaykit.record import load_scenarios, run_scenario_async

    scenarios = load_scenarios([ROOT / "reference_agents" / "scenarios.py"])
    assert len(scenarios) >= 13
    failures = []
    for scn in scenarios:
        own = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEST_SERVER) if TEST_SERVER.exists() else None
        )
        try:
            outcome = await run_scenario_async(
                scn, own.client, fetch_histories=False, task_queue=_id(scn.queue)
            )
        finally:
            await own.shutdown()
        if not outcome.ok:
            err: BaseException | None = outcome.error
            chain = []
            while err is not None:
                chain.append(f"{type(err).__name__}: {str(err)[:1500]}")
                err = getattr(err, "cause", None) or err.__cause__
            failures.append(f"{scn.name}: " + " <- ".join(chain))
    assert not failures, "\n".join(failures)


async def test_cassette_miss_fails_fast_with_a_diff(client: Client) -> None:
    from reference_agents._offline import offline_llm

    with offline_llm("research_happy_path"):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(
                ResearchAgentWorkflow.run,
                ResearchRequest("a topic nobody recorded"),
                id=_id("miss"),
                task_queue=QUEUE,
            )
    cause = info.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "CassetteMiss" and cause.cause.non_retryable
    assert (
        "a topic nobody recorded" in cause.cause.message
        and "durable AI agents" in cause.cause.message
    )


async def test_worker_module_hosts_every_agent() -> None:
    names = {getattr(w, "__temporal_workflow_definition").name for w in all_workflows()}
    assert {
        "ResearchAgentWorkflow",
        "MonitoringAgentWorkflow",
        "WeeklyResearchAgent",
        "ApprovalRequiredAgentWorkflow",
        "PlannerAgentWorkflow",
        "ExecutorAgentWorkflow",
        "ValidatorWorkflow",
        "ReviewWorkflow",
        "CustomerSupportAgentWorkflow",
        "OpenAIAgentWorkflow",
        "VersionedResearchAgentWorkflow",
    } <= names
    await asyncio.sleep(0)
