"""ApprovalRequiredAgentWorkflow: plan, wait for a human (signal with a deadline), then execute.

* ``approve`` / ``reject`` signals carry the reviewer's decision;
* ``status`` query shows the state, the plan and its revision;
* ``edit_plan`` update replaces the plan while it awaits approval (a validator rejects edits in
  any other state, or empty plans, before they reach the history);
* no decision before ``approval_timeout_seconds`` ends the run as ``timed_out``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import reference_agents.activities as acts
    import reference_agents.policies as policies
    from reference_agents.models import (
        ApprovalDecision,
        ApprovalRequest,
        ApprovalResult,
        ApprovalStatus,
        PlanEdit,
        PlanRequest,
        PlanStep,
    )


@workflow.defn
class ApprovalRequiredAgentWorkflow:
    """Human-in-the-loop agent: nothing is executed without an explicit approval."""

    def __init__(self) -> None:
        self._status = ApprovalStatus(state="planning", plan=[], revision=0)
        self._decision: tuple[bool, ApprovalDecision] | None = None

    @workflow.signal
    def approve(self, decision: ApprovalDecision) -> None:
        """Approve the current plan."""
        if self._decision is None:
            self._decision = (True, decision)

    @workflow.signal
    def reject(self, decision: ApprovalDecision) -> None:
        """Reject the plan; the agent ends without executing anything."""
        if self._decision is None:
            self._decision = (False, decision)

    @workflow.query
    def status(self) -> ApprovalStatus:
        """State, plan, revision and (once decided) the reviewer."""
        return self._status

    @workflow.update
    def edit_plan(self, edit: PlanEdit) -> ApprovalStatus:
        """Replace the plan before approval; returns the new status."""
        self._status.plan = list(edit.steps)
        self._status.revision += 1
        return self._status

    @edit_plan.validator
    def _validate_edit(self, edit: PlanEdit) -> None:
        if self._status.state != "awaiting_approval" or self._decision is not None:
            raise ValueError(
                f"plan can only be edited while awaiting approval (state: {self._status.state})"
            )
        if not edit.steps or any(not s.strip() for s in edit.steps):
            raise ValueError("a plan needs at least one non-empty step")

    @workflow.run
    async def run(self, request: ApprovalRequest) -> ApprovalResult:
        plan: list[str] = await workflow.execute_activity(
            acts.generate_plan,
            PlanRequest(task=request.task),
            start_to_close_timeout=policies.LLM_TIMEOUT,
            retry_policy=policies.LLM_RETRY,
        )
        self._status = ApprovalStatus(state="awaiting_approval", plan=plan, revision=1)
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None,
                timeout=timedelta(seconds=request.approval_timeout_seconds),
            )
        except asyncio.TimeoutError:
            self._status.state = "timed_out"
            return ApprovalResult("timed_out", self._status.plan, [])
        assert self._decision is not None
        approved, decision = self._decision
        self._status.reviewer, self._status.reason = decision.reviewer, decision.reason or None
        if not approved:
            self._status.state = "rejected"
            return ApprovalResult(
                "rejected", self._status.plan, [], decision.reviewer, decision.reason or None
            )
        # Let a concurrently running update finish before reading the plan it may change.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._status.state = "executing"
        outputs: list[str] = []
        for index, step in enumerate(self._status.plan):
            outputs.append(
                await workflow.execute_activity(
                    acts.execute_plan_step,
                    PlanStep(task=request.task, index=index, step=step),
                    start_to_close_timeout=policies.DB_TIMEOUT,
                    retry_policy=policies.DB_RETRY,
                )
            )
        self._status.state = "completed"
        return ApprovalResult(
            "completed", self._status.plan, outputs, decision.reviewer, decision.reason or None
        )


WORKFLOWS = [ApprovalRequiredAgentWorkflow]
ACTIVITIES = [acts.generate_plan, acts.execute_plan_step]
