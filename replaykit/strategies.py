"""Hypothesis strategies of fault plans for a scenario's crash points.

Learn the points from a fault-free run (``learn_steps(baseline.executions)``), then::

    from hypothesis import given
    from replaykit.strategies import fault_plans

    @given(fault_plans(steps))
    def test_survives(plan):
        assert run_fault_plan(scn, plan, options=FaultRunOptions(server=server, baseline=baseline)).ok
"""

from replaykit.faults._strategies import (
    ALL_KINDS,
    draw_plans,
    fault_plans,
    faults,
    points,
)

__all__ = ["ALL_KINDS", "draw_plans", "fault_plans", "faults", "points"]
