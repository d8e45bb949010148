"""ResearchAgentWorkflow: decompose -> web search -> PDF extraction -> vector retrieval -> synthesis.

Each step is an activity with its own retry policy (``reference_agents.policies``). Optionally
the agent waits for a ``publish`` signal before saving the report (human approval), and it is
cancellable at any point: on cancellation it runs a cleanup activity (deleting its draft) and
re-raises, so the run ends as *cancelled* with nothing left behind.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import (
        CleanupRequest,
        DecomposeRequest,
        Evidence,
        ExtractRequest,
        Passage,
        ResearchReport,
        ResearchRequest,
        RetrieveRequest,
        SaveReportRequest,
        SearchHit,
        SearchRequest,
        Synthesis,
        SynthesisRequest,
    )


async def gather_evidence(topic: str, count: int, *, extract: bool = True) -> Evidence:
    """Workflow helper: decompose, search each sub-question in parallel, extract, retrieve."""
    sub_questions: list[str] = await workflow.execute_activity(
        acts.decompose,
        DecomposeRequest(topic=topic, count=count),
        heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
        start_to_close_timeout=policies.LLM_TIMEOUT,
        retry_policy=policies.LLM_RETRY,
    )
    hit_lists: list[list[SearchHit]] = list(
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    acts.search_web,
                    SearchRequest(query=q, limit=2),
                    heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                    start_to_close_timeout=policies.TOOL_TIMEOUT,
                    retry_policy=policies.WEB_SEARCH_RETRY,
                )
                for q in sub_questions
            )
        )
    )
    doc_ids: list[str] = []
    for hits in hit_lists:
        for hit in hits:
            if hit.doc_id not in doc_ids:
                doc_ids.append(hit.doc_id)
    if extract and doc_ids:
        await workflow.execute_activity(
            acts.extract_documents,
            ExtractRequest(doc_ids=doc_ids),
            start_to_close_timeout=policies.TOOL_TIMEOUT,
            heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
            retry_policy=policies.TOOL_RETRY,
        )
    passages: list[Passage] = []
    for question in sub_questions:
        if not doc_ids:
            break
        found: list[Passage] = await workflow.execute_activity(
            acts.retrieve_passages,
            RetrieveRequest(query=question, doc_ids=doc_ids, top_k=2),
            heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
            start_to_close_timeout=policies.TOOL_TIMEOUT,
            retry_policy=policies.TOOL_RETRY,
        )
        passages.extend(p for p in found if p not in passages)
    return Evidence(sub_questions=sub_questions, documents=doc_ids, passages=passages)


async def synthesize(topic: str, passages: list[Passage], *, style: str = "v1") -> Synthesis:
    """Workflow helper: the LLM synthesis activity with the LLM retry policy."""
    result: Synthesis = await workflow.execute_activity(
        acts.synthesize,
        SynthesisRequest(topic=topic, passages=passages, style=style),
        heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
        start_to_close_timeout=policies.LLM_TIMEOUT,
        retry_policy=policies.LLM_RETRY,
    )
    return result


@workflow.defn
class ResearchAgentWorkflow:
    """The research agent of the seed article, crash-proof and cancellable."""

    def __init__(self) -> None:
        self._stage = "starting"
        self._publish: bool | None = None

    @workflow.signal
    def publish(self, approved: bool = True) -> None:
        """Human decision on publishing the report (only used with require_publish_approval)."""
        self._publish = approved

    @workflow.query
    def status(self) -> str:
        """The step the agent is at."""
        return self._stage

    @workflow.run
    async def run(self, request: ResearchRequest) -> ResearchReport:
        try:
            self._stage = "researching"
            evidence = await gather_evidence(request.topic, request.max_sub_questions)
            self._stage = "synthesizing"
            summary = await synthesize(request.topic, evidence.passages)
            if request.require_publish_approval:
                await workflow.execute_activity(
                    acts.save_draft,
                    SaveReportRequest(
                        "research-draft", request.topic, summary.text, summary.sources
                    ),
                    heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                    start_to_close_timeout=policies.DB_TIMEOUT,
                    retry_policy=policies.DB_RETRY,
                )
                self._stage = "awaiting_publish_approval"
                try:
                    await workflow.wait_condition(
                        lambda: self._publish is not None,
                        timeout=timedelta(seconds=request.publish_timeout_seconds),
                    )
                except asyncio.TimeoutError:
                    self._publish = False
                if not self._publish:
                    self._stage = "not-published"
                    return ResearchReport(
                        request.topic,
                        evidence.sub_questions,
                        summary.sources,
                        summary.text,
                        "not-published",
                    )
            self._stage = "saving"
            report_id: str = await workflow.execute_activity(
                acts.save_report,
                SaveReportRequest("research", request.topic, summary.text, summary.sources),
                heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                start_to_close_timeout=policies.DB_TIMEOUT,
                retry_policy=policies.DB_RETRY,
            )
            self._stage = "done"
            return ResearchReport(
                request.topic,
                evidence.sub_questions,
                summary.sources,
                summary.text,
                "published",
                report_id,
            )
        except asyncio.CancelledError:
            # Cancellation is delivered once, to the await in progress; activities scheduled
            # after it run normally, so the cleanup is durable and retried like any activity.
            stage = self._stage
            self._stage = "cancelled"
            await workflow.execute_activity(
                acts.cleanup_research,
                CleanupRequest(workflow_id=workflow.info().workflow_id, stage=stage),
                heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                start_to_close_timeout=policies.DB_TIMEOUT,
                retry_policy=policies.DB_RETRY,
            )
            raise


WORKFLOWS = [ResearchAgentWorkflow]
ACTIVITIES = [
    acts.decompose,
    acts.search_web,
    acts.extract_documents,
    acts.retrieve_passages,
    acts.synthesize,
    acts.save_draft,
    acts.save_report,
    acts.cleanup_research,
]
