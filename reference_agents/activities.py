"""Activities of the reference agents: every I/O the agents do lives here.

* LLM calls go through the real ``openai`` client (``AsyncOpenAI``; base URL and key from
  ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``) with the client's own retries disabled, so Temporal's
  retry policy is the only one: 429, 5xx and connection errors are raised as retryable errors,
  400/401/403/404/422 as non-retryable ``ApplicationError``s (fail fast).
* Tools run over the bundled corpus (``reference_agents.tools``).
* Side effects go to SQLite (``reference_agents.store``), keyed by an idempotency key.

Workflow modules import this module through ``workflow.unsafe.imports_passed_through()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import openai
from temporalio import activity
from temporalio.exceptions import ApplicationError

from replaykit.record import is_cassette_miss

from . import store, tools
from .models import (
    AlertBatch,
    AssistantTurn,
    ChatWithToolsRequest,
    CheckRequest,
    CheckResult,
    CleanupRequest,
    CleanupResult,
    DecomposeRequest,
    ExecutorResult,
    ExtractedDocument,
    ExtractRequest,
    Passage,
    PlanRequest,
    PlanStep,
    RetrieveRequest,
    SaveReportRequest,
    SearchHit,
    SearchRequest,
    SupportTurn,
    Synthesis,
    SynthesisRequest,
    ToolCall,
    ValidationIssue,
)

# Error types the workflows list as non-retryable in their retry policies too (belt and braces:
# the activity already marks them non_retryable).
CLIENT_ERROR = "ClientError"
NON_RETRYABLE_LLM_ERRORS = [
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "UnprocessableEntityError",
    "CassetteMiss",
    "LLMConfigurationError",
]


# --------------------------------------------------------------------------- LLM plumbing


def _idempotency_key() -> str:
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


def _scrub(text: str) -> str:
    # Failure messages land in workflow histories: never let a query-string key leak there.
    return re.sub(r"(\?|&)[^\s&]*(key|token)[^\s&]*", r"\1<redacted>", text, flags=re.IGNORECASE)


def _miss_message(err: BaseException) -> str:
    current: BaseException | None = err
    while current is not None:
        if type(current).__name__ == "CannotOverwriteExistingCassetteException":
            return str(current)
        current = current.__cause__ or current.__context__
    return str(err)


def llm_error(err: BaseException) -> BaseException:
    """Map an ``openai`` (or cassette) exception to the error Temporal should see."""
    if is_cassette_miss(err):
        return ApplicationError(
            _scrub("LLM request not in cassette:\n" + _miss_message(err)),
            type="CassetteMiss",
            non_retryable=True,
        )
    if isinstance(err, openai.RateLimitError):
        return ApplicationError(f"rate limited (429): {err.message}", type="RateLimitError")
    if isinstance(err, openai.APIStatusError):
        if err.status_code >= 500:
            return ApplicationError(
                f"server error ({err.status_code}): {err.message}", type="InternalServerError"
            )
        # 400/401/403/404/422: the same request can never succeed; fail fast.
        return ApplicationError(
            f"{type(err).__name__} ({err.status_code}): {err.message}",
            type=type(err).__name__,
            non_retryable=True,
        )
    if isinstance(err, openai.APIConnectionError):
        return ApplicationError(f"connection error: {err}", type="APIConnectionError")
    if isinstance(err, openai.OpenAIError):
        return ApplicationError(_scrub(str(err)), type="LLMConfigurationError", non_retryable=True)
    return err


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the block awaits: an LLM answer can take longer than the activity's short
    heartbeat timeout, which is there so a call lost with its worker is retried in seconds."""
    timeout = activity.info().heartbeat_timeout
    interval = min(1.0, timeout.total_seconds() / 3) if timeout else 1.0

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _chat(
    model: str, messages: list[dict[str, Any]], tools_: list[dict[str, Any]] | None = None
) -> Any:
    try:
        # max_retries=0: Temporal's retry policy, recorded in the history, is the only retry.
        async with _heartbeating(), openai.AsyncOpenAI(max_retries=0, timeout=60.0) as client:
            kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
            if tools_:
                kwargs["tools"] = tools_
                kwargs["tool_choice"] = "auto"
            return await client.chat.completions.create(**kwargs)
    except Exception as err:
        mapped = llm_error(err)
        if mapped is err:
            raise
        raise mapped from err


async def _complete_text(model: str, system: str, user: str) -> str:
    response = await _chat(
        model, [{"role": "system", "content": system}, {"role": "user", "content": user}]
    )
    return str(response.choices[0].message.content or "")


