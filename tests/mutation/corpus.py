"""The mutation corpus: labelled changes to the reference agents.

Every label (``breaking``, ``category``, ``expect_kind``) was written here *before* the corpus
was run, from the code and the recorded inputs of the histories (``fixtures/histories``), never
from a checker's verdict. A mutant is breaking when a recorded execution, replayed through the
changed code, would issue different commands or different command values (an activity argument,
a prompt or tool list sent to the LLM activity, a timer duration, a child's type/id/input, the
continue-as-new input, the workflow result, a signal that is no longer handled, an added,
removed or reordered step). It is benign when every command is identical for every history it
is checked against: refactors, equivalent expressions, code on paths those histories never
reach, new handlers nobody called, and replay-safe option changes (timeouts, retry policies,
parent close policy, summaries), which replaykit reports as ``option-change`` and passes.
"""

from __future__ import annotations

from ._model import CATEGORIES, Mutant

__all__ = ["CATEGORIES", "MUTANTS", "Mutant"]

# Which histories run which code (globs under fixtures/histories).
RESEARCH = ("research_*/*.json",)
SHARED_RESEARCH = (  # everything that runs research.gather_evidence / research.synthesize
    "research_*/*.json",
    "weekly_*/*.json",
    "versioned_*/*.json",
    "planner_with_review/planner-1-executor-*.json",
)
MONITORING = ("monitoring_*/*.json",)
WEEKLY = ("weekly_*/*.json",)
APPROVAL = ("approval_*/*.json",)
PLANNER = ("planner_with_review/*.json",)
PLANNER_PARENT = ("planner_with_review/planner-1.json",)
REVIEW = ("planner_with_review/planner-1-review.json",)
VALIDATOR = ("planner_with_review/planner-1-validator.json",)
SUPPORT = ("support_conversation/*.json",)
OPENAI = ("openai_*/*.json",)
VERSIONED = ("versioned_*/*.json",)
PAYMENT = ("payment*/*.json",)
# Every history recorded without plugins (the agents on AI-framework plugins are their own).
ALL = (
    *RESEARCH,
    *MONITORING,
    *WEEKLY,
    *APPROVAL,
    *PLANNER,
    *SUPPORT,
    *OPENAI,
    *VERSIONED,
    *PAYMENT,
)
# The agents built on Temporal's AI-framework integrations, replayed with their plugins.
SUPPORT_DESK = ("support_desk_agent/*.json",)
TRIAGE_GRAPH = ("triage_graph_agent/*.json",)
OPENAI_AGENTS_PLUGIN = ("reference_agents.integration_plugins:openai_agents",)
LANGGRAPH_PLUGIN = ("reference_agents.integration_plugins:langgraph",)

B, OK = True, False

MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ argument (breaking)
    Mutant(
        "arg-search-limit",
        "argument",
        B,
        "research.py",
        "SearchRequest(query=q, limit=2)",
        "SearchRequest(query=q, limit=3)",
        SHARED_RESEARCH,
        "drift",
        "every search_web call asks for 3 hits instead of 2",
    ),
    Mutant(
        "arg-retrieve-top-k",
        "argument",
        B,
        "research.py",
        "RetrieveRequest(query=question, doc_ids=doc_ids, top_k=2)",
        "RetrieveRequest(query=question, doc_ids=doc_ids, top_k=4)",
        SHARED_RESEARCH,
        "drift",
        "retrieve_passages input changes (top_k)",
    ),
    Mutant(
        "arg-decompose-count",
        "argument",
        B,
        "research.py",
        "DecomposeRequest(topic=topic, count=count)",
        "DecomposeRequest(topic=topic, count=count + 1)",
        SHARED_RESEARCH,
        "drift",
        "decompose asks for one more sub-question",
    ),
    Mutant(
        "arg-monitoring-check-number",
        "argument",
        B,
        "monitoring.py",
        "CheckRequest(state.targets, state.checks_done + 1, state.alert_threshold)",
        "CheckRequest(state.targets, state.checks_done, state.alert_threshold)",
        MONITORING,
        "drift",
        "check numbers start at 0 instead of 1",
    ),
    Mutant(
        "arg-plan-step-index",
        "argument",
        B,
        "approval.py",
        "PlanStep(task=request.task, index=index, step=step)",
        "PlanStep(task=request.task, index=index + 1, step=step)",
        APPROVAL,
        "drift",
        "approval-1 executes 3 steps: their index is 1-based now",
    ),
    Mutant(
        "arg-weekly-report-kind",
        "argument",
        B,
        "weekly.py",
        'f"weekly-cycle-{params.cycle}"',
        'f"weekly-{params.cycle}"',
        WEEKLY,
        "drift",
        "save_report kind string changes",
    ),
    Mutant(
        "arg-cleanup-stage",
        "argument",
        B,
        "research.py",
        "CleanupRequest(workflow_id=workflow.info().workflow_id, stage=stage)",
        "CleanupRequest(workflow_id=workflow.info().workflow_id, stage=self._stage)",
        RESEARCH,
        "drift",
        "research-cancel-1 cleans up with stage 'cancelled' instead of the interrupted stage",
    ),
    Mutant(
        "arg-openai-model",
        "argument",
        B,
        "openai_agent.py",
        "model=request.model, messages=list(self._messages), tools=tools",
        'model="gpt-4o", messages=list(self._messages), tools=tools',
        OPENAI,
        "drift",
        "the LLM activity is asked for another model (recorded gpt-4o-mini)",
    ),
    # ------------------------------------------------------------------ argument (benign)
    Mutant(
        "arg-equivalent-expression",
        "argument",
        OK,
        "monitoring.py",
        "CheckRequest(state.targets, state.checks_done + 1, state.alert_threshold)",
        "CheckRequest(list(state.targets), 1 + state.checks_done, state.alert_threshold * 1)",
        MONITORING,
        None,
        "same values computed another way",
    ),
    Mutant(
        "arg-keyword-order",
        "argument",
        OK,
        "research.py",
        "SearchRequest(query=q, limit=2)",
        "SearchRequest(limit=2, query=q)",
        SHARED_RESEARCH,
        None,
        "keyword order does not change the dataclass value",
    ),
    Mutant(
        "arg-dict-key-order",
        "argument",
        OK,
        "openai_agent.py",
        '{"role": "system", "content": _SYSTEM},',
        '{"content": _SYSTEM, "role": "system"},',
        OPENAI,
        None,
        "decoded messages are equal: JSON object key order carries no meaning",
    ),
    # ------------------------------------------------------------------ prompt (breaking)
    Mutant(
        "prompt-system-text",
        "prompt",
        B,
        "openai_agent.py",
        '"You are a research assistant. Use the tools to look things up, then answer concisely."',
        '"You are a research assistant. Use the tools to look things up, then answer in detail."',
        OPENAI,
        "drift",
        "the system prompt sent to the LLM activity changes",
    ),
    Mutant(
        "prompt-user-prefix",
        "prompt",
        B,
        "openai_agent.py",
        '{"role": "user", "content": request.task},',
        '{"role": "user", "content": f"Task: {request.task}"},',
        OPENAI,
        "drift",
        "the user message sent to the LLM changes",
    ),
    Mutant(
        "prompt-synthesis-style",
        "prompt",
        B,
        "research.py",
        'passages: list[Passage], *, style: str = "v1") -> Synthesis:',
        'passages: list[Passage], *, style: str = "v1-concise") -> Synthesis:',
        ("research_*/*.json", "weekly_*/*.json", "planner_with_review/planner-1-executor-*.json"),
        "drift",
        "the synthesis prompt variant changes for every caller using the default",
    ),
    Mutant(
        "prompt-patch-removed-early",
        "prompt",
        B,
        "versioned.py",
        """        if workflow.patched(PATCH_ID):
            summary = await synthesize(request.topic, evidence.passages, style="v2")
        else:
            summary = await synthesize(request.topic, evidence.passages, style="v1")""",
        """        summary = await synthesize(request.topic, evidence.passages, style="v2")""",
        VERSIONED,
        "drift",
        "the v1 execution would now synthesize with the v2 prompt",
    ),
    Mutant(
        "prompt-v2-style",
        "prompt",
        B,
        "versioned.py",
        'summary = await synthesize(request.topic, evidence.passages, style="v2")',
        'summary = await synthesize(request.topic, evidence.passages, style="v3")',
        VERSIONED,
        "drift",
        "the patched branch changes its prompt without a new patch",
    ),
    Mutant(
        "prompt-decompose-kind",
        "prompt",
        B,
        "planner.py",
        'DecomposeRequest(topic=request.goal, count=request.max_tasks, kind="tasks")',
        'DecomposeRequest(topic=request.goal, count=request.max_tasks, kind="steps")',
        PLANNER_PARENT,
        "drift",
        "the planner's decomposition prompt kind changes",
    ),
    Mutant(
        "prompt-support-memory-window",
        "prompt",
        B,
        "support.py",
        "SupportTurn(session.session_id, list(self._memory), session.model)",
        "SupportTurn(session.session_id, list(self._memory)[-1:], session.model)",
        SUPPORT,
        "drift",
        "the LLM sees only the last message instead of the conversation",
    ),
    Mutant(
        "prompt-plan-request",
        "prompt",
        B,
        "approval.py",
        "PlanRequest(task=request.task)",
        'PlanRequest(task=f"Plan: {request.task}")',
        APPROVAL,
        "drift",
        "the planning prompt's task text changes",
    ),
    # ------------------------------------------------------------------ prompt (benign)
    Mutant(
        "prompt-split-literal",
        "prompt",
        OK,
        "openai_agent.py",
        '_SYSTEM = "You are a research assistant. Use the tools to look things up, then answer concisely."',
        '_SYSTEM = (\n    "You are a research assistant. "\n    "Use the tools to look things up, then answer concisely."\n)',
        OPENAI,
        None,
        "the same string written as two adjacent literals",
    ),
    Mutant(
        "prompt-fstring-identity",
        "prompt",
        OK,
        "approval.py",
        "PlanRequest(task=request.task)",
        'PlanRequest(task=f"{request.task}")',
        APPROVAL,
        None,
        "an f-string of the same text",
    ),
    # ------------------------------------------------------------------ tool-list (breaking)
    Mutant(
        "tools-extra-tool",
        "tool-list",
        B,
        "openai_agent.py",
        "tools = tool_specs(request.tools)",
        'tools = tool_specs([*request.tools, "calculator"])',
        OPENAI,
        "drift",
        "the model is offered a calculator it was not offered",
    ),
    Mutant(
        "tools-drop-tool",
        "tool-list",
        B,
        "openai_agent.py",
        "tools = tool_specs(request.tools)",
        "tools = tool_specs(request.tools)[:1]",
        OPENAI,
        "drift",
        "openai-agent-1 offered 2 tools; now only the first",
    ),
    Mutant(
        "tools-description",
        "tool-list",
        B,
        "tool_specs.py",
        '"Search the research corpus and return the best matching documents."',
        '"Search the corpus and return matching documents."',
        OPENAI,
        "drift",
        "the search tool's description sent to the model changes",
    ),
    Mutant(
        "tools-schema",
        "tool-list",
        B,
        "tool_specs.py",
        '"properties": {"query": {"type": "string", "description": "What to look for."}},',
        '"properties": {"query": {"type": "string", "description": "What to look for."},'
        ' "limit": {"type": "integer"}},',
        OPENAI,
        "drift",
        "the search tool's parameter schema changes",
    ),
    Mutant(
        "tools-order",
        "tool-list",
        B,
        "tool_specs.py",
        "return [TOOL_SPECS[n] for n in chosen]",
        "return [TOOL_SPECS[n] for n in sorted(chosen)]",
        OPENAI,
        "drift",
        "openai-agent-1 requested [search_corpus, read_document]: the list is sent reordered",
    ),
    # ------------------------------------------------------------------ tool-list (benign)
    Mutant(
        "tools-unrequested-new-tool",
        "tool-list",
        OK,
        "tool_specs.py",
        "TOOL_SPECS: dict[str, dict[str, Any]] = {\n",
        "TOOL_SPECS: dict[str, dict[str, Any]] = {\n"
        '    "clock": {\n'
        '        "type": "function",\n'
        '        "function": {"name": "clock", "description": "The current time.",\n'
        '                     "parameters": {"type": "object", "properties": {}}},\n'
        "    },\n",
        OPENAI,
        None,
        "both histories request tools by name; the new tool is never sent",
    ),
    Mutant(
        "tools-spec-key-order",
        "tool-list",
        OK,
        "tool_specs.py",
        """    "search_corpus": {
        "type": "function",
        "function": {
            "name": "search_corpus",
            "description": "Search the research corpus and return the best matching documents.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string", "description": "What to look for."}},
                "required": ["query"],
                "additionalProperties": False,
            },
        },
    },""",
        """    "search_corpus": {
        "function": {
            "parameters": {
                "additionalProperties": False,
                "required": ["query"],
                "properties": {"query": {"description": "What to look for.", "type": "string"}},
                "type": "object",
            },
            "description": "Search the research corpus and return the best matching documents.",
            "name": "search_corpus",
        },
        "type": "function",
    },""",
        OPENAI,
        None,
        "the same JSON objects with keys in another order (sent in both histories)",
    ),
    Mutant(
        "tools-copy",
        "tool-list",
        OK,
        "openai_agent.py",
        "tools = tool_specs(request.tools)",
        "tools = [dict(spec) for spec in tool_specs(list(request.tools or []) or None)]",
        OPENAI,
        None,
        "shallow copies of the same specs; request.tools is non-empty in both",
    ),
    # ------------------------------------------------------------------ timer (breaking)
    Mutant(
        "timer-weekly-period",
        "timer",
        B,
        "weekly.py",
        "await workflow.sleep(timedelta(days=params.period_days))",
        "await workflow.sleep(timedelta(days=params.period_days + 1))",
        WEEKLY,
        "drift",
        "the 7-day timer becomes an 8-day timer",
    ),
    Mutant(
        "timer-monitoring-interval",
        "timer",
        B,
        "monitoring.py",
        "await workflow.sleep(timedelta(seconds=state.interval_seconds))",
        "await workflow.sleep(timedelta(seconds=state.interval_seconds * 2))",
        MONITORING,
        "drift",
        "the hourly check becomes two-hourly",
    ),
    Mutant(
        "timer-approval-deadline-unit",
        "timer",
        B,
        "approval.py",
        "timeout=timedelta(seconds=request.approval_timeout_seconds),",
        "timeout=timedelta(minutes=request.approval_timeout_seconds),",
        APPROVAL,
        "drift",
        "the approval deadline timer is 60x longer",
    ),
    Mutant(
        "timer-review-deadline",
        "timer",
        B,
        "planner.py",
        "timeout=timedelta(seconds=request.timeout_seconds),",
        "timeout=timedelta(seconds=request.timeout_seconds // 3),",
        REVIEW,
        "drift",
        "the review deadline timer is shorter",
    ),
    Mutant(
        "timer-publish-deadline",
        "timer",
        B,
        "research.py",
        "timeout=timedelta(seconds=request.publish_timeout_seconds),",
        "timeout=timedelta(hours=request.publish_timeout_seconds),",
        RESEARCH,
        "drift",
        "research-cancel-1's publish deadline timer changes",
    ),
    # ------------------------------------------------------------------ timer (benign)
    Mutant(
        "timer-equivalent-units-monitoring",
        "timer",
        OK,
        "monitoring.py",
        "await workflow.sleep(timedelta(seconds=state.interval_seconds))",
        "await workflow.sleep(timedelta(minutes=state.interval_seconds / 60))",
        MONITORING,
        None,
        "3600 s written as 60.0 minutes",
    ),
    Mutant(
        "timer-equivalent-units-weekly",
        "timer",
        OK,
        "weekly.py",
        "await workflow.sleep(timedelta(days=params.period_days))",
        "await workflow.sleep(timedelta(hours=24 * params.period_days))",
        WEEKLY,
        None,
        "7 days written as 168 hours",
    ),
    Mutant(
        "timer-equivalent-units-approval",
        "timer",
        OK,
        "approval.py",
        "timeout=timedelta(seconds=request.approval_timeout_seconds),",
        "timeout=timedelta(milliseconds=1000 * request.approval_timeout_seconds),",
        APPROVAL,
        None,
        "the same deadline in milliseconds",
    ),
    # ------------------------------------------------------------------ child (breaking)
    Mutant(
        "child-executor-id",
        "child",
        B,
        "planner.py",
        'id=f"{wf_id}-executor-{i}",',
        'id=f"{wf_id}-exec-{i}",',
        PLANNER_PARENT,
        "nondeterminism",
        "executor children get other workflow ids",
    ),
    Mutant(
        "child-executor-input",
        "child",
        B,
        "planner.py",
        "ExecutorTask(goal=request.goal, index=i, task=task)",
        "ExecutorTask(goal=request.goal, index=i + 1, task=task)",
        PLANNER_PARENT,
        "drift",
        "executor children get 1-based indexes",
    ),
    Mutant(
        "child-validator-type",
        "child",
        B,
        "planner.py",
        "@workflow.defn\nclass ValidatorWorkflow:",
        '@workflow.defn(name="ResultValidator")\nclass ValidatorWorkflow:',
        PLANNER_PARENT,
        "nondeterminism",
        "the planner starts a child of another type",
    ),
    Mutant(
        "child-validator-input",
        "child",
        B,
        "planner.py",
        "ValidatorWorkflow.run, ValidationRequest(results=results),",
        "ValidatorWorkflow.run, ValidationRequest(results=results[:2]),",
        PLANNER_PARENT,
        "drift",
        "the validator is given 2 of the 3 results",
    ),
    Mutant(
        "child-review-summary",
        "child",
        B,
        "planner.py",
        'summary = " | ".join(f"{r.index}: {r.answer[:80]}" for r in results)',
        'summary = " | ".join(f"{r.index}: {r.answer[:60]}" for r in results)',
        PLANNER_PARENT,
        "drift",
        "recorded answers are longer than 80 chars: summary changes",
    ),
    Mutant(
        "child-sequential-executors",
        "child",
        B,
        "planner.py",
        """        handles = [
            await workflow.start_child_workflow(
                ExecutorAgentWorkflow.run,
                ExecutorTask(goal=request.goal, index=i, task=task),
                id=f"{wf_id}-executor-{i}",
            )
            for i, task in enumerate(tasks)
        ]
        results: list[ExecutorResult] = list(await asyncio.gather(*handles))""",
        """        results: list[ExecutorResult] = []
        for i, task in enumerate(tasks):
            results.append(
                await workflow.execute_child_workflow(
                    ExecutorAgentWorkflow.run,
                    ExecutorTask(goal=request.goal, index=i, task=task),
                    id=f"{wf_id}-executor-{i}",
                )
            )""",
        PLANNER_PARENT,
        "nondeterminism",
        "children run one after another instead of in parallel",
    ),
    # ------------------------------------------------------------------ child (benign)
    Mutant(
        "child-id-equivalent",
        "child",
        OK,
        "planner.py",
        'id=f"{wf_id}-executor-{i}",',
        'id="-".join([wf_id, "executor", str(i)]),',
        PLANNER_PARENT,
        None,
        "the same id built another way",
    ),
    Mutant(
        "child-input-keywords",
        "child",
        OK,
        "planner.py",
        "ExecutorTask(goal=request.goal, index=i, task=task)",
        "ExecutorTask(task=task, goal=request.goal, index=i)",
        PLANNER_PARENT,
        None,
        "keyword order does not change the value",
    ),
    # ------------------------------------------------------------------ continue-as-new (breaking)
    Mutant(
        "can-monitoring-runs",
        "continue-as-new",
        B,
        "monitoring.py",
        "state.runs += 1",
        "state.runs += 2",
        MONITORING,
        "drift",
        "the carried run counter changes",
    ),
    Mutant(
        "can-weekly-period",
        "continue-as-new",
        B,
        "weekly.py",
        "period_days=params.period_days,",
        "period_days=params.period_days * 2,",
        WEEKLY,
        "drift",
        "the next cycle is carried a doubled period",
    ),
    Mutant(
        "can-support-memory-truncated",
        "continue-as-new",
        B,
        "support.py",
        "memory=self._memory,",
        "memory=self._memory[-2:],",
        SUPPORT,
        "drift",
        "run 1 carried 4 messages; now only the last 2",
    ),
    Mutant(
        "can-support-runs",
        "continue-as-new",
        B,
        "support.py",
        "runs=session.runs + 1,",
        "runs=session.runs,",
        SUPPORT,
        "drift",
        "the run counter is no longer incremented",
    ),
    Mutant(
        "can-support-later",
        "continue-as-new",
        B,
        "support.py",
        "if turns >= session.max_turns_per_run and not",
        "if turns > session.max_turns_per_run and not",
        SUPPORT,
        "nondeterminism",
        "run 1 continued as new after 2 turns; now it would wait",
    ),
    # ------------------------------------------------------------------ continue-as-new (benign)
    Mutant(
        "can-support-memory-copy",
        "continue-as-new",
        OK,
        "support.py",
        "memory=self._memory,",
        "memory=list(self._memory),",
        SUPPORT,
        None,
        "a copy of the same list",
    ),
    Mutant(
        "can-weekly-replace",
        "continue-as-new",
        OK,
        "weekly.py",
        """            WeeklyResearchInput(
                topic=params.topic,
                cycle=params.cycle + 1,
                max_cycles=params.max_cycles,
                period_days=params.period_days,
                report_ids=report_ids,
            )""",
        """            dataclasses.replace(params, cycle=params.cycle + 1, report_ids=report_ids)""",
        WEEKLY,
        None,
        "dataclasses.replace builds the same input",
        extra=(
            (
                "from datetime import timedelta\n",
                "import dataclasses\nfrom datetime import timedelta\n",
            ),
        ),
    ),
    Mutant(
        "can-monitoring-alert-cap",
        "continue-as-new",
        OK,
        "monitoring.py",
        "_MAX_ALERTS_KEPT = 20",
        "_MAX_ALERTS_KEPT = 50",
        MONITORING,
        None,
        "no alert was ever recorded in these histories: the cap never applies",
    ),
    # ------------------------------------------------------------------ result (breaking)
    Mutant(
        "result-research-status",
        "result",
        B,
        "research.py",
        """                "published",
                report_id,""",
        """                "saved",
                report_id,""",
        RESEARCH,
        "drift",
        "research-1 returns another status",
    ),
    Mutant(
        "result-approval-state",
        "result",
        B,
        "approval.py",
        '"completed", self._status.plan, outputs,',
        '"done", self._status.plan, outputs,',
        APPROVAL,
        "drift",
        "approval-1 returns another state",
    ),
    Mutant(
        "result-monitoring-runs",
        "result",
        B,
        "monitoring.py",
        "state.checks_done, state.runs, state.alerts, state.last_values",
        "state.checks_done, state.runs + 1, state.alerts, state.last_values",
        MONITORING,
        "drift",
        "the final summary's run count changes",
    ),
    Mutant(
        "result-weekly-cycles",
        "result",
        B,
        "weekly.py",
        "return WeeklySummary(params.topic, params.cycle, report_ids)",
        "return WeeklySummary(params.topic, params.cycle + 1, report_ids)",
        WEEKLY,
        "drift",
        "the weekly summary counts one cycle too many",
    ),
    Mutant(
        "result-validator-checked",
        "result",
        B,
        "planner.py",
        "checked=len(request.results)",
        "checked=len(issues)",
        VALIDATOR,
        "drift",
        "3 results checked, 0 issues: the report changes",
    ),
    Mutant(
        "result-openai-turns",
        "result",
        B,
        "openai_agent.py",
        'return OpenAIAgentResult(reply.content or "", turn, called, self._messages)',
        'return OpenAIAgentResult(reply.content or "", turn - 1, called, self._messages)',
        OPENAI,
        "drift",
        "the agent reports one turn fewer",
    ),
    # ------------------------------------------------------------------ result (benign)
    Mutant(
        "result-keywords",
        "result",
        OK,
        "research.py",
        """            self._stage = "done"
            return ResearchReport(
                request.topic,
                evidence.sub_questions,
                summary.sources,
                summary.text,
                "published",
                report_id,
            )""",
        """            self._stage = "done"
            return ResearchReport(
                report_id=report_id,
                status="published",
                summary=summary.text,
                sources=summary.sources,
                sub_questions=evidence.sub_questions,
                topic=request.topic,
            )""",
        RESEARCH,
        None,
        "the same report built with keywords in another order",
    ),
    Mutant(
        "result-equivalent-expression",
        "result",
        OK,
        "planner.py",
        'self._status = "accepted" if review.approved else "rejected"',
        'self._status = ("rejected", "accepted")[bool(review.approved)]',
        PLANNER_PARENT,
        None,
        "the same status computed another way",
    ),
    Mutant(
        "result-unreached-branch",
        "result",
        OK,
        "research.py",
        """                        summary.text,
                        "not-published",
                    )""",
        """                        summary.text,
                        "declined",
                    )""",
        RESEARCH,
        None,
        "no recorded history reached the not-published return",
    ),
    # ------------------------------------------------------------------ signal (breaking)
    Mutant(
        "signal-approve-renamed",
        "signal",
        B,
        "approval.py",
        "    @workflow.signal\n    def approve(",
        '    @workflow.signal(name="approve_plan")\n    def approve(',
        APPROVAL,
        "drift",
        "approval-1's approve signal would be dropped",
    ),
    Mutant(
        "signal-reject-as-approve",
        "signal",
        B,
        "approval.py",
        "self._decision = (False, decision)",
        "self._decision = (True, decision)",
        APPROVAL,
        "nondeterminism",
        "approval-rejected-1 would now execute the plan",
    ),
    Mutant(
        "signal-receive-renamed",
        "signal",
        B,
        "support.py",
        "    @workflow.signal\n    def receive_message(",
        '    @workflow.signal(name="customer_message")\n    def receive_message(',
        SUPPORT,
        "drift",
        "every recorded customer message would be dropped",
    ),
    Mutant(
        "signal-close-renamed",
        "signal",
        B,
        "support.py",
        "    @workflow.signal\n    def close(",
        '    @workflow.signal(name="end_session")\n    def close(',
        SUPPORT,
        "drift",
        "run 2's close signal would be dropped: the session never ends",
    ),
    Mutant(
        "signal-decide-renamed",
        "signal",
        B,
        "planner.py",
        "    @workflow.signal\n    def decide(",
        '    @workflow.signal(name="review")\n    def decide(',
        REVIEW,
        "drift",
        "the review child's decision would be dropped",
    ),
    Mutant(
        "signal-message-transformed",
        "signal",
        B,
        "support.py",
        "self._pending.append(message)",
        "self._pending.append(message.upper())",
        SUPPORT,
        "drift",
        "the handler stores another text: the LLM input changes",
    ),
    Mutant(
        "signal-update-renamed",
        "signal",
        B,
        "approval.py",
        "    @workflow.update\n    def edit_plan(",
        '    @workflow.update(name="revise_plan")\n    def edit_plan(',
        ("approval_edited_and_approved/*.json",),
        "nondeterminism",
        "approval-1's recorded edit_plan update has no handler",
    ),
    # ------------------------------------------------------------------ signal (benign)
    Mutant(
        "signal-new-handler",
        "signal",
        OK,
        "approval.py",
        "    @workflow.query\n    def status(self) -> ApprovalStatus:",
        "    @workflow.signal\n    def escalate(self, reason: str) -> None:\n"
        '        """Nobody has sent this signal yet."""\n'
        "        self._status.reason = reason\n\n"
        "    @workflow.query\n    def status(self) -> ApprovalStatus:",
        APPROVAL,
        None,
        "a new signal handler nobody sent",
    ),
    Mutant(
        "signal-unsent-handler-body",
        "signal",
        OK,
        "research.py",
        "        self._publish = approved\n",
        "        self._publish = bool(approved) and True\n",
        RESEARCH,
        None,
        "no recorded history received the publish signal",
    ),
    # ------------------------------------------------------------------ reorder (breaking)
    Mutant(
        "reorder-searches",
        "reorder",
        B,
        "research.py",
        "for q in sub_questions\n",
        "for q in reversed(sub_questions)\n",
        SHARED_RESEARCH,
        "drift",
        "parallel searches are issued in reverse order",
    ),
    Mutant(
        "reorder-retrieve-before-extract",
        "reorder",
        B,
        "research.py",
        """    if extract and doc_ids:
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
""",
        """    passages: list[Passage] = []
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
    if extract and doc_ids:
        await workflow.execute_activity(
            acts.extract_documents,
            ExtractRequest(doc_ids=doc_ids),
            start_to_close_timeout=policies.TOOL_TIMEOUT,
            heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
            retry_policy=policies.TOOL_RETRY,
        )
""",
        SHARED_RESEARCH,
        "nondeterminism",
        "extraction now runs after retrieval",
    ),
    Mutant(
        "reorder-plan-steps",
        "reorder",
        B,
        "approval.py",
        "for index, step in enumerate(self._status.plan):",
        "for index, step in reversed(list(enumerate(self._status.plan))):",
        APPROVAL,
        "drift",
        "approval-1's 3 steps are executed last to first",
    ),
    Mutant(
        "reorder-sleep-before-check",
        "reorder",
        B,
        "monitoring.py",
        """        while True:
            result: CheckResult""",
        """        while True:
            await workflow.sleep(timedelta(seconds=state.interval_seconds))
            result: CheckResult""",
        MONITORING,
        "nondeterminism",
        "the loop sleeps before its first check",
    ),
    Mutant(
        "reorder-user-message-after-llm",
        "reorder",
        B,
        "support.py",
        """                self._memory.append(ChatMessage("user", self._pending.pop(0)))
                reply: str = await workflow.execute_activity(
                    acts.generate_support_reply,
                    SupportTurn(session.session_id, list(self._memory), session.model),
                    start_to_close_timeout=policies.LLM_TIMEOUT,
                    retry_policy=policies.LLM_RETRY,
                )
""",
        """                message = self._pending.pop(0)
                reply: str = await workflow.execute_activity(
                    acts.generate_support_reply,
                    SupportTurn(session.session_id, list(self._memory), session.model),
                    start_to_close_timeout=policies.LLM_TIMEOUT,
                    retry_policy=policies.LLM_RETRY,
                )
                self._memory.append(ChatMessage("user", message))
""",
        SUPPORT,
        "drift",
        "the LLM is called before the user's message is in its memory",
    ),
    # ------------------------------------------------------------------ reorder (benign)
    Mutant(
        "reorder-independent-assignments",
        "reorder",
        OK,
        "planner.py",
        """        self._review_id = f"{wf_id}-review"
        summary = " | ".join(f"{r.index}: {r.answer[:80]}" for r in results)
""",
        """        summary = " | ".join(f"{r.index}: {r.answer[:80]}" for r in results)
        self._review_id = f"{wf_id}-review"
""",
        PLANNER_PARENT,
        None,
        "two independent pure statements swapped",
    ),
    Mutant(
        "reorder-counter-and-memory",
        "reorder",
        OK,
        "support.py",
        """                self._memory.append(ChatMessage("assistant", reply))
                turns += 1
""",
        """                turns += 1
                self._memory.append(ChatMessage("assistant", reply))
""",
        SUPPORT,
        None,
        "independent bookkeeping swapped",
    ),
    Mutant(
        "reorder-called-bookkeeping",
        "reorder",
        OK,
        "openai_agent.py",
        """            for call in reply.tool_calls:
                result: str = await workflow.execute_activity(
                    acts.execute_tool,
                    call,
                    start_to_close_timeout=policies.TOOL_TIMEOUT,
                    retry_policy=policies.TOOL_RETRY,
                )
                called.append(call.name)
""",
        """            for call in reply.tool_calls:
                called.append(call.name)
                result: str = await workflow.execute_activity(
                    acts.execute_tool,
                    call,
                    start_to_close_timeout=policies.TOOL_TIMEOUT,
                    retry_policy=policies.TOOL_RETRY,
                )
""",
        OPENAI,
        None,
        "`called` is only read after the loop",
    ),
    # ------------------------------------------------------------------ add/remove (breaking)
    Mutant(
        "add-draft-always",
        "add/remove",
        B,
        "research.py",
        """            self._stage = "saving"
""",
        """            self._stage = "saving"
            await workflow.execute_activity(
                acts.save_draft,
                SaveReportRequest("research-draft", request.topic, summary.text, summary.sources),
                start_to_close_timeout=policies.DB_TIMEOUT,
                retry_policy=policies.DB_RETRY,
            )
""",
        RESEARCH,
        "nondeterminism",
        "research-1 would save a draft before the report",
    ),
    Mutant(
        "remove-cleanup",
        "add/remove",
        B,
        "research.py",
        """            await workflow.execute_activity(
                acts.cleanup_research,
                CleanupRequest(workflow_id=workflow.info().workflow_id, stage=stage),
                heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
                start_to_close_timeout=policies.DB_TIMEOUT,
                retry_policy=policies.DB_RETRY,
            )
""",
        """            workflow.logger.info("cancelled at %s", stage)
""",
        RESEARCH,
        "nondeterminism",
        "research-cancel-1 would no longer clean up",
    ),
    Mutant(
        "remove-extraction",
        "add/remove",
        B,
        "planner.py",
        "evidence = await gather_evidence(task.task, 1)",
        "evidence = await gather_evidence(task.task, 1, extract=False)",
        ("planner_with_review/planner-1-executor-*.json",),
        "nondeterminism",
        "executors would skip the extraction activity",
    ),
    Mutant(
        "add-timer-between-turns",
        "add/remove",
        B,
        "openai_agent.py",
        "            for call in reply.tool_calls:\n",
        "            await workflow.sleep(1)\n            for call in reply.tool_calls:\n",
        OPENAI,
        "nondeterminism",
        "a pause is added before running tools",
    ),
    Mutant(
        "add-record-alerts-always",
        "add/remove",
        B,
        "monitoring.py",
        "            if result.alerts:\n",
        "            if True:\n",
        MONITORING,
        "nondeterminism",
        "alerts are recorded even when there are none",
    ),
    Mutant(
        "remove-weekly-sleep",
        "add/remove",
        B,
        "weekly.py",
        "        await workflow.sleep(timedelta(days=params.period_days))\n",
        "",
        WEEKLY,
        "nondeterminism",
        "the cycle continues as new without waiting",
    ),
    Mutant(
        "change-activity-type",
        "add/remove",
        B,
        "approval.py",
        "                    acts.execute_plan_step,\n",
        '                    "execute_plan_step_v2",\n',
        APPROVAL,
        "nondeterminism",
        "the plan steps go to a renamed activity",
    ),
    # ------------------------------------------------------------------ add/remove (benign)
    Mutant(
        "add-on-unreached-path",
        "add/remove",
        OK,
        "monitoring.py",
        """                state.alerts = (state.alerts + result.alerts)[-_MAX_ALERTS_KEPT:]
""",
        """                state.alerts = (state.alerts + result.alerts)[-_MAX_ALERTS_KEPT:]
                await workflow.execute_activity(
                    acts.record_alerts,
                    AlertBatch(result.check_number, ["escalated"]),
                    start_to_close_timeout=policies.DB_TIMEOUT,
                    retry_policy=policies.DB_RETRY,
                )
""",
        MONITORING,
        None,
        "no recorded check raised an alert: the new step is never reached",
    ),
    Mutant(
        "add-after-last-turn",
        "add/remove",
        OK,
        "openai_agent.py",
        """        return OpenAIAgentResult(
            f"stopped after""",
        """        await workflow.sleep(1)
        return OpenAIAgentResult(
            f"stopped after""",
        OPENAI,
        None,
        "both recorded agents answered before max_turns: never reached",
    ),
    # ------------------------------------------------------------------ option (breaking)
    Mutant(
        "option-activity-task-queue",
        "option",
        B,
        "approval.py",
        """                    PlanStep(task=request.task, index=index, step=step),
                    start_to_close_timeout=policies.DB_TIMEOUT,""",
        """                    PlanStep(task=request.task, index=index, step=step),
                    task_queue="plan-executors",
                    start_to_close_timeout=policies.DB_TIMEOUT,""",
        APPROVAL,
        "drift",
        "plan steps would run on another task queue (other workers)",
    ),
    # ------------------------------------------------------------------ option (benign)
    Mutant(
        "option-llm-timeout",
        "option",
        OK,
        "policies.py",
        "LLM_TIMEOUT = timedelta(minutes=2)",
        "LLM_TIMEOUT = timedelta(minutes=5)",
        ALL,
        "option-change",
        "a start-to-close timeout: replay-safe",
    ),
    Mutant(
        "option-db-retry-attempts",
        "option",
        OK,
        "policies.py",
        "DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)",
        "DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)",
        ALL,
        "option-change",
        "a retry policy: replay-safe",
    ),
    Mutant(
        "option-search-backoff",
        "option",
        OK,
        "policies.py",
        "    initial_interval=timedelta(seconds=2),\n    backoff_coefficient=2.0,\n    maximum_attempts=5,",
        "    initial_interval=timedelta(seconds=3),\n    backoff_coefficient=1.5,\n    maximum_attempts=5,",
        SHARED_RESEARCH,
        "option-change",
        "web search backoff: replay-safe",
    ),
    Mutant(
        "option-retry-removed",
        "option",
        OK,
        "weekly.py",
        """            start_to_close_timeout=policies.DB_TIMEOUT,
            retry_policy=policies.DB_RETRY,
        )
        report_ids""",
        """            start_to_close_timeout=policies.DB_TIMEOUT,
        )
        report_ids""",
        WEEKLY,
        "option-change",
        "save_report loses its retry policy (server default applies): replay-safe",
    ),
    Mutant(
        "option-priority-added",
        "option",
        OK,
        "support.py",
        """                    start_to_close_timeout=policies.LLM_TIMEOUT,
                    retry_policy=policies.LLM_RETRY,""",
        """                    start_to_close_timeout=policies.LLM_TIMEOUT,
                    retry_policy=policies.LLM_RETRY,
                    priority=temporalio.common.Priority(priority_key=2),""",
        SUPPORT,
        "option-change",
        "support replies get a task priority: replay-safe",
        extra=(
            (
                "from temporalio import workflow\n",
                "import temporalio.common\nfrom temporalio import workflow\n",
            ),
        ),
    ),
    Mutant(
        "option-heartbeat-added",
        "option",
        OK,
        "weekly.py",
        """            start_to_close_timeout=policies.DB_TIMEOUT,
            retry_policy=policies.DB_RETRY,""",
        """            start_to_close_timeout=policies.DB_TIMEOUT,
            heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,
            retry_policy=policies.DB_RETRY,""",
        WEEKLY,
        "option-change",
        "a heartbeat timeout on save_report: replay-safe",
    ),
    Mutant(
        "option-parent-close-policy",
        "option",
        OK,
        "planner.py",
        "            id=self._review_id,\n",
        "            id=self._review_id,\n"
        "            parent_close_policy=workflow.ParentClosePolicy.ABANDON,\n",
        PLANNER_PARENT,
        "option-change",
        "the review child's parent close policy: replay-safe",
    ),
    Mutant(
        "option-activity-summary",
        "option",
        OK,
        "approval.py",
        """            PlanRequest(task=request.task),
            start_to_close_timeout=policies.LLM_TIMEOUT,""",
        """            PlanRequest(task=request.task),
            summary="draft the plan",
            start_to_close_timeout=policies.LLM_TIMEOUT,""",
        APPROVAL,
        "option-change",
        "a UI summary on the activity: replay-safe",
    ),
    # ------------------------------------------------------------------ refactor (benign)
    Mutant(
        "refactor-rename-local",
        "refactor",
        OK,
        "research.py",
        """    for hits in hit_lists:
        for hit in hits:
            if hit.doc_id not in doc_ids:
                doc_ids.append(hit.doc_id)
""",
        """    for matches in hit_lists:
        for match in matches:
            if match.doc_id not in doc_ids:
                doc_ids.append(match.doc_id)
""",
        SHARED_RESEARCH,
        None,
        "local variables renamed",
    ),
    Mutant(
        "refactor-extract-helper",
        "refactor",
        OK,
        "openai_agent.py",
        """        self._messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": request.task},
        ]""",
        """        self._messages = _initial_messages(request.task)""",
        OPENAI,
        None,
        "message construction moved to a module-level helper",
        extra=(
            (
                "\n\n@workflow.defn\nclass OpenAIAgentWorkflow:",
                "\n\ndef _initial_messages(task: str) -> list[dict[str, Any]]:\n"
                '    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": task}]\n'
                "\n\n@workflow.defn\nclass OpenAIAgentWorkflow:",
            ),
        ),
    ),
    Mutant(
        "refactor-logging",
        "refactor",
        OK,
        "research.py",
        """            self._stage = "researching"
""",
        """            self._stage = "researching"
            workflow.logger.info("researching %s", request.topic)
""",
        RESEARCH,
        None,
        "workflow.logger issues no command",
    ),
    Mutant(
        "refactor-comments-docstrings",
        "refactor",
        OK,
        "support.py",
        """        turns = 0
""",
        """        # Turns answered by *this* run; continue-as-new resets it.
        turns = 0
""",
        SUPPORT,
        None,
        "comments only",
    ),
    Mutant(
        "refactor-query-format",
        "refactor",
        OK,
        "weekly.py",
        'return f"cycle {self._cycle}: {self._phase}"',
        'return f"[cycle {self._cycle}] {self._phase.upper()}"',
        WEEKLY,
        None,
        "queries are not in the history",
    ),
    Mutant(
        "refactor-new-query",
        "refactor",
        OK,
        "monitoring.py",
        """    @workflow.run
    async def run(self, state: MonitoringState)""",
        """    @workflow.query
    def checks_done(self) -> int:
        \"\"\"How many checks ran so far.\"\"\"
        return self._state.checks_done if self._state else 0

    @workflow.run
    async def run(self, state: MonitoringState)""",
        MONITORING,
        None,
        "a new query handler",
    ),
    Mutant(
        "refactor-equivalent-loop",
        "refactor",
        OK,
        "openai_agent.py",
        "for turn in range(1, request.max_turns + 1):",
        "for turn in (t + 1 for t in range(request.max_turns)):",
        OPENAI,
        None,
        "the same turn numbers",
    ),
    Mutant(
        "refactor-list-copy",
        "refactor",
        OK,
        "support.py",
        "SupportTurn(session.session_id, list(self._memory), session.model)",
        "SupportTurn(session.session_id, self._memory[:], session.model)",
        SUPPORT,
        None,
        "another way to copy the list",
    ),
    Mutant(
        "refactor-dedupe-helper",
        "refactor",
        OK,
        "research.py",
        """    doc_ids: list[str] = []
    for hits in hit_lists:
        for hit in hits:
            if hit.doc_id not in doc_ids:
                doc_ids.append(hit.doc_id)
""",
        """    doc_ids: list[str] = list(dict.fromkeys(h.doc_id for hits in hit_lists for h in hits))
""",
        SHARED_RESEARCH,
        None,
        "order-preserving de-duplication written another way",
    ),
    # ------------------------------------------------------------------ edge cases
    # Written to probe the strict comparison's corners (labels fixed before the first run).
    Mutant(
        "tools-bool-as-int",
        "tool-list",
        B,
        "tool_specs.py",
        """                "required": ["query"],
                "additionalProperties": False,""",
        """                "required": ["query"],
                "additionalProperties": 0,""",
        OPENAI,
        "drift",
        "JSON false becomes 0 in the schema sent to the model (not a valid JSON-schema value)",
    ),
    Mutant(
        "child-cron-schedule",
        "child",
        B,
        "planner.py",
        'ValidatorWorkflow.run, ValidationRequest(results=results), id=f"{wf_id}-validator"',
        'ValidatorWorkflow.run, ValidationRequest(results=results), id=f"{wf_id}-validator",\n'
        '            cron_schedule="0 * * * *",',
        PLANNER_PARENT,
        "drift",
        "the validator child becomes an hourly cron workflow",
    ),
    Mutant(
        "can-search-attributes",
        "continue-as-new",
        B,
        "monitoring.py",
        "workflow.continue_as_new(state)",
        "workflow.continue_as_new(\n                    state,\n"
        "                    search_attributes=temporalio.common.TypedSearchAttributes(\n"
        "                        [temporalio.common.SearchAttributePair(\n"
        '                            temporalio.common.SearchAttributeKey.for_keyword("Agent"),\n'
        '                            "monitoring",\n'
        "                        )]\n"
        "                    ),\n"
        "                )",
        MONITORING,
        "drift",
        "the next run is indexed under new search attributes",
        extra=(
            (
                "from temporalio import workflow\n",
                "import temporalio.common\nfrom temporalio import workflow\n",
            ),
        ),
    ),
    Mutant(
        "can-workflow-type",
        "continue-as-new",
        B,
        "monitoring.py",
        "workflow.continue_as_new(state)",
        'workflow.continue_as_new(state, workflow="MonitoringAgentV2")',
        MONITORING,
        "drift",
        "the next run would be another workflow type",
    ),
    Mutant(
        "can-memo",
        "continue-as-new",
        B,
        "support.py",
        "                            closed=self._closed,\n                        )\n",
        "                            closed=self._closed,\n                        ),\n"
        '                        memo={"turns": turns},\n',
        SUPPORT,
        "drift",
        "the next run carries a memo it did not carry",
    ),
    Mutant(
        "reorder-sequential-validation",
        "reorder",
        B,
        "planner.py",
        """        issue_lists: list[list[ValidationIssue]] = list(
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
        )""",
        """        issue_lists: list[list[ValidationIssue]] = []
        for result in request.results:
            issue_lists.append(
                await workflow.execute_activity(
                    acts.validate_result,
                    result,
                    start_to_close_timeout=policies.TOOL_TIMEOUT,
                    retry_policy=policies.TOOL_RETRY,
                )
            )""",
        VALIDATOR,
        "nondeterminism",
        "the 3 validations run one at a time, not in parallel",
    ),
    Mutant(
        "child-memo",
        "child",
        B,
        "planner.py",
        "            id=self._review_id,\n",
        '            id=self._review_id,\n            memo={"owner": "planner"},\n',
        PLANNER_PARENT,
        "drift",
        "the review child is started with a memo",
    ),
    Mutant(
        "activity-to-local",
        "add/remove",
        B,
        "approval.py",
        "        plan: list[str] = await workflow.execute_activity(\n",
        "        plan: list[str] = await workflow.execute_local_activity(\n",
        APPROVAL,
        "nondeterminism",
        "planning becomes a local activity (a marker, not a task)",
    ),
    Mutant(
        "result-cancel-swallowed",
        "result",
        B,
        "research.py",
        "                retry_policy=policies.DB_RETRY,\n            )\n            raise\n",
        "                retry_policy=policies.DB_RETRY,\n            )\n"
        '            return ResearchReport(request.topic, [], [], "", "cancelled")\n',
        RESEARCH,
        "nondeterminism",
        "research-cancel-1 would complete instead of ending cancelled",
    ),
    Mutant(
        "option-activity-id",
        "option",
        B,
        "approval.py",
        "                    PlanStep(task=request.task, index=index, step=step),\n",
        "                    PlanStep(task=request.task, index=index, step=step),\n"
        '                    activity_id=f"step-{index}",\n',
        APPROVAL,
        "nondeterminism",
        "plan steps get custom activity ids",
    ),
    Mutant(
        "option-child-task-queue",
        "option",
        B,
        "planner.py",
        "            id=self._review_id,\n",
        '            id=self._review_id,\n            task_queue="reviews",\n',
        PLANNER_PARENT,
        "drift",
        "the review child would run on another task queue",
    ),
    Mutant(
        "arg-patched-guard",
        "argument",
        OK,
        "research.py",
        "SearchRequest(query=q, limit=2)",
        'SearchRequest(query=q, limit=3 if workflow.patched("search-limit-3") else 2)',
        SHARED_RESEARCH,
        None,
        "guarded by patched(): recorded runs replay the old branch",
    ),
    Mutant(
        "add-patched-guard",
        "add/remove",
        OK,
        "approval.py",
        '        self._status.state = "executing"\n',
        '        self._status.state = "executing"\n'
        '        if workflow.patched("approval-cool-down"):\n'
        "            await workflow.sleep(1)\n",
        APPROVAL,
        None,
        "guarded by patched(): recorded runs replay the old branch",
    ),
    Mutant(
        "refactor-activity-by-name",
        "refactor",
        OK,
        "approval.py",
        "            acts.generate_plan,\n            PlanRequest(task=request.task),\n",
        '            "generate_plan",\n            PlanRequest(task=request.task),\n'
        "            result_type=list[str],\n",
        APPROVAL,
        None,
        "the same activity type, called by name",
    ),
    Mutant(
        "timer-asyncio-sleep",
        "timer",
        OK,
        "monitoring.py",
        "await workflow.sleep(timedelta(seconds=state.interval_seconds))",
        "await asyncio.sleep(state.interval_seconds)",
        MONITORING,
        None,
        "asyncio.sleep in a workflow is the same durable timer",
        extra=(
            (
                "from datetime import timedelta\n",
                "import asyncio\nfrom datetime import timedelta\n",
            ),
        ),
    ),
    Mutant(
        "signal-method-renamed-same-name",
        "signal",
        OK,
        "approval.py",
        "    @workflow.signal\n    def approve(",
        '    @workflow.signal(name="approve")\n    def approve_plan(',
        APPROVAL,
        None,
        "the method is renamed, the signal name is kept",
    ),
    Mutant(
        "signal-update-validator",
        "signal",
        OK,
        "approval.py",
        "        if not edit.steps or any(not s.strip() for s in edit.steps):",
        "        if len(edit.steps) > 50 or any(not s.strip() for s in edit.steps):",
        APPROVAL,
        None,
        "update validators do not run on replay (acceptance is recorded)",
    ),
    Mutant(
        "option-explicit-own-queue",
        "option",
        OK,
        "approval.py",
        "            PlanRequest(task=request.task),\n",
        "            PlanRequest(task=request.task),\n"
        "            task_queue=workflow.info().task_queue,\n",
        APPROVAL,
        None,
        "the workflow's own task queue, spelled out",
    ),
    Mutant(
        "option-child-execution-timeout",
        "option",
        OK,
        "planner.py",
        "            id=self._review_id,\n",
        "            id=self._review_id,\n            execution_timeout=timedelta(days=30),\n",
        PLANNER_PARENT,
        "option-change",
        "a child execution timeout: replay-safe",
    ),
    Mutant(
        "option-timer-summary",
        "option",
        OK,
        "monitoring.py",
        "await workflow.sleep(timedelta(seconds=state.interval_seconds))",
        'await workflow.sleep(timedelta(seconds=state.interval_seconds), summary="cool-down")',
        MONITORING,
        "option-change",
        "a UI summary on the timer: replay-safe",
    ),
    Mutant(
        "option-activity-priority",
        "option",
        OK,
        "approval.py",
        "            PlanRequest(task=request.task),\n",
        "            PlanRequest(task=request.task),\n"
        "            priority=temporalio.common.Priority(priority_key=1),\n",
        APPROVAL,
        None,
        "a scheduling priority: replay-safe (not reported: priority is not compared)",
        extra=(
            (
                "from temporalio import workflow\n",
                "import temporalio.common\nfrom temporalio import workflow\n",
            ),
        ),
    ),
    Mutant(
        "option-heartbeat-removed",
        "option",
        OK,
        "monitoring.py",
        "                heartbeat_timeout=policies.HEARTBEAT_TIMEOUT,\n",
        "",
        MONITORING,
        None,
        "a heartbeat timeout dropped: replay-safe (not reported: only options set now are compared)",
    ),
    # ------------------------------------------------------------------ payment saga
    Mutant(
        "payment-forward-type",
        "add/remove",
        B,
        "payment.py",
        "                        step.forward,\n",
        '                        step.forward + "_v2",\n',
        PAYMENT,
        "nondeterminism",
        "every payment run schedules at least one forward step",
    ),
    Mutant(
        "payment-forward-timeout",
        "option",
        OK,
        "payment.py",
        "FORWARD_TIMEOUT = timedelta(seconds=30)",
        "FORWARD_TIMEOUT = timedelta(seconds=45)",
        PAYMENT,
        "option-change",
        "a start-to-close timeout: replay-safe",
    ),
    Mutant(
        "payment-rename-local",
        "refactor",
        OK,
        "payment.py",
        """        for comp in reversed(self.compensations):
            await _uninterrupted(
                workflow.start_activity(
                    comp.activity,
                    comp.order,""",
        """        for undo in reversed(self.compensations):
            await _uninterrupted(
                workflow.start_activity(
                    undo.activity,
                    undo.order,""",
        PAYMENT,
        None,
        "a local variable renamed",
    ),
    Mutant(
        "payment-compensate-in-forward-order",
        "reorder",
        B,
        "payment.py",
        "for comp in reversed(self.compensations):",
        "for comp in self.compensations:",
        PAYMENT,
        "nondeterminism",
        "fail-at-dispatch and cancel-during-charge undo 2 steps: now oldest first",
    ),
    Mutant(
        "payment-compensate-failed-step",
        "add/remove",
        B,
        "payment.py",
        "                    if may_have_applied(err) or await self._earlier_attempt_applied(err):\n",
        "                    if may_have_applied(err) or await self._earlier_attempt_applied(err)"
        " or True:\n",
        PAYMENT,
        "nondeterminism",
        "a step that failed (and applied nothing) is compensated too",
    ),
    Mutant(
        "payment-compensation-input",
        "argument",
        B,
        "payment.py",
        "                    raise\n"
        "                self.compensations.append(Compensation(step.compensation, order))\n",
        "                    raise\n"
        "                self.compensations.append(\n"
        "                    Compensation(step.compensation, replace(order, fail_at=None))\n"
        "                )\n",
        PAYMENT,
        "drift",
        "compensations of the fail-at-* runs get the order without its fail_at",
        extra=(
            ("from dataclasses import dataclass\n", "from dataclasses import dataclass, replace\n"),
        ),
    ),
    Mutant(
        "payment-rolled-back-result",
        "result",
        B,
        "payment.py",
        'return "ROLLED_BACK"',
        'return "ROLLED BACK"',
        PAYMENT,
        "drift",
        "the rolled-back runs return another string",
    ),
    Mutant(
        "payment-cancellation-type",
        "option",
        B,
        "payment.py",
        "cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,",
        "cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL,",
        PAYMENT,
        "drift",
        "cancel-during-charge would refund before the cancelled charge has finished",
    ),
    Mutant(
        "payment-compensation-retry",
        "option",
        OK,
        "payment.py",
        "maximum_attempts=10)",
        "maximum_attempts=20)",
        PAYMENT,
        "option-change",
        "the compensations' retry policy: replay-safe",
    ),
    Mutant(
        "payment-status-text",
        "refactor",
        OK,
        "payment.py",
        'self.status = "compensating"',
        'self.status = "rolling back"',
        PAYMENT,
        None,
        "state only read by the query handler",
    ),
    # ---------------------------------------------- OpenAI Agents SDK agent (OpenAIAgentsPlugin)
    # Labels follow from the recorded `invoke_model_activity` inputs: instructions, tools (name,
    # description, JSON schema), model name and settings, and handoffs of the calling agent.
    Mutant(
        "oa-agents-prompt",
        "prompt",
        B,
        "openai_agents_agent.py",
        "never rely on memory for product facts",
        "never quote product facts from memory",
        SUPPORT_DESK,
        "drift",
        "the specialist's instructions in four model calls change",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-writer-prompt",
        "prompt",
        B,
        "openai_agents_agent.py",
        '"Answer in three sentences or fewer',
        '"Answer in two sentences or fewer',
        SUPPORT_DESK,
        "drift",
        "the reply writer's instructions (the last model call) change",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-tool-removed",
        "tool-list",
        B,
        "openai_agents_agent.py",
        "            cite_source,\n        ],",
        "        ],",
        SUPPORT_DESK,
        "drift",
        "the tool list sent with the specialist's model calls loses cite_source",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-tool-schema",
        "tool-list",
        B,
        "openai_agents_agent.py",
        "def cite_source(doc_id: str, title: str) -> str:",
        "def cite_source(doc_id: str, title: str, section: str) -> str:",
        SUPPORT_DESK,
        "drift",
        "cite_source's JSON schema gains a required parameter",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-tool-description",
        "tool-list",
        B,
        "openai_agents_agent.py",
        '"""Format a citation of a knowledge-base article for the reply.',
        '"""Format a citation of a knowledge-base article for the customer reply.',
        SUPPORT_DESK,
        "drift",
        "cite_source's description (its docstring) is sent to the model",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-temperature",
        "model-settings",
        B,
        "openai_agents_agent.py",
        "temperature=0.2, max_tokens=800",
        "temperature=0.6, max_tokens=800",
        SUPPORT_DESK,
        "drift",
        "the specialist's temperature is part of its model calls",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-writer-max-tokens",
        "model-settings",
        B,
        "openai_agents_agent.py",
        "temperature=0.7, max_tokens=400",
        "temperature=0.7, max_tokens=300",
        SUPPORT_DESK,
        "drift",
        "the reply writer's max_tokens (the last model call)",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-model-name",
        "model-settings",
        B,
        "openai_agents_agent.py",
        'SPECIALIST_MODEL = "gpt-4o-mini"',
        'SPECIALIST_MODEL = "gpt-4.1-mini"',
        SUPPORT_DESK,
        "drift",
        "the model name is part of the model call's input",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-handoff-removed",
        "handoff",
        B,
        "openai_agents_agent.py",
        "        handoffs=[writer],\n",
        "",
        SUPPORT_DESK,
        "drift",
        "the specialist can no longer hand off: its model calls carry no handoff",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-handoff-description",
        "handoff",
        B,
        "openai_agents_agent.py",
        'handoff_description="Writes the final reply to the customer from the research.",',
        'handoff_description="Writes the reply to the customer.",',
        SUPPORT_DESK,
        "drift",
        "the handoff's tool description is sent with the specialist's model calls",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-tool-timeout",
        "option",
        OK,
        "openai_agents_agent.py",
        "activity_as_tool(save_case_note, start_to_close_timeout=timedelta(seconds=30))",
        "activity_as_tool(save_case_note, start_to_close_timeout=timedelta(seconds=60))",
        SUPPORT_DESK,
        "option-change",
        "the tool activity's start-to-close timeout: replay-safe",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-rename-local",
        "refactor",
        OK,
        "openai_agents_agent.py",
        "    writer = Agent[None](",
        "    reply_writer = Agent[None](",
        SUPPORT_DESK,
        None,
        "a local variable renamed",
        extra=(("        handoffs=[writer],", "        handoffs=[reply_writer],"),),
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-extract-tools",
        "refactor",
        OK,
        "openai_agents_agent.py",
        "        tools=[\n"
        "            activity_as_tool(search_knowledge_base, "
        "start_to_close_timeout=timedelta(seconds=30)),\n"
        "            activity_as_tool(save_case_note, "
        "start_to_close_timeout=timedelta(seconds=30)),\n"
        "            cite_source,\n"
        "        ],\n",
        "        tools=_specialist_tools(),\n",
        SUPPORT_DESK,
        None,
        "the tool list built by a helper function: the same tools",
        extra=(
            (
                "def build_support_agent() -> Agent[None]:",
                "def _specialist_tools() -> list[Any]:\n"
                "    timeout = timedelta(seconds=30)\n"
                "    return [\n"
                "        activity_as_tool(search_knowledge_base, start_to_close_timeout=timeout),\n"
                "        activity_as_tool(save_case_note, start_to_close_timeout=timeout),\n"
                "        cite_source,\n"
                "    ]\n\n\n"
                "def build_support_agent() -> Agent[None]:",
            ),
            (
                "from datetime import timedelta\n",
                "from datetime import timedelta\nfrom typing import Any\n",
            ),
        ),
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-reorder-helpers",
        "refactor",
        OK,
        "openai_agents_agent.py",
        "@function_tool\ndef cite_source(doc_id: str, title: str) -> str:\n"
        '    """Format a citation of a knowledge-base article for the reply.\n\n'
        "    Args:\n"
        "        doc_id: The article id shown in brackets by the knowledge-base search.\n"
        "        title: The article title.\n"
        '    """\n'
        '    return f"[{doc_id}] {title}"\n\n\n',
        "",
        SUPPORT_DESK,
        None,
        "the function tool defined after the function that uses it",
        extra=(
            (
                "@workflow.defn\nclass SupportDeskAgentWorkflow:",
                "@function_tool\ndef cite_source(doc_id: str, title: str) -> str:\n"
                '    """Format a citation of a knowledge-base article for the reply.\n\n'
                "    Args:\n"
                "        doc_id: The article id shown in brackets by the knowledge-base search.\n"
                "        title: The article title.\n"
                '    """\n'
                '    return f"[{doc_id}] {title}"\n\n\n'
                "@workflow.defn\nclass SupportDeskAgentWorkflow:",
            ),
        ),
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    Mutant(
        "oa-agents-max-turns",
        "refactor",
        OK,
        "openai_agents_agent.py",
        "input=question, max_turns=12)",
        "input=question, max_turns=20)",
        SUPPORT_DESK,
        None,
        "a higher turn limit: the recorded run takes five turns either way",
        plugins=OPENAI_AGENTS_PLUGIN,
    ),
    # ---------------------------------------------------- LangGraph agent (LangGraphPlugin)
    # The node activities' input holds the graph state (system message first) and the runtime
    # context (model, temperature, tool schemas); LangGraph's per-run values (checkpoint and
    # task ids, message ids, attempt times) are replaykit's built-in volatile values.
    Mutant(
        "lg-graph-prompt",
        "prompt",
        B,
        "langgraph_agent.py",
        "say so and escalate instead of guessing",
        "say so and ask a human instead of guessing",
        TRIAGE_GRAPH,
        "drift",
        "the system message in the graph state of every node call changes",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-tool-schema",
        "tool-list",
        B,
        "langgraph_agent.py",
        "def record_case_note(category: str, article: str) -> str:",
        'def record_case_note(category: str, article: str, priority: str = "normal") -> str:',
        TRIAGE_GRAPH,
        "drift",
        "record_case_note's schema in the context gains a parameter",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-tool-removed",
        "tool-list",
        B,
        "langgraph_agent.py",
        "TOOLS = [search_knowledge_base, record_case_note]",
        "TOOLS = [search_knowledge_base]",
        TRIAGE_GRAPH,
        "drift",
        "the model is no longer offered record_case_note",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-temperature",
        "model-settings",
        B,
        "langgraph_agent.py",
        "TRIAGE_TEMPERATURE = 0.1",
        "TRIAGE_TEMPERATURE = 0.4",
        TRIAGE_GRAPH,
        "drift",
        "the temperature in the graph context changes",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-model-name",
        "model-settings",
        B,
        "langgraph_agent.py",
        'TRIAGE_MODEL = "gpt-4o-mini"',
        'TRIAGE_MODEL = "gpt-4o"',
        TRIAGE_GRAPH,
        "drift",
        "the model name in the graph context changes",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-node-timeout",
        "option",
        OK,
        "langgraph_agent.py",
        '"start_to_close_timeout": timedelta(seconds=30)}',
        '"start_to_close_timeout": timedelta(seconds=90)}',
        TRIAGE_GRAPH,
        "option-change",
        "the node activities' start-to-close timeout: replay-safe",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-rename-local",
        "refactor",
        OK,
        "langgraph_agent.py",
        "        context: TriageContext = {",
        "        triage_context: TriageContext = {",
        TRIAGE_GRAPH,
        None,
        "a local variable renamed",
        extra=(("context=context)", "context=triage_context)"),),
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-extract-context",
        "refactor",
        OK,
        "langgraph_agent.py",
        "        context: TriageContext = {\n"
        '            "model": TRIAGE_MODEL,\n'
        '            "temperature": TRIAGE_TEMPERATURE,\n'
        '            "tools": [convert_to_openai_tool(tool) for tool in TOOLS],\n'
        '            "workflow_id": workflow.info().workflow_id,\n'
        "        }\n",
        "        context = _triage_context(workflow.info().workflow_id)\n",
        TRIAGE_GRAPH,
        None,
        "the context built by a helper function: the same values",
        extra=(
            (
                "@workflow.defn\nclass TriageGraphWorkflow:",
                "def _triage_context(workflow_id: str) -> TriageContext:\n"
                '    return {"model": TRIAGE_MODEL,\n'
                '            "temperature": TRIAGE_TEMPERATURE,\n'
                '            "tools": [convert_to_openai_tool(t) for t in TOOLS],\n'
                '            "workflow_id": workflow_id}\n\n\n'
                "@workflow.defn\nclass TriageGraphWorkflow:",
            ),
        ),
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-reorder-nodes",
        "refactor",
        OK,
        "langgraph_agent.py",
        '    builder.add_node("agent", call_model, metadata=dict(node_options))\n'
        '    builder.add_node("tools", run_tools, metadata=dict(node_options))\n',
        '    builder.add_node("tools", run_tools, metadata=dict(node_options))\n'
        '    builder.add_node("agent", call_model, metadata=dict(node_options))\n',
        TRIAGE_GRAPH,
        None,
        "nodes added in another order: the edges decide what runs",
        plugins=LANGGRAPH_PLUGIN,
    ),
    Mutant(
        "lg-graph-node-docstring",
        "refactor",
        OK,
        "langgraph_agent.py",
        '"""The ``tools`` node: run every tool call of the last model reply."""',
        '"""The ``tools`` node: run the tool calls the model asked for."""',
        TRIAGE_GRAPH,
        None,
        "a docstring of a node function (not a tool)",
        plugins=LANGGRAPH_PLUGIN,
    ),
)
