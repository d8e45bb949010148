"""Multi-agent planner: PlannerAgentWorkflow with Executor, Validator and Review children.

* the planner decomposes the goal into tasks (LLM) and starts one ``ExecutorAgentWorkflow``
  child per task, in parallel;
* each executor runs search -> extraction -> retrieval -> synthesis activities;
* ``ValidatorWorkflow`` checks every result (quality and safety rules);
* ``ReviewWorkflow`` waits for a human ``decide`` signal (with a deadline) before the planner
  accepts the results. The planner's ``status`` query names the review child to signal.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import (
        DecomposeRequest,
        ExecutorResult,
        ExecutorTask,
        PlannerRequest,
        PlannerResult,
        ReviewDecision,
        ReviewRequest,
        ValidationIssue,
        ValidationReport,
        ValidationRequest,
    )
    from reference_agents.research import gather_evidence, synthesize


@workflow.defn
class ExecutorAgentWorkflow:
    """Carries out one task with the research tool chain."""

    @workflow.run
    async def run(self, task: ExecutorTask) -> ExecutorResult:
        evidence = await gather_evidence(task.task, 1)
        summary = await synthesize(task.task, evidence.passages)
        return ExecutorResult(task.index, task.task, summary.text, summary.sources)


@workflow.defn
class ValidatorWorkflow:
    """Checks each executor result before the planner accepts it."""

    @workflow.run
    async def run(self, request: ValidationRequest) -> ValidationReport:
        issue_lists: list[list[ValidationIssue]] = list(
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        acts.validate_result,
                        result,
                        start_to_close_timeout=policies.TOOL_TIMEOUT,
                        retry_policy=policies.TOOL_RETRY,
                    )
                    for result in request.results
                )
            )
        )
        issues = [issue for issues in issue_lists for issue in issues]
        return ValidationReport(passed=not issues, checked=len(request.results), issues=issues)


@workflow.defn
class ReviewWorkflow:
    """Waits for a human decision (``decide`` signal); rejects when the deadline passes."""

    def __init__(self) -> None:
        self._decision: ReviewDecision | None = None

    @workflow.signal
    def decide(self, decision: ReviewDecision) -> None:
        """The reviewer's decision; the first one wins."""
        if self._decision is None:
            self._decision = decision

    @workflow.query
    def pending(self) -> bool:
        """True while no decision has arrived."""
        return self._decision is None

    @workflow.run
    async def run(self, request: ReviewRequest) -> ReviewDecision:
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None,
                timeout=timedelta(seconds=request.timeout_seconds),
            )
        except asyncio.TimeoutError:
            return ReviewDecision(
                approved=False, reviewer="system", comment="review deadline passed"
            )
        assert self._decision is not None
        return self._decision


@workflow.defn
class PlannerAgentWorkflow:
    """Planner (parent): decompose, fan out executors, validate, get a human review."""

    def __init__(self) -> None:
        self._status = "planning"
        self._review_id: str | None = None

    @workflow.query
    def status(self) -> str:
        """planning | executing | validating | awaiting_review | accepted | rejected | invalid."""
        return self._status

    @workflow.query
    def review_workflow_id(self) -> str | None:
        """Id of the review child to send the ``decide`` signal to (None before review)."""
        return self._review_id

    @workflow.run
    async def run(self, request: PlannerRequest) -> PlannerResult:
        wf_id = workflow.info().workflow_id
        tasks: list[str] = await workflow.execute_activity(
            acts.decompose,
            DecomposeRequest(topic=request.goal, count=request.max_tasks, kind="tasks"),
            start_to_close_timeout=policies.LLM_TIMEOUT,
            retry_policy=policies.LLM_RETRY,
        )
        self._status = "executing"
        # Start every child first, then await them together: they run in parallel.
        handles = [
            await workflow.start_child_workflow(
                ExecutorAgentWorkflow.run,
                ExecutorTask(goal=request.goal, index=i, task=task),
                id=f"{wf_id}-executor-{i}",
            )
            for i, task in enumerate(tasks)
        ]
        results: list[ExecutorResult] = list(await asyncio.gather(*handles))
        self._status = "validating"
        validation: ValidationReport = await workflow.execute_child_workflow(
            ValidatorWorkflow.run, ValidationRequest(results=results), id=f"{wf_id}-validator"
        )
        if not validation.passed:
            self._status = "invalid"
            return PlannerResult(
                request.goal,
                tasks,
                results,
                validation,
                ReviewDecision(approved=False, reviewer="validator", comment="validation failed"),
                "invalid",
            )
        self._review_id = f"{wf_id}-review"
        summary = " | ".join(f"{r.index}: {r.answer[:80]}" for r in results)
        review_handle = await workflow.start_child_workflow(
            ReviewWorkflow.run,
            ReviewRequest(
                goal=request.goal, summary=summary, timeout_seconds=request.review_timeout_seconds
            ),
            id=self._review_id,
        )
        self._status = "awaiting_review"
        review: ReviewDecision = await review_handle
        self._status = "accepted" if review.approved else "rejected"
        return PlannerResult(request.goal, tasks, results, validation, review, self._status)


WORKFLOWS = [PlannerAgentWorkflow, ExecutorAgentWorkflow, ValidatorWorkflow, ReviewWorkflow]
ACTIVITIES = [
    acts.decompose,
    acts.search_web,
    acts.extract_documents,
    acts.retrieve_passages,
    acts.synthesize,
    acts.validate_result,
]