def _parse_list(text: str, count: int) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    items: list[Any] = []
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = next((v for v in data.values() if isinstance(v, list)), [])
    if not items:
        items = [line.lstrip("-*0123456789. ").strip() for line in text.splitlines()]
    result = [str(item).strip() for item in items if str(item).strip()]
    if not result:
        raise ApplicationError(f"model returned no items: {text[:200]!r}", type="BadModelOutput")
    return result[:count]


# --------------------------------------------------------------------------- research tools


@activity.defn
async def decompose(request: DecomposeRequest) -> list[str]:
    """LLM: split a topic into sub-questions (or a goal into tasks)."""
    key = "tasks" if request.kind == "tasks" else "sub_questions"
    system = (
        f"You decompose a research topic into exactly {request.count} {request.kind}. "
        f'Answer with JSON only: {{"{key}": ["..."]}}.'
    )
    text = await _complete_text(request.model, system, f"Topic: {request.topic}")
    return _parse_list(text, request.count)


@activity.defn
async def search_web(request: SearchRequest) -> list[SearchHit]:
    """Web search over the bundled corpus. Invalid queries are client errors (no retry)."""
    try:
        results = tools.search(request.query, request.limit)
    except tools.ToolInputError as err:
        raise ApplicationError(str(err), type=CLIENT_ERROR, non_retryable=True) from err
    return [SearchHit(d.doc_id, d.title, d.url, snippet, score) for d, score, snippet in results]


@activity.defn
async def extract_documents(request: ExtractRequest) -> list[ExtractedDocument]:
    """Fetch and extract documents (the PDF is really parsed); heartbeats per document."""
    out: list[ExtractedDocument] = []
    for i, doc_id in enumerate(request.doc_ids):
        activity.heartbeat(i)
        try:
            doc = tools.get_document(doc_id)
            if doc.kind == "pdf":
                text, pages, _ = tools.extract_pdf_text(doc.path.read_bytes())
            else:
                text, pages = doc.text, 1
        except tools.ToolInputError as err:
            raise ApplicationError(str(err), type=CLIENT_ERROR, non_retryable=True) from err
        out.append(ExtractedDocument(doc.doc_id, doc.title, doc.url, text, pages, doc.kind))
    return out


@activity.defn
async def retrieve_passages(request: RetrieveRequest) -> list[Passage]:
    """Vector retrieval of the passages closest to the query."""
    try:
        found = tools.retrieve(request.query, request.doc_ids, request.top_k)
    except tools.ToolInputError as err:
        raise ApplicationError(str(err), type=CLIENT_ERROR, non_retryable=True) from err
    return [Passage(doc.doc_id, doc.url, text, score) for doc, text, score in found]


@activity.defn
async def synthesize(request: SynthesisRequest) -> Synthesis:
    """LLM: write a summary of the passages, citing their sources."""
    system = "You synthesize research findings into a short summary that cites its sources."
    if request.style == "v2":
        system += " Then add a short critique of the sources."
    lines = [f"- {p.text} [source: {p.url}]" for p in request.passages]
    user = f"Topic: {request.topic}\n\nPassages:\n" + "\n".join(lines)
    text = await _complete_text(request.model, system, user)
    sources = sorted({p.url for p in request.passages})
    return Synthesis(text=text, sources=sources, model=request.model)


# --------------------------------------------------------------------------- database writes


@activity.defn
async def save_report(request: SaveReportRequest) -> str:
    """Persist a report (idempotent: a retried call returns the same report id)."""
    report_id = "rpt-" + _idempotency_key().replace("/", "-")
    info = activity.info()
    with store.connect() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO reports VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                report_id,
                info.workflow_id,
                request.kind,
                request.topic,
                request.body,
                json.dumps(request.sources),
                "published",
            ),
        )
        conn.execute("DELETE FROM drafts WHERE workflow_id = ?", (info.workflow_id,))
    return report_id


@activity.defn
async def save_draft(request: SaveReportRequest) -> None:
    """Persist a draft report while it waits for publication."""
    with store.connect() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO drafts VALUES (?, ?, ?)",
            (activity.info().workflow_id, request.kind, request.body),
        )


@activity.defn
async def cleanup_research(request: CleanupRequest) -> CleanupResult:
    """Cancellation cleanup: delete the workflow's drafts and record that it was cleaned up."""
    with store.connect() as conn:
        deleted = conn.execute(
            "DELETE FROM drafts WHERE workflow_id = ?", (request.workflow_id,)
        ).rowcount
        conn.execute(
            "INSERT OR REPLACE INTO cleanups VALUES (?, ?, ?)",
            (request.workflow_id, request.stage, deleted),
        )
    return CleanupResult(request.workflow_id, deleted)


# --------------------------------------------------------------------------- monitoring


