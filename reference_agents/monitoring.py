"""MonitoringAgentWorkflow: an hourly check loop that carries its state across continue-as-new.

The loop runs a check activity, records alerts (a database write), sleeps for the interval
(a durable timer) and continues as new once the run's history passes ``history_threshold``
events (or the server suggests it), so the agent can run for months with a bounded history.
``max_checks`` ends the loop, so scenarios and tests terminate.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import (
        AlertBatch,
        CheckRequest,
        CheckResult,
        MonitoringState,
        MonitoringSummary,
    )

_MAX_ALERTS_KEPT = 20  # bound the carried state, or continue-as-new input grows forever


@workflow.defn
class MonitoringAgentWorkflow:
    """Checks targets every ``interval_seconds`` indefinitely (or ``max_checks`` times)."""

    def __init__(self) -> None:
        self._state: MonitoringState | None = None

    @workflow.query
    def state(self) -> MonitoringState | None:
        """The state this run carries (what it would continue-as-new with)."""
        return self._state

    @workflow.run
    async def run(self, state: MonitoringState) -> MonitoringSummary:
        self._state = state
        while True:
            result: CheckResult = await workflow.execute_activity(
                acts.run_monitoring_check,
                CheckRequest(state.targets, state.checks_done + 1, state.alert_threshold),
                start_to_close_timeout=policies.TOOL_TIMEOUT,
                heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                retry_policy=policies.TOOL_RETRY,
            )
            state.checks_done += 1
            state.last_values = result.values
            if result.alerts:
                await workflow.execute_activity(
                    acts.record_alerts,
                    AlertBatch(result.check_number, result.alerts),
                    start_to_close_timeout=policies.DB_TIMEOUT,
                    retry_policy=policies.DB_RETRY,
                )
                state.alerts = (state.alerts + result.alerts)[-_MAX_ALERTS_KEPT:]
            if state.max_checks is not None and state.checks_done >= state.max_checks:
                return MonitoringSummary(
                    state.checks_done, state.runs, state.alerts, state.last_values
                )
            info = workflow.info()
            if (
                info.get_current_history_length() > state.history_threshold
                or info.is_continue_as_new_suggested()
            ):
                state.runs += 1
                workflow.continue_as_new(state)
            await workflow.sleep(timedelta(seconds=state.interval_seconds))


WORKFLOWS = [MonitoringAgentWorkflow]
ACTIVITIES = [acts.run_monitoring_check, acts.record_alerts]
