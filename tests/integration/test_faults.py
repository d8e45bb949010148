"""Fault injection on a real dev server with real worker subprocesses.

One persistent embedded server for the module (a server kill needs ``--db-filename``); every
run's worker processes are SIGKILLed by the runner when it ends, pass or fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit import load_scenarios
from replaykit.cli.faults import command
from replaykit.faults import (
    FailActivity,
    FaultPlan,
    KillServer,
    KillWorker,
    Point,
    baseline_of,
    explore_every_step,
    run_fault_plan,
)
from replaykit.servers import RunningServer, ServerSpec, start_server

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "faults"
SCENARIOS = str(DATA / "order_scenarios.py")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    db = tmp_path_factory.mktemp("faults-server") / "server.db"
    with start_server(ServerSpec("embedded", db_filename=str(db))) as running:
        yield running


def _scenario(name: str):  # type: ignore[no-untyped-def]
    [scn] = [s for s in load_scenarios([SCENARIOS]) if s.name == name]
    return scn


def test_idempotent_survives_a_worker_kill_at_every_step(server: RunningServer) -> None:
    scn = _scenario("order_idempotent")
    report = explore_every_step(scn, server=server, kill="worker")
    kinds = {r.plan.faults[0].at.kind for r in report.runs}  # type: ignore[union-attr]
    assert kinds == {"workflow-task", "activity-start", "activity-returned", "timer"}
    assert len(report.runs) == len(report.steps.points) == 11
    assert report.prefixes and all(p.status == "clean" for p in report.prefixes)
    failures = [
        (r.plan.describe(), [v.message for v in r.violations], r.error)
        for r in report.runs
        if not r.ok
    ]
    assert not failures, failures
    for r in report.runs:
        # Every planned kill really happened, and a standby took over.
        assert r.kills == 1 and not r.not_reached, r.plan.describe()
        assert {v.name: v.verdict for v in r.verdicts}["exactly-once"] == "ok"
        assert {v.name: v.verdict for v in r.verdicts}["replay"] == "ok"
    assert report.exit_code == 0


def test_idempotent_survives_a_server_kill(server: RunningServer) -> None:
    scn = _scenario("order_idempotent")
    base = run_fault_plan(scn, FaultPlan(), server=server)
    assert base.ok, base.verdicts
    pid_before = server.pid
    plan = FaultPlan((KillServer(Point("activity-start", activity="charge")),))
    result = run_fault_plan(scn, plan, server=server, baseline=baseline_of(base))
    assert result.ok, [v.message for v in result.violations]
    assert result.injected and "kill the server" in result.injected[0]
    assert server.pid is not None and server.pid != pid_before
    assert {v.name: v.verdict for v in result.verdicts}["outcome"] == "ok"


def test_retries_follow_the_policy_under_injected_failures(server: RunningServer) -> None:
    scn = _scenario("order_idempotent")
    base = run_fault_plan(scn, FaultPlan(), server=server)
    plan = FaultPlan((FailActivity("charge", 1, 2, "Flaky"),))
    result = run_fault_plan(scn, plan, server=server, baseline=baseline_of(base))
    assert result.ok, [v.message for v in result.violations]
    assert sum("attempt" in line for line in result.injected) == 2
    verdicts = {v.name: v for v in result.verdicts}
    assert verdicts["retry-policy"].verdict == "ok"
    assert verdicts["outcome"].verdict == "ok"


def test_concurrent_instances_lose_and_double_nothing(server: RunningServer) -> None:
    scn = _scenario("order_idempotent")
    base = run_fault_plan(scn, FaultPlan(), server=server)
    plan = FaultPlan((KillWorker(Point("activity-returned", activity="charge")),))
    result = run_fault_plan(scn, plan, server=server, baseline=baseline_of(base), concurrency=3)
    assert result.ok, [v.message for v in result.violations]
    assert sorted(e.workflow_id for e in result.executions) == ["order-1"] * 3
    # The plan fires once per instance, unless that instance's first `charge` attempt ran in
    # a worker another instance's kill took down: then attempt 1 never returned and the
    # retry (attempt 2) is not the planned point.
    killed_for = {line.split("[workflow ")[1].split(",")[0] for line in result.injected}
    assert 1 <= result.kills == len(killed_for) <= 3
    for (workflow_id, _), history in result.histories.items():
        if workflow_id in killed_for:
            continue
        charge = {
            e.event_id
            for e in history.events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "charge"
        }
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.activity_task_started_event_attributes.scheduled_event_id in charge
        ]
        assert attempts and min(attempts) >= 2, (workflow_id, attempts)


def test_fresh_uuid_workflow_ids_pass_every_step_and_blind_is_still_caught(
    server: RunningServer,
) -> None:
    # issue 12 item 3: `id=f"order-{uuid.uuid4().hex}"` made every fault run fail `outcome`
    # (matched by workflow id) and `no-rerun` (activity inputs carry the id).
    report = explore_every_step(
        _scenario("order_unique_idempotent"), server=server, kill="worker", partial_replay=False
    )
    assert len(report.runs) == len(report.steps.points) == 11
    failures = [
        (r.plan.describe(), [v.message for v in r.violations], r.error)
        for r in report.runs
        if not r.ok
    ]
    assert not failures, failures
    ids = {e.workflow_id for r in (report.baseline, *report.runs) for e in r.executions}
    assert len(ids) == 12  # every run had its own workflow id
    for r in report.runs:
        assert {v.name: v.verdict for v in r.verdicts}["outcome"] == "ok", r.plan.describe()
    assert report.exit_code == 0
    blind = explore_every_step(
        _scenario("order_unique_blind"),
        server=server,
        kill="worker",
        partial_replay=False,
        max_runs=2,
    )
    caught = [r for r in blind.runs if not r.ok]
    assert [r.plan.faults[0].at.to_text() for r in caught] == [  # type: ignore[union-attr]
        "OrderWorkflow/returned:charge@1"
    ]
    assert {v.name for v in caught[0].violations} == {"exactly-once"}
    assert "activity `charge` ran its side effect twice" in caught[0].violations[0].message
    assert blind.exit_code == 1


def test_blind_charge_is_caught_exactly_once_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command,
        [
            SCENARIOS,
            "-k",
            "order_blind",
            "--crash",
            "every-step",
            "--max-runs",
            "2",
            "--no-partial-replay",
        ],
    )
    out = result.output
    assert result.exit_code == 1, out
    assert "exactly once" in out
    assert "activity `charge` ran its side effect twice" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("minimal failing plan:"))
    plan = json.loads(line.split(":", 1)[1])
    assert plan["faults"][0]["action"] == "kill-worker"
    assert plan["faults"][0]["at"]["kind"] == "activity-returned"
    assert plan["faults"][0]["at"]["activity"] == "charge"
    assert "reproduce: replaykit faults" in out and "--plan" in out


def test_non_retryable_error_retried_by_the_workflow_is_a_policy_violation() -> None:
    result = CliRunner().invoke(
        command, [SCENARIOS, "-k", "order_hand_retry", "--fail", "charge:CardDeclined", "--json"]
    )
    assert result.exit_code == 1, result.output
    runs = json.loads(result.output)[0]
    assert runs[0]["ok"] and not runs[1]["ok"]
    verdict = {v["name"]: v for v in runs[1]["verdicts"]}["retry-policy"]
    assert verdict["verdict"] == "violation"
    assert "non-retryable error CardDeclined of activity `charge` was retried" in verdict["message"]


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    assert runner.invoke(command, [SCENARIOS, "--plan", "{"]).exit_code == 2
    assert runner.invoke(command, [SCENARIOS, "--kill-worker", "nowhere"]).exit_code == 2
    missing = runner.invoke(command, [SCENARIOS, "-k", "no_such_scenario"])
    assert missing.exit_code == 2 and "no scenario matched" in missing.output