@activity.defn
async def run_monitoring_check(request: CheckRequest) -> CheckResult:
    """Measure every target (deterministic synthetic data); heartbeats per target."""
    values: dict[str, float] = {}
    alerts: list[str] = []
    for target in request.targets:
        activity.heartbeat(target)
        value = tools.metric_value(target, request.check_number)
        values[target] = value
        if value > request.alert_threshold:
            alerts.append(
                f"{target}={value:g} above {request.alert_threshold:g} (check {request.check_number})"
            )
    return CheckResult(request.check_number, values, alerts)


@activity.defn
async def record_alerts(batch: AlertBatch) -> int:
    """Write alerts to SQLite once each (keyed by workflow id + message)."""
    workflow_id = activity.info().workflow_id
    with store.connect() as conn:
        for message in batch.alerts:
            conn.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)",
                (f"{workflow_id}/{message}", workflow_id, batch.check_number, message),
            )
    return len(batch.alerts)


# --------------------------------------------------------------------------- approval agent


@activity.defn
async def generate_plan(request: PlanRequest) -> list[str]:
    """LLM: a short step-by-step plan for a task."""
    system = 'You plan the work for a task as at most 5 concrete steps. Answer with JSON: {"steps": ["..."]}.'
    text = await _complete_text(request.model, system, f"Task: {request.task}")
    return _parse_list(text, 5)


@activity.defn
async def execute_plan_step(step: PlanStep) -> str:
    """Carry out one approved plan step (recorded in SQLite exactly once)."""
    info = activity.info()
    output = f"done: {step.step}"
    with store.connect() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO executed_steps VALUES (?, ?, ?, ?, ?)",
            (
                f"{info.workflow_id}/{info.workflow_run_id}/{step.index}",
                info.workflow_id,
                step.index,
                step.step,
                output,
            ),
        )
    return output


# --------------------------------------------------------------------------- planner agent


@activity.defn
async def validate_result(result: ExecutorResult) -> list[ValidationIssue]:
    """Quality/safety checks of one executor result (deterministic rules)."""
    issues: list[ValidationIssue] = []
    if len(result.answer.strip()) < 20:
        issues.append(ValidationIssue(result.index, "answer too short"))
    if not result.sources:
        issues.append(ValidationIssue(result.index, "answer cites no sources"))
    if re.search(r"\b(password|api[_ ]?key|ssn)\b", result.answer, re.IGNORECASE):
        issues.append(ValidationIssue(result.index, "answer may leak sensitive data"))
    return issues


# --------------------------------------------------------------------------- support agent


@activity.defn
async def generate_support_reply(turn: SupportTurn) -> str:
    """LLM: the next customer-support reply given the conversation memory."""
    messages: list[dict[str, Any]] = [
        {
            "role": "system",
            "content": "You are a friendly customer support agent for a software product.",
        }
    ]
    messages += [{"role": m.role, "content": m.content} for m in turn.memory]
    response = await _chat(turn.model, messages)
    return str(response.choices[0].message.content or "")


# --------------------------------------------------------------------------- OpenAI tool agent


@activity.defn
async def call_chat_with_tools(request: ChatWithToolsRequest) -> AssistantTurn:
    """LLM: one chat-completions call with tools; returns the assistant turn."""
    response = await _chat(request.model, request.messages, request.tools)
    message = response.choices[0].message
    calls = [
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
        for c in (message.tool_calls or [])
        if getattr(c, "function", None) is not None
    ]
    return AssistantTurn(content=message.content, tool_calls=calls)


@activity.defn
async def execute_tool(call: ToolCall) -> str:
    """Run one tool call. Bad arguments are reported to the model as text, not retried."""
    try:
        args = json.loads(call.arguments or "{}")
        if not isinstance(args, dict):
            raise tools.ToolInputError("arguments must be a JSON object")
        if call.name == "search_corpus":
            hits = tools.search(str(args.get("query", "")), 3)
            return (
                "\n".join(f"{d.doc_id}: {d.title} - {snippet}" for d, _, snippet in hits)
                or "no results"
            )
        if call.name == "read_document":
            ref = str(args.get("doc_id", ""))
            try:
                doc = tools.get_document(ref)
            except tools.UnknownDocumentError:
                doc = tools.search(ref, 1)[0][0]  # a phrase: read the best match
            return f"{doc.title}\n{doc.text}"
        if call.name == "calculator":
            return tools.calculator(str(args.get("expression", "")))
    except (ValueError, IndexError) as err:  # ToolInputError is a ValueError; so is bad JSON
        return f"error: {err}"
    raise ApplicationError(f"unknown tool {call.name!r}", type="UnknownTool", non_retryable=True)
