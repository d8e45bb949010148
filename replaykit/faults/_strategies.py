"""Hypothesis strategies of fault plans for a scenario's crash points (public as
:mod:`replaykit.strategies`).

Learn the points from a fault-free run (``learn_steps(baseline.executions)``), then::

    from hypothesis import given
    from replaykit.strategies import fault_plans

    @given(fault_plans(steps))
    def test_survives(plan):
        assert run_fault_plan(scn, plan, options=FaultRunOptions(server=server, baseline=baseline)).ok
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ._plan import (
    CancelWorkflow,
    FailActivity,
    Fault,
    FaultPlan,
    KillServer,
    KillWorker,
    Point,
    TimeoutActivity,
)
from ._steps import ScenarioSteps

__all__ = ["draw_plans", "fault_plans", "faults", "points"]

ALL_KINDS = ("kill-worker", "kill-server", "fail-activity", "timeout-activity", "cancel")


def points(steps: ScenarioSteps) -> st.SearchStrategy[Point]:
    """A crash point of the scenario; activity points sometimes on a later attempt."""
    if not steps.points:
        raise ValueError("the scenario has no crash points")
    base = st.sampled_from(steps.points)

    def later(p: Point) -> st.SearchStrategy[Point]:
        if p.kind.startswith("activity"):
            return st.integers(1, 2).map(lambda n: replace(p, attempt=n))
        return st.just(p)

    return base.flatmap(later)


def faults(
    steps: ScenarioSteps, *, kinds: Sequence[str] = ("kill-worker", "fail-activity")
) -> st.SearchStrategy[Fault]:
    """One fault of the given kinds (``kill-worker``, ``kill-server``, ``fail-activity``,
    ``timeout-activity``, ``cancel``) at the scenario's points or on its activities."""
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    options: list[st.SearchStrategy[Fault]] = []
    pts = points(steps)
    if "kill-worker" in kinds:
        options.append(pts.map(KillWorker))
    if "kill-server" in kinds:
        options.append(pts.map(KillServer))
    if "cancel" in kinds:
        options.append(pts.map(CancelWorkflow))
    if steps.activities:
        acts = st.sampled_from(steps.activities)
        first = st.integers(1, 2)
        if "fail-activity" in kinds:
            options.append(
                st.builds(
                    lambda a, f, extra: FailActivity(a, f, f + extra),
                    acts,
                    first,
                    st.integers(0, 1),
                )
            )
        if "timeout-activity" in kinds:
            options.append(
                st.builds(lambda a, f: TimeoutActivity(a, f, f, "start-to-close"), acts, first)
            )
    if not options:
        raise ValueError("no fault kind applies to this scenario")
    return st.one_of(options)


def fault_plans(
    steps: ScenarioSteps,
    *,
    max_faults: int = 2,
    kinds: Sequence[str] = ("kill-worker", "fail-activity"),
) -> st.SearchStrategy[FaultPlan]:
    """A plan of 1..``max_faults`` faults (Hypothesis shrinks towards fewer, earlier ones)."""
    return st.lists(faults(steps, kinds=kinds), min_size=1, max_size=max_faults).map(
        lambda fs: FaultPlan(tuple(fs))
    )


def draw_plans(
    steps: ScenarioSteps,
    *,
    count: int,
    seed: int = 0,
    max_faults: int = 2,
    kinds: Sequence[str] = ("kill-worker", "fail-activity"),
) -> list[FaultPlan]:
    """``count`` distinct plans drawn deterministically for ``seed`` (what ``--examples`` runs)."""
    drawn: list[FaultPlan] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=max(count * 3, 10),
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(fault_plans(steps, max_faults=max_faults, kinds=kinds))
    def collect(plan: FaultPlan) -> None:
        if len(drawn) < count and plan not in drawn:
            drawn.append(plan)

    collect()
    return drawn
