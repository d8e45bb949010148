"""VersionedResearchAgentWorkflow: a research agent changed safely with ``workflow.patched()``.

v2 ("research-v2-improved-synthesis") asks the model to also critique its sources. Executions
that started on v1 replay the v1 branch (no patch marker in their history); new executions take
the v2 branch and record a marker.

Pre-patch histories in ``fixtures/histories`` were produced by *this* code with the SDK's
experimental ``patch_activation_callback`` returning False (see ``PRE_PATCH_CALLBACK`` and the
``versioned_research_pre_patch`` scenario): ``patched()`` then returns False and writes no
marker, which is exactly what the v1 code did, because v1 had no ``patched()`` call at all.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import ResearchReport, ResearchRequest, SaveReportRequest
    from reference_agents.research import gather_evidence, synthesize

PATCH_ID = "research-v2-improved-synthesis"


@workflow.defn
class VersionedResearchAgentWorkflow:
    """Research agent whose synthesis step was upgraded behind a patch."""

    @workflow.run
    async def run(self, request: ResearchRequest) -> ResearchReport:
        evidence = await gather_evidence(request.topic, request.max_sub_questions, extract=False)
        if workflow.patched(PATCH_ID):
            summary = await synthesize(request.topic, evidence.passages, style="v2")
        else:
            summary = await synthesize(request.topic, evidence.passages, style="v1")
        report_id: str = await workflow.execute_activity(
            acts.save_report,
            SaveReportRequest("versioned-research", request.topic, summary.text, summary.sources),
            start_to_close_timeout=policies.DB_TIMEOUT,
            retry_policy=policies.DB_RETRY,
        )
        return ResearchReport(
            request.topic,
            evidence.sub_questions,
            summary.sources,
            summary.text,
            "published",
            report_id,
        )


def PRE_PATCH_CALLBACK(_input: Any) -> bool:  # noqa: N802 - a constant-like callback
    """``Worker(patch_activation_callback=...)``: never activate new patches (record v1 runs)."""
    return False


WORKFLOWS = [VersionedResearchAgentWorkflow]
ACTIVITIES = [
    acts.decompose,
    acts.search_web,
    acts.retrieve_passages,
    acts.synthesize,
    acts.save_report,
]
