"""Fault plans: parsing, JSON round trips, step learning, strategies (no server)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from replaykit import ConfigError
from replaykit.faults import (
    CancelWorkflow,
    ExecutionSummary,
    FailActivity,
    FaultPlan,
    KillServer,
    KillWorker,
    Point,
    SignalWorkflow,
    TimeoutActivity,
    learn_steps,
    parse_fault,
    parse_point,
)
from replaykit.faults._explore import _smaller
from replaykit.faults._plan import base_workflow_id, instance_id
from replaykit.strategies import draw_plans, fault_plans

ORDER = ExecutionSummary(
    workflow_id="order-1",
    workflow_type="OrderWorkflow",
    close="WORKFLOW_EXECUTION_COMPLETED",
    result="x",
    workflow_tasks=5,
    timers=1,
    activities=(("reserve_stock", "1"), ("charge", "2"), ("send_receipt", "3")),
)
STEPS = learn_steps([ORDER])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wft:3", Point("workflow-task", index=3)),
        ("timer:1", Point("timer", index=1)),
        ("start:charge", Point("activity-start", activity="charge", attempt=1)),
        ("returned:charge@2", Point("activity-returned", activity="charge", attempt=2)),
        ("start:search#5", Point("activity-start", activity="search", activity_id="5")),
        ("Research/wft:2", Point("workflow-task", index=2, workflow_type="Research")),
    ],
)
def test_parse_point(text: str, expected: Point) -> None:
    assert parse_point(text) == expected
    assert parse_point(expected.to_text()) == expected


@pytest.mark.parametrize("bad", ["", "wft", "wft:x", "start:", "boom:1", "wft:0", "timer:1@2"])
def test_parse_point_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_point(bad)


def test_parse_fault_options() -> None:
    assert parse_fault("kill-worker", "returned:charge") == KillWorker(
        Point("activity-returned", activity="charge")
    )
    assert parse_fault("kill-server", "wft:2") == KillServer(Point("workflow-task", index=2))
    assert parse_fault("fail", "charge@2-3:CardDeclined!") == FailActivity(
        "charge", 2, 3, "CardDeclined", True
    )
    assert parse_fault("fail", "charge@2+") == FailActivity("charge", 2, None)
    assert parse_fault("fail", "charge") == FailActivity("charge", 1, 1)
    assert parse_fault("timeout", "charge:heartbeat") == TimeoutActivity(
        "charge", 1, 1, "heartbeat"
    )
    assert parse_fault("cancel", "timer:1") == CancelWorkflow(Point("timer", index=1))
    assert parse_fault("signal", 'wft:1=approve:{"ok": true}') == SignalWorkflow(
        Point("workflow-task", index=1), "approve", ({"ok": True},)
    )
    with pytest.raises(ConfigError):
        parse_fault("timeout", "charge:schedule-to-close")
    with pytest.raises(ConfigError):
        parse_fault("signal", "wft:1")
    with pytest.raises(ConfigError):
        FailActivity("charge", 3, 2)


def test_plan_json_round_trip_and_errors() -> None:
    plan = FaultPlan(
        (
            KillWorker(Point("activity-returned", activity="charge", workflow_type="W")),
            FailActivity("charge", 1, None, "Boom", True),
            TimeoutActivity("notify", 2, 2, "heartbeat"),
            SignalWorkflow(Point("timer", index=1), "go", (1, "x")),
        )
    )
    assert FaultPlan.loads(plan.dumps()) == plan
    assert FaultPlan.loads("[]") == FaultPlan()
    assert plan.kills_server is False
    assert FaultPlan((KillServer(Point("workflow-task")),)).kills_server
    for bad in (
        "{",
        '{"faults": [{"action": "nuke"}]}',
        '{"faults": 3}',
        '{"x": []}',
        '[{"action": "kill-worker", "at": {"kind": "wft"}}]',
        '[{"action": "kill-worker", "at": "wft:1", "extra": 1}]',
    ):
        with pytest.raises(ConfigError):
            FaultPlan.loads(bad)


def test_describe_names_point_and_activity() -> None:
    text = KillWorker(Point("activity-returned", activity="charge")).describe()
    assert "charge" in text and "returned" in text and "SIGKILL" in text
    assert FaultPlan().describe() == "no faults (baseline)"


def test_instance_ids() -> None:
    assert instance_id("order-1", 0) == "order-1"
    assert instance_id("order-1", 3) == "order-1~3"
    assert base_workflow_id("order-1~3-child") == "order-1-child"


def test_learn_steps_covers_every_point_kind() -> None:
    texts = [p.to_text() for p in STEPS.points]
    assert texts[:3] == [
        "OrderWorkflow/returned:reserve_stock@1",
        "OrderWorkflow/returned:charge@1",
        "OrderWorkflow/returned:send_receipt@1",
    ]
    assert "OrderWorkflow/timer:1" in texts
    # The fifth task closes the workflow: no crash point after it.
    assert sum(t.startswith("OrderWorkflow/wft:") for t in texts) == 4
    assert len(texts) == 3 + 3 + 1 + 4
    assert STEPS.activities == ("reserve_stock", "charge", "send_receipt")


def test_learn_steps_scopes_repeated_activities_by_id() -> None:
    ex = ExecutionSummary(
        "r", "R", "C", "", workflow_tasks=1, activities=(("search", "1"), ("search", "2"))
    )
    ids = [p.activity_id for p in learn_steps([ex]).points if p.kind == "activity-start"]
    assert ids == ["1", "2"]


def test_shrink_candidates_are_simpler() -> None:
    plan = FaultPlan((FailActivity("charge", 2, None), KillWorker(Point("workflow-task", index=3))))
    candidates = _smaller(plan)
    assert FaultPlan((KillWorker(Point("workflow-task", index=3)),)) in candidates
    assert FaultPlan((FailActivity("charge", 2, 2), plan.faults[1])) in candidates
    assert all(len(c.faults) <= len(plan.faults) for c in candidates)


@settings(max_examples=50, deadline=None)
@given(
    fault_plans(
        STEPS,
        max_faults=3,
        kinds=("kill-worker", "kill-server", "fail-activity", "timeout-activity", "cancel"),
    )
)
def test_strategy_plans_are_valid_and_round_trip(plan: FaultPlan) -> None:
    assert 1 <= len(plan.faults) <= 3
    assert FaultPlan.loads(plan.dumps()) == plan
    for fault in plan.faults:
        if isinstance(fault, (FailActivity, TimeoutActivity)):
            assert fault.activity in STEPS.activities
        else:
            assert fault.at.kind in (
                "workflow-task",
                "activity-start",
                "activity-returned",
                "timer",
            )


def test_draw_plans_is_deterministic_per_seed() -> None:
    a = draw_plans(STEPS, count=6, seed=7)
    assert a == draw_plans(STEPS, count=6, seed=7)
    assert len(a) == 6 and len(set(a)) == 6
    assert a != draw_plans(STEPS, count=6, seed=8)


def test_shrinking_reaches_the_one_fault_that_matters() -> None:
    # The bug: `charge` killed after it returned (any attempt) charges twice. The failing plan
    # found first also kills after workflow task 2 and names attempt 2; the shrinker must
    # get to the single fault `returned:charge@1`, rerunning only simpler plans.
    import asyncio

    from replaykit.faults import FaultRunResult, InvariantVerdict
    from replaykit.faults._explore import shrink_plan

    def judge(plan: FaultPlan) -> FaultRunResult:
        kills_charge = any(
            isinstance(f, KillWorker)
            and f.at.kind == "activity-returned"
            and f.at.activity == "charge"
            and (f.at.attempt == 1 or len(plan.faults) > 1)
            for f in plan.faults
        )
        verdict = ("violation", "charged twice") if kills_charge else ("ok", "once")
        return FaultRunResult("order", plan, (InvariantVerdict("exactly-once", *verdict),))

    tried: list[FaultPlan] = []

    async def rerun(plan: FaultPlan) -> FaultRunResult:
        tried.append(plan)
        return judge(plan)

    start = FaultPlan(
        (
            KillWorker(Point("workflow-task", index=2)),
            KillWorker(Point("activity-returned", activity="charge", attempt=2)),
        )
    )
    assert not judge(start).ok
    minimal = asyncio.run(shrink_plan(judge(start), rerun, max_runs=12))
    assert minimal.plan == FaultPlan(
        (KillWorker(Point("activity-returned", activity="charge", attempt=1)),)
    )
    assert not minimal.ok and len(tried) <= 12
    assert all(len(p.faults) <= 2 for p in tried)


def test_shrinking_drops_a_fault_and_simplifies_another_at_once() -> None:
    # As seen live on the blind order scenario: a kill after workflow task 2 kills `charge`
    # attempt 1 before it returns, so `returned:charge@2` fires only with it, and
    # `returned:charge@1` only without it. Every one-step simplification passes; dropping the
    # first kill while lowering the attempt reaches the one-fault plan.
    import asyncio

    from replaykit.faults import FaultRunResult, InvariantVerdict
    from replaykit.faults._explore import shrink_plan

    wft2 = KillWorker(Point("workflow-task", index=2))

    def judge(plan: FaultPlan) -> FaultRunResult:
        attempts = {
            f.at.attempt
            for f in plan.faults
            if isinstance(f, KillWorker) and f.at.activity == "charge"
        }
        fires = (2 if wft2 in plan.faults else 1) in attempts
        verdict = ("violation", "charged twice") if fires else ("ok", "once")
        return FaultRunResult("order", plan, (InvariantVerdict("exactly-once", *verdict),))

    async def rerun(plan: FaultPlan) -> FaultRunResult:
        return judge(plan)

    start = FaultPlan((wft2, KillWorker(Point("activity-returned", activity="charge", attempt=2))))
    assert not judge(start).ok
    minimal = asyncio.run(shrink_plan(judge(start), rerun, max_runs=12))
    assert minimal.plan == FaultPlan(
        (KillWorker(Point("activity-returned", activity="charge", attempt=1)),)
    )


def test_explore_examples_keeps_only_the_point_kinds_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # issue 12 item 7: point_kinds was accepted and then dropped. The fault runs are
    # stood in for by a fake (this tests which plans are drawn, not what they do).
    from replaykit.faults import FaultRunResult, _explore
    from replaykit.servers import RunningServer

    plans: list[FaultPlan] = []

    async def fake_run(scenario: object, plan: FaultPlan, **kwargs: object) -> FaultRunResult:
        plans.append(plan)
        return FaultRunResult("order", plan, executions=(ORDER,))

    monkeypatch.setattr(_explore, "run_fault_plan_async", fake_run)
    server = RunningServer.__new__(RunningServer)  # never used by the fake runs
    from types import SimpleNamespace

    report = _explore.explore_examples(
        SimpleNamespace(name="order"),
        examples=8,
        seed=3,
        server=server,
        kinds=("kill-worker",),  # type: ignore[arg-type]
        point_kinds=["timer", "activity-start"],
    )
    kills = [f for p in plans[1:] for f in p.faults]
    assert kills and all(isinstance(f, KillWorker) for f in kills)
    assert {f.at.kind for f in kills} <= {"timer", "activity-start"}  # type: ignore[union-attr]
    assert {p.kind for p in report.steps.points} == {"timer", "activity-start"}
    with pytest.raises(ConfigError, match="'wft'.*valid: workflow-task"):
        _explore.explore_examples(
            object(),
            examples=1,
            server=server,  # type: ignore[arg-type]
            point_kinds=["wft"],
        )


def _run(
    wf_type: str,
    run_id: str,
    *,
    parent: str = "",
    children: tuple[tuple[str, str], ...] = (),
    result: str | None = None,
    inputs: tuple[str, ...] = (),
) -> object:
    import json

    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import History

    h = History()
    e = h.events.add(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    a = e.workflow_execution_started_event_attributes
    a.workflow_type.name = wf_type
    a.original_execution_run_id = a.first_execution_run_id = run_id
    if parent:
        a.parent_workflow_execution.workflow_id = parent
    for value in inputs:
        e = h.events.add(
            event_id=len(h.events) + 1, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        )
        s = e.activity_task_scheduled_event_attributes
        s.activity_type.name = "charge"
        s.input.payloads.add(data=json.dumps(value).encode())
    for child_id, child_type in children:
        e = h.events.add(
            event_id=len(h.events) + 1,
            event_type=EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        )
        c = e.start_child_workflow_execution_initiated_event_attributes
        c.workflow_id, c.workflow_type.name = child_id, child_type
    e = h.events.add(
        event_id=len(h.events) + 1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    )
    if result is not None:
        e.workflow_execution_completed_event_attributes.result.payloads.add(
            data=json.dumps(result).encode()
        )
    return h


def _order_run(tag: str, *, swap_children: bool = False) -> list[tuple[str, object]]:
    # a planner with two executor children whose ids derive from the parent's fresh id; the
    # children are collected in the opposite order in the second run
    root = f"plan-{tag}"
    kids = [(f"{root}-a", "Executor"), (f"{root}-b", "Executor")]
    runs = [
        (
            root,
            _run(
                "Planner",
                f"r1-{tag}",
                children=tuple(kids),
                result=f"done {root} {tag}",
                inputs=(tag,),
            ),
        )
    ]
    order = list(reversed(kids)) if swap_children else kids
    runs += [
        (cid, _run("Executor", f"r-{cid}", parent=root, result=f"{cid} ok")) for cid, _ in order
    ]
    return runs


def test_executions_match_by_place_in_the_scenario_not_workflow_id() -> None:
    # issue 12 item 3 (no server): fresh uuid ids in every run, values carrying them
    from replaykit.faults import Baseline
    from replaykit.faults._invariants import check_no_rerun, check_outcome, summarize_run

    tag_a, tag_b = "3f2a9c0d41e64b7c8a1d2e3f4a5b6c7d", "9e8d7c6b5a4f43e2b1c0d9e8f7a6b5c4"
    base = summarize_run([_order_run(tag_a)])  # type: ignore[list-item]
    run = summarize_run([_order_run(tag_b, swap_children=True)])  # type: ignore[list-item]
    assert [s.key for s in base] == [
        "0:Planner#0",
        "0:Planner#0>Executor#0",
        "0:Planner#0>Executor#1",
    ]
    assert [s.key for s in run] == [
        "0:Planner#0",
        "0:Planner#0>Executor#1",
        "0:Planner#0>Executor#0",
    ]
    baseline = Baseline(True, "", base)
    assert check_outcome(run, baseline, lenient=None).verdict == "ok"
    assert check_no_rerun([], [], run, baseline).verdict == "ok"
    # a real difference still shows
    changed = _order_run(tag_b)
    changed[0] = (
        changed[0][0],
        _run(
            "Planner",
            "r9",
            children=((f"plan-{tag_b}-a", "Executor"), (f"plan-{tag_b}-b", "Executor")),
            result=f"DONE plan-{tag_b} {tag_b}",
            inputs=(tag_b,),
        ),
    )
    verdict = check_outcome(summarize_run([changed]), baseline, lenient=None)  # type: ignore[list-item]
    assert verdict.verdict == "violation" and "different result" in verdict.message
    # an execution the baseline did not have is named by its place
    extra = _order_run(tag_b) + [("solo-1234567890ab", _run("Auditor", "r-x"))]
    verdict = check_outcome(summarize_run([extra]), baseline, lenient=None)  # type: ignore[list-item]
    assert verdict.verdict == "violation"
    assert "Auditor no. 1 started by the scenario) is not in the baseline" in verdict.message


def test_points_of_executions_with_fresh_ids_match_in_another_run() -> None:
    # Two executors whose ids carry the planner's fresh uuid: a point scoped to the baseline's
    # id would never fire in a fault run (every run has other ids) and test nothing.
    from replaykit.faults._plan import id_pattern, workflow_id_matches

    hexa, hexb = "3f2a9c0d41e64b7c8a1d2e3f4a5b6c7d", "9e8d7c6b5a4f43e2b1c0d9e8f7a6b5c4"
    runs = [
        ExecutionSummary(
            f"plan-{hexa}-{n}",
            "Executor",
            "WORKFLOW_EXECUTION_COMPLETED",
            "",
            workflow_tasks=2,
            activities=(("step", "1"),),
        )
        for n in ("a", "b")
    ]
    scopes = {p.workflow_id for p in learn_steps(runs).points}
    assert scopes == {"plan-*-a", "plan-*-b"}
    assert workflow_id_matches("plan-*-a", f"plan-{hexb}-a~3")
    assert not workflow_id_matches("plan-*-a", f"plan-{hexb}-b")
    assert workflow_id_matches("order-1", "order-1~2") and not workflow_id_matches(
        "order-1", "order-12"
    )
    assert id_pattern("order-20240101") == "order-20240101"  # a date is not a random part
    # roots that differ only in their random part share (deduplicated) points
    roots = [
        ExecutionSummary(
            f"order-{h}", "Order", "WORKFLOW_EXECUTION_COMPLETED", "", workflow_tasks=1, timers=1
        )
        for h in (hexa, hexb)
    ]
    points = learn_steps(roots).points
    assert [p.to_text() for p in points] == ["Order/timer:1"] and points[0].workflow_id == "order-*"


def test_the_reproduce_line_carries_a_scenario_timeout_that_is_not_the_default() -> None:
    import dataclasses

    from replaykit.faults._plan import FaultPlan
    from replaykit.faults._runner import reproduce_command
    from replaykit.record._scenario import Scenario

    async def fn(run: object) -> None:
        return None

    scn = Scenario(name="pay", fn=fn, workflows=(), module_path="scen.py")
    plan = FaultPlan()
    assert "--scenario-timeout" not in reproduce_command(scn, plan)
    slow = reproduce_command(dataclasses.replace(scn, timeout=900.0), plan)
    assert " -k pay --scenario-timeout 900 --plan " in slow, slow
