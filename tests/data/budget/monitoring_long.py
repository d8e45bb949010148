"""A longer run of the reference monitoring agent (budget numbers): 60 hourly checks with
continue-as-new once a run passes 40 events, on the time-skipping server."""

from __future__ import annotations

from typing import Any

from reference_agents import monitoring
from reference_agents.models import MonitoringState
from replaykit import scenario

CHECKS = 60


@scenario(workflows=monitoring.WORKFLOWS, activities=monitoring.ACTIVITIES, server="timeskip")
async def monitoring_long(run: Any) -> None:
    state = MonitoringState(
        targets=["api-latency", "queue-depth"], history_threshold=40, max_checks=CHECKS
    )
    summary = await run.execute(
        monitoring.MonitoringAgentWorkflow.run, state, id="monitoring-long"
    )
    assert summary.checks_done == CHECKS and summary.runs > 5, summary
