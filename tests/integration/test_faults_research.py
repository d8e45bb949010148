"""Fault injection on the reference research agent: every-step worker kills, and retry policy.

The LLM calls of the worker processes are served from the scenario's cassette
(``reference_agents._offline:fault_worker_llm``). The every-step test runs every crash point of
``research_happy_path`` (about 30 fault runs, a few at once; under a minute on two cores).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import temporalio.api.enums.v1

from replaykit import load_scenarios
from replaykit.faults import (
    FailActivity,
    FaultPlan,
    baseline_of,
    explore_every_step,
    run_fault_plan,
)
from replaykit.record import Scenario
from replaykit.servers import RunningServer, ServerSpec, start_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RESEARCH = str(ROOT / "reference_agents" / "scenarios.py")
RETRY = str(ROOT / "tests" / "data" / "faults" / "research_retry_scenarios.py")
LLM = "reference_agents._offline:fault_worker_llm"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(ServerSpec("embedded")) as running:
        yield running


def _scenario(path: str, name: str) -> Scenario:
    [scn] = [s for s in load_scenarios([path]) if s.name == name]
    return scn


_TIMED_OUT = {
    temporalio.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    temporalio.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
}


def test_research_agent_survives_a_worker_kill_at_every_step(server: RunningServer) -> None:
    scn = _scenario(RESEARCH, "research_happy_path")
    report = explore_every_step(scn, server=server, worker_context=LLM)
    assert report.baseline.ok, report.baseline.verdicts
    points = report.steps.points
    # decompose, 3 searches, extraction, 3 retrievals, synthesis, report: 10 activities, each
    # killed when it starts and after it returned, plus the workflow tasks.
    assert {p.kind for p in points} == {"activity-start", "activity-returned", "workflow-task"}
    assert sum(p.kind == "activity-returned" for p in points) == 10
    assert len(report.runs) == len(points) and report.skipped == 0
    assert report.prefixes and all(p.status == "clean" for p in report.prefixes)
    failures = [
        (r.plan.describe(), [v.message for v in r.violations], r.error)
        for r in report.runs
        if not r.ok
    ]
    assert not failures, failures
    lost_runs = 0
    for r in report.runs:
        verdicts = {v.name: v.verdict for v in r.verdicts}
        assert r.kills == 1 and not r.not_reached, r.plan.describe()  # the kill really happened
        assert verdicts["outcome"] == "ok", r.plan.describe()  # same result as the baseline
        assert verdicts["no-rerun"] == "ok", r.plan.describe()  # no completed activity again
        assert verdicts["replay"] == "ok" and verdicts["scenario"] == "ok"
        # The agent's short heartbeat timeout, not its 2-minute start-to-close timeout, is
        # what brings a lost step back. A kill after the last workflow task may lose nothing
        # (its completion already reached the server): then no one has to recover.
        # Lost work shows in the history: a timed-out task, or an activity on a later attempt.
        lost = [
            e.event_id
            for h in r.histories.values()
            for e in h.events
            if e.event_type in _TIMED_OUT or e.activity_task_started_event_attributes.attempt > 1
        ]
        lost_runs += bool(lost)
        if lost:
            assert r.recoveries and max(r.recoveries) < 60, (r.plan.describe(), r.recoveries)
        else:
            assert not r.recoveries or max(r.recoveries) < 60, r.recoveries
    assert lost_runs >= len(report.runs) // 2, lost_runs  # most kills lose work in flight
    assert report.exit_code == 0


def test_non_retryable_search_error_stops_as_the_policy_says(server: RunningServer) -> None:
    scn = _scenario(RETRY, "search_as_the_agent_does")
    base = run_fault_plan(scn, FaultPlan(), server=server)
    assert base.ok, base.verdicts
    # ClientError is in WEB_SEARCH_RETRY.non_retryable_error_types: one attempt, then the
    # failure reaches the workflow, which fails (the plan implies it, so no violation).
    plan = FaultPlan((FailActivity("search_web", 1, None, "ClientError"),))
    result = run_fault_plan(scn, plan, server=server, baseline=baseline_of(base))
    verdicts = {v.name: v for v in result.verdicts}
    assert result.ok, [v.message for v in result.violations]
    assert verdicts["retry-policy"].verdict == "ok" and verdicts["replay"].verdict == "ok"
    assert [e.close for e in result.executions] == ["WORKFLOW_EXECUTION_FAILED"]
    assert sum("attempt" in line for line in result.injected) == 1


def test_non_retryable_search_error_retried_by_hand_is_a_policy_violation(
    server: RunningServer,
) -> None:
    scn = _scenario(RETRY, "search_hand_retry")
    base = run_fault_plan(scn, FaultPlan(), server=server)
    assert base.ok, base.verdicts
    plan = FaultPlan((FailActivity("search_web", 1, 1, "ClientError"),))
    result = run_fault_plan(scn, plan, server=server, baseline=baseline_of(base))
    assert not result.ok and result.error is None
    verdicts = {v.name: v for v in result.verdicts}
    assert verdicts["replay"].verdict == "ok"
    verdict = verdicts["retry-policy"]
    assert verdict.verdict == "violation"
    assert verdict.message.startswith(
        "non-retryable error ClientError of activity `search_web` was retried by the workflow"
    ), verdict.message
    assert result.reproduce and "--plan" in result.reproduce
