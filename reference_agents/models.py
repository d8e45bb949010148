"""Inputs and outputs of the reference agents' workflows and activities (plain dataclasses).

No I/O and no imports beyond the standard library: the workflow sandbox may import this
module, and Temporal's default data converter serialises these dataclasses as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "gpt-4o-mini"

# --------------------------------------------------------------------------- tools / LLM


@dataclass
class SearchRequest:
    query: str
    limit: int = 3


@dataclass
class SearchHit:
    doc_id: str
    title: str
    url: str
    snippet: str
    score: float


@dataclass
class ExtractRequest:
    doc_ids: list[str]


@dataclass
class ExtractedDocument:
    doc_id: str
    title: str
    url: str
    text: str
    pages: int
    extractor: str  # "pdf" (parsed from a PDF file) or "text" (plain-text document)


@dataclass
class RetrieveRequest:
    query: str
    doc_ids: list[str]
    top_k: int = 2


@dataclass
class Passage:
    doc_id: str
    url: str
    text: str
    score: float


@dataclass
class DecomposeRequest:
    topic: str
    count: int = 3
    kind: str = "sub-questions"  # or "tasks"
    model: str = DEFAULT_MODEL


@dataclass
class SynthesisRequest:
    topic: str
    passages: list[Passage]
    model: str = DEFAULT_MODEL
    style: str = "v1"  # "v1" or "v2" (v2 adds a critique of the sources)


@dataclass
class Synthesis:
    text: str
    sources: list[str]
    model: str


# --------------------------------------------------------------------------- research agent


@dataclass
class ResearchRequest:
    topic: str
    max_sub_questions: int = 3
    require_publish_approval: bool = False
    publish_timeout_seconds: int = 24 * 3600


@dataclass
class Evidence:
    sub_questions: list[str]
    documents: list[str]
    passages: list[Passage]


@dataclass
class ResearchReport:
    topic: str
    sub_questions: list[str]
    sources: list[str]
    summary: str
    status: str  # "published" | "not-published"
    report_id: str | None = None


@dataclass
class SaveReportRequest:
    kind: str
    topic: str
    body: str
    sources: list[str]


@dataclass
class CleanupRequest:
    workflow_id: str
    stage: str


@dataclass
class CleanupResult:
    workflow_id: str
    drafts_deleted: int


# --------------------------------------------------------------------------- monitoring agent


@dataclass
class MonitoringState:
    targets: list[str]
    interval_seconds: int = 3600
    history_threshold: int = 4000
    alert_threshold: float = 90.0
    max_checks: int | None = None
    checks_done: int = 0
    runs: int = 1
    alerts: list[str] = field(default_factory=list)
    last_values: dict[str, float] = field(default_factory=dict)


@dataclass
class CheckRequest:
    targets: list[str]
    check_number: int
    alert_threshold: float


@dataclass
class CheckResult:
    check_number: int
    values: dict[str, float]
    alerts: list[str]


@dataclass
class AlertBatch:
    check_number: int
    alerts: list[str]


@dataclass
class MonitoringSummary:
    checks_done: int
    runs: int
    alerts: list[str]
    last_values: dict[str, float]


# --------------------------------------------------------------------------- weekly agent


@dataclass
class WeeklyResearchInput:
    topic: str
    cycle: int = 1
    max_cycles: int | None = None
    period_days: int = 7
    report_ids: list[str] = field(default_factory=list)


@dataclass
class WeeklyReport:
    topic: str
    cycle: int
    summary: str
    sources: list[str]


@dataclass
class WeeklySummary:
    topic: str
    cycles: int
    report_ids: list[str]


# --------------------------------------------------------------------------- approval agent


@dataclass
class ApprovalRequest:
    task: str
    approval_timeout_seconds: int = 24 * 3600


@dataclass
class ApprovalDecision:
    reviewer: str
    reason: str = ""


@dataclass
class PlanEdit:
    steps: list[str]
    editor: str = ""


@dataclass
class ApprovalStatus:
    state: str  # planning | awaiting_approval | executing | completed | rejected | timed_out
    plan: list[str]
    revision: int
    reviewer: str | None = None
    reason: str | None = None


@dataclass
class PlanRequest:
    task: str
    model: str = DEFAULT_MODEL


@dataclass
class PlanStep:
    task: str
    index: int
    step: str


@dataclass
class ApprovalResult:
    state: str
    plan: list[str]
    outputs: list[str]
    reviewer: str | None = None
    reason: str | None = None


# --------------------------------------------------------------------------- planner agent


@dataclass
class PlannerRequest:
    goal: str
    max_tasks: int = 3
    review_timeout_seconds: int = 3 * 24 * 3600


@dataclass
class ExecutorTask:
    goal: str
    index: int
    task: str


@dataclass
class ExecutorResult:
    index: int
    task: str
    answer: str
    sources: list[str]


@dataclass
class ValidationRequest:
    results: list[ExecutorResult]


@dataclass
class ValidationIssue:
    index: int
    problem: str


@dataclass
class ValidationReport:
    passed: bool
    checked: int
    issues: list[ValidationIssue]


@dataclass
class ReviewRequest:
    goal: str
    summary: str
    timeout_seconds: int = 3 * 24 * 3600


@dataclass
class ReviewDecision:
    approved: bool
    reviewer: str
    comment: str = ""


@dataclass
class PlannerResult:
    goal: str
    tasks: list[str]
    results: list[ExecutorResult]
    validation: ValidationReport
    review: ReviewDecision
    status: str  # "accepted" | "rejected" | "invalid"


# --------------------------------------------------------------------------- support agent


@dataclass
class ChatMessage:
    role: str
    content: str


@dataclass
class SupportSession:
    session_id: str
    memory: list[ChatMessage] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    max_turns_per_run: int = 20
    runs: int = 1
    model: str = DEFAULT_MODEL
    closed: bool = False  # close was requested before the previous run continued as new


@dataclass
class SupportTurn:
    session_id: str
    memory: list[ChatMessage]
    model: str = DEFAULT_MODEL


@dataclass
class SupportTranscript:
    session_id: str
    messages: list[ChatMessage]
    runs: int


# --------------------------------------------------------------------------- OpenAI tool agent


@dataclass
class OpenAIAgentRequest:
    task: str
    model: str = DEFAULT_MODEL
    max_turns: int = 6
    tools: list[str] | None = None  # names from reference_agents.tool_specs; None = all


@dataclass
class ChatWithToolsRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it


@dataclass
class AssistantTurn:
    content: str | None
    tool_calls: list[ToolCall]


@dataclass
class OpenAIAgentResult:
    answer: str
    turns: int
    tool_calls: list[str]
    messages: list[dict[str, Any]]
