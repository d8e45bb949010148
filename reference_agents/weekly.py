"""WeeklyResearchAgent: research, report, a durable 7-day timer, continue-as-new per cycle.

The seed's ``asyncio.sleep(timedelta(days=7))`` is a bug (asyncio.sleep takes seconds, and the
wait must be a durable timer); this uses ``workflow.sleep``. Each cycle ends with
continue-as-new, so the history never grows past one cycle. ``max_cycles`` ends the chain.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import SaveReportRequest, WeeklyResearchInput, WeeklySummary
    from reference_agents.research import gather_evidence, synthesize


@workflow.defn
class WeeklyResearchAgent:
    """Produces one research report per period, forever (or ``max_cycles`` times)."""

    def __init__(self) -> None:
        self._cycle = 0
        self._phase = "starting"

    @workflow.query
    def progress(self) -> str:
        """``cycle N: phase``."""
        return f"cycle {self._cycle}: {self._phase}"

    @workflow.run
    async def run(self, params: WeeklyResearchInput) -> WeeklySummary:
        self._cycle = params.cycle
        self._phase = "researching"
        evidence = await gather_evidence(params.topic, 2, extract=False)
        summary = await synthesize(params.topic, evidence.passages)
        self._phase = "reporting"
        report_id: str = await workflow.execute_activity(
            acts.save_report,
            SaveReportRequest(
                f"weekly-cycle-{params.cycle}", params.topic, summary.text, summary.sources
            ),
            start_to_close_timeout=policies.DB_TIMEOUT,
            retry_policy=policies.DB_RETRY,
        )
        report_ids = [*params.report_ids, report_id]
        if params.max_cycles is not None and params.cycle >= params.max_cycles:
            self._phase = "finished"
            return WeeklySummary(params.topic, params.cycle, report_ids)
        self._phase = "sleeping"
        await workflow.sleep(timedelta(days=params.period_days))
        workflow.continue_as_new(
            WeeklyResearchInput(
                topic=params.topic,
                cycle=params.cycle + 1,
                max_cycles=params.max_cycles,
                period_days=params.period_days,
                report_ids=report_ids,
            )
        )


WORKFLOWS = [WeeklyResearchAgent]
ACTIVITIES = [
    acts.decompose,
    acts.search_web,
    acts.retrieve_passages,
    acts.synthesize,
    acts.save_report,
]
