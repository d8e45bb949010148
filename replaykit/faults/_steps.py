"""The crash points of a scenario, learned from its fault-free run.

Below both the explorer (:mod:`._explore`) and the Hypothesis strategies
(:mod:`._strategies`), which draw plans over these points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._invariants import ExecutionSummary
from ._plan import Point, id_pattern

__all__ = ["ScenarioSteps", "learn_steps"]


@dataclass(frozen=True)
class ScenarioSteps:
    """The crash points a scenario's fault-free run went through.

    Attributes:
        points: Every point, in exploration order (activity-returned first: those find
            duplicated side effects; then activity starts, timers, workflow tasks).
        activities: Activity types the scenario ran.
    """

    points: tuple[Point, ...]
    activities: tuple[str, ...]


def learn_steps(executions: Sequence[ExecutionSummary]) -> ScenarioSteps:
    """The crash points of a run, from its execution summaries."""
    type_count: dict[str, int] = {}
    for ex in executions:
        type_count[ex.workflow_type] = type_count.get(ex.workflow_type, 0) + 1
    returned: list[Point] = []
    starts: list[Point] = []
    timers: list[Point] = []
    wfts: list[Point] = []
    activities: list[str] = []
    seen_runs: set[str] = set()
    for ex in executions:
        if ex.workflow_id in seen_runs:
            continue  # points count per execution; later continue-as-new runs are not targeted
        seen_runs.add(ex.workflow_id)
        # Scoped by id, with the id's random part (a fresh uuid per run) as a wildcard.
        scope_id = id_pattern(ex.workflow_id) if type_count[ex.workflow_type] > 1 else None
        per_type: dict[str, int] = {}
        for act_type, _ in ex.activities:
            per_type[act_type] = per_type.get(act_type, 0) + 1
        for act_type, act_id in ex.activities:
            if act_type not in activities:
                activities.append(act_type)
            aid = act_id if per_type[act_type] > 1 else None
            for kind, out in (("activity-returned", returned), ("activity-start", starts)):
                out.append(
                    Point(
                        kind,  # type: ignore[arg-type]
                        activity=act_type,
                        attempt=1,
                        activity_id=aid,
                        workflow_type=ex.workflow_type,
                        workflow_id=scope_id,
                    )
                )
        timers.extend(
            Point("timer", index=k, workflow_type=ex.workflow_type, workflow_id=scope_id)
            for k in range(1, ex.timers + 1)
        )
        # The task that closes the execution is no crash point: the run is over once it
        # reached the server (the scenario stops the workers right then).
        last = ex.workflow_tasks - (
            1
            if ex.close != "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
            and ex.close.startswith("WORKFLOW_EXECUTION_")
            else 0
        )
        wfts.extend(
            Point("workflow-task", index=k, workflow_type=ex.workflow_type, workflow_id=scope_id)
            for k in range(1, last + 1)
        )
    # Executions whose ids differ only in their random part share their points.
    points = tuple(dict.fromkeys(returned + starts + timers + wfts))
    return ScenarioSteps(points, tuple(activities))
