"""Timeline rendering and history diffing on histories built event by event (no server).

The histories are proto3 JSON as the CLI writes it, loaded through the same validating loader
as real files; the CLI tests run both commands on histories recorded from real runs.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest

from replaykit.check import Divergence, HistoryResult
from replaykit.history import HistoryFile, history_from_json
from replaykit.views import ShowReport, diff_histories, render_html
from replaykit.views._show import build_timeline, format_offset, format_timeline

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _p(*values: Any) -> dict[str, Any]:
    return {
        "payloads": [
            {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(json.dumps(v).encode())}
            for v in values
        ]
    }


def _failure(message: str, kind: str) -> dict[str, Any]:
    return {"message": message, "applicationFailureInfo": {"type": kind}}


def _build(
    *,
    workflow_id: str = "agent-1",
    topic: Any = "durable agents",
    days: int = 7,
    signal: str = "approve",
    who: str = "ana",
    activity: str = "search",
    extra_activity: bool = False,
    fail: bool = False,
    identity: str = "worker-1@host",
    start: datetime = T0,
    report: str | None = None,
) -> HistoryFile:
    """An Agent run: search activity (3 attempts), a signal, a timer, a patch, completion."""
    run_id = str(uuid.uuid4())
    rows: list[tuple[str, float, dict[str, Any]]] = []

    def add(kind: str, at: float, attrs: dict[str, Any]) -> str:
        rows.append((kind, at, attrs))
        return str(len(rows))

    def task(at: float) -> str:
        s = add("WORKFLOW_TASK_SCHEDULED", at, {"taskQueue": {"name": "q"}, "attempt": 1})
        st = add(
            "WORKFLOW_TASK_STARTED",
            at + 0.001,
            {"scheduledEventId": s, "identity": identity, "requestId": str(uuid.uuid4())},
        )
        return add(
            "WORKFLOW_TASK_COMPLETED",
            at + 0.005,
            {"scheduledEventId": s, "startedEventId": st, "identity": identity},
        )

    add(
        "WORKFLOW_EXECUTION_STARTED",
        0,
        {
            "workflowType": {"name": "Agent"},
            "taskQueue": {"name": "q"},
            "input": _p(topic),
            "originalExecutionRunId": run_id,
            "firstExecutionRunId": run_id,
            "identity": identity,
            "workflowId": workflow_id,
        },
    )
    done = task(0)
    sched = add(
        "ACTIVITY_TASK_SCHEDULED",
        0.005,
        {
            "activityId": "1",
            "activityType": {"name": activity},
            "taskQueue": {"name": "q"},
            "input": _p({"q": topic, "limit": 2}),
            "startToCloseTimeout": "10s",
            "workflowTaskCompletedEventId": done,
        },
    )
    started = add(
        "ACTIVITY_TASK_STARTED",
        1.5,
        {
            "scheduledEventId": sched,
            "attempt": 3,
            "identity": identity,
            "requestId": str(uuid.uuid4()),
            "lastFailure": _failure("rate limited", "RateLimit"),
        },
    )
    add(
        "ACTIVITY_TASK_COMPLETED",
        1.512,
        {
            "scheduledEventId": sched,
            "startedEventId": started,
            "result": _p(["doc-1", "doc-2"]),
            "identity": identity,
        },
    )
    add(
        "WORKFLOW_EXECUTION_SIGNALED",
        1.6,
        {
            "signalName": signal,
            "input": _p(who),
            "identity": f"client-{uuid.uuid4().hex[:6]}",
        },
    )
    done = task(1.6)
    if extra_activity:
        s2 = add(
            "ACTIVITY_TASK_SCHEDULED",
            1.61,
            {
                "activityId": "2",
                "activityType": {"name": "notify"},
                "taskQueue": {"name": "q"},
                "input": _p(who),
                "startToCloseTimeout": "5s",
                "workflowTaskCompletedEventId": done,
            },
        )
        st2 = add("ACTIVITY_TASK_STARTED", 1.62, {"scheduledEventId": s2, "attempt": 1})
        add(
            "ACTIVITY_TASK_COMPLETED",
            1.63,
            {"scheduledEventId": s2, "startedEventId": st2, "result": _p(None)},
        )
    timer = add(
        "TIMER_STARTED",
        1.61,
        {
            "timerId": "1",
            "startToFireTimeout": f"{days * 86400}s",
            "workflowTaskCompletedEventId": done,
        },
    )
    add("TIMER_FIRED", 1.61 + days * 86400, {"timerId": "1", "startedEventId": timer})
    done = task(1.62 + days * 86400)
    add(
        "MARKER_RECORDED",
        1.63 + days * 86400,
        {
            "markerName": "core_patch",
            "workflowTaskCompletedEventId": done,
            "details": {"patch_data": _p({"id": "v2-prompt", "deprecated": False})},
        },
    )
    add(
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        1.63 + days * 86400,
        {
            "workflowId": f"{workflow_id}-notify",
            "workflowType": {"name": "Notify"},
            "taskQueue": {"name": "q"},
            "input": _p(who),
            "workflowTaskCompletedEventId": done,
        },
    )
    if fail:
        add(
            "WORKFLOW_EXECUTION_FAILED",
            1.64 + days * 86400,
            {
                "failure": _failure("no sources", "NoSources"),
                "workflowTaskCompletedEventId": done,
            },
        )
    else:
        add(
            "WORKFLOW_EXECUTION_COMPLETED",
            1.64 + days * 86400,
            {
                "result": _p(report or f"report on {topic}", f"rpt-{workflow_id}-{run_id}"),
                "workflowTaskCompletedEventId": done,
            },
        )
    events = []
    for i, (kind, at, attrs) in enumerate(rows, start=1):
        key = "".join(w.capitalize() for w in kind.lower().split("_"))
        key = key[0].lower() + key[1:] + "EventAttributes"
        when = (start + timedelta(seconds=at)).isoformat().replace("+00:00", "Z")
        events.append(
            {"eventId": str(i), "eventTime": when, "eventType": f"EVENT_TYPE_{kind}", key: attrs}
        )
    return history_from_json({"events": events}, workflow_id=workflow_id)


# ------------------------------------------------------------------------------- show


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "+0.000s"),
        (0.012, "+0.012s"),
        (59.9994, "+59.999s"),
        (65, "+1m 05s"),
        (3723, "+1h 02m"),
        (7 * 86400 + 5, "+7d 0h"),
        (9 * 86400 + 5 * 3600, "+9d 5h"),
        (-1, "+0.000s"),
    ],
)
def test_format_offset(seconds: float, text: str) -> None:
    assert format_offset(seconds) == text


def test_timeline_summaries_decode_every_kind_of_event() -> None:
    rows = {r.event_id: r for r in build_timeline(_build())}
    assert len(rows) == 19
    by_type = {r.event_type: r for r in rows.values()}
    assert by_type["WorkflowExecutionStarted"].summary == 'Agent("durable agents") on q'
    assert by_type["ActivityTaskScheduled"].summary == (
        'search({"q": "durable agents", "limit": 2}) [id 1]'
    )
    assert by_type["ActivityTaskStarted"].summary == (
        "search attempt 3, last failure: RateLimit: rate limited"
    )
    assert by_type["ActivityTaskCompleted"].summary == 'search -> ["doc-1", "doc-2"]'
    assert by_type["WorkflowExecutionSignaled"].summary == 'signal approve("ana")'
    assert by_type["TimerStarted"].summary == "timer 1: 7d"
    assert by_type["TimerFired"].summary == "timer 1 (7d) fired"
    assert by_type["MarkerRecorded"].summary == "patch v2-prompt"
    assert by_type["StartChildWorkflowExecutionInitiated"].summary == (
        'Notify("ana") id agent-1-notify'
    )
    assert by_type["WorkflowExecutionCompleted"].summary.startswith(
        '-> "report on durable agents", "rpt-agent-1-'
    )
    assert format_offset(by_type["TimerFired"].offset) == "+7d 0h"
    assert format_offset(by_type["ActivityTaskCompleted"].offset) == "+1.512s"
    cats = {r.event_type: r.category for r in rows.values()}
    assert cats["WorkflowTaskStarted"] == "workflow-task"
    assert cats["TimerFired"] == "timer" and cats["ActivityTaskStarted"] == "activity"
    assert cats["StartChildWorkflowExecutionInitiated"] == "child"
    assert cats["WorkflowExecutionSignaled"] == "signal"
    # decoded payloads for the expandable details
    assert by_type["ActivityTaskScheduled"].attributes["input"]["payloads"] == [
        {"q": "durable agents", "limit": 2}
    ]


def test_failed_run_summary_and_flag() -> None:
    rows = build_timeline(_build(fail=True))
    last = rows[-1]
    assert last.event_type == "WorkflowExecutionFailed" and last.failed
    assert last.summary == "NoSources: no sources"


def test_text_lists_every_event_and_clips_long_values() -> None:
    history = _build(topic="x" * 500)
    text = format_timeline(history)
    lines = text.splitlines()
    assert lines[0].startswith("agent-1: Agent · workflow id agent-1 · 19 events")
    event_lines = [ln for ln in lines[2:] if ln.strip()]
    assert [int(ln.split()[0]) for ln in event_lines] == list(range(1, 20))
    scheduled = next(ln for ln in event_lines if "ActivityTaskScheduled" in ln)
    assert "…" in scheduled and len(scheduled) < 160


def _divergent_result(history: HistoryFile) -> HistoryResult:
    return HistoryResult(
        path=None,
        workflow_id=history.workflow_id,
        workflow_type="Agent",
        status="divergent",
        divergences=(
            Divergence(
                kind="drift",
                cause="activity-input",
                message="activity search: input arguments changed <b>",
                event_id=5,
                event_type="ActivityTaskScheduled",
                subject="activity search",
                field="input",
                diff="args[0]: 'a' -> '<i>b</i>'",
                source="agent.py:12 (in run)",
                hint="guard it with workflow.patched",
            ),
            Divergence(
                kind="nondeterminism",
                cause="extra-command",
                message="the code now issues activity notify, which the history does not have",
                current="activity notify",
            ),
        ),
    )


class _Tags(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_html_escapes_payloads_and_highlights_divergences() -> None:
    history = _build(topic="<script>alert('x')</script>", who='"><img src=x onerror=1>')
    page = render_html(history, result=_divergent_result(history))
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert not [t for t, _ in parser.tags if t in ("script", "img", "link", "iframe")]
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    rows = {a.get("id"): (a.get("class") or "") for t, a in parser.tags if t == "tr"}
    assert "diverged" in (rows["ev-5"] or "").split()
    assert sum("diverged" in (c or "").split() for c in rows.values()) == 1
    assert "ev-after" in rows  # the extra command has no recorded event: shown at the end
    assert "input arguments changed &lt;b&gt;" in page
    assert "&#x27;a&#x27; -&gt; &#x27;&lt;i&gt;b&lt;/i&gt;&#x27;" in page
    assert "agent.py:12 (in run)" in page
    # workflow tasks dimmed, timers/activities color-coded via their category class
    assert "cat-workflow-task" in rows["ev-2"] and "cat-timer" in rows["ev-13"]
    assert page.count("<details>") == 19


def test_text_marks_divergent_events_and_trailing_commands() -> None:
    history = _build()
    text = format_timeline(history, result=_divergent_result(history))
    marked = [ln for ln in text.splitlines() if ln.startswith("!")]
    assert len(marked) == 2
    assert "ActivityTaskScheduled" in marked[0]
    assert marked[1] == "! after the recorded events:"
    assert "check: DIVERGED — 2 divergences" in text


def test_show_report_exit_codes() -> None:
    history = _build()
    events = tuple(build_timeline(history))
    assert ShowReport(history=history, events=events).exit_code == 0
    assert (
        ShowReport(history=history, events=events, result=_divergent_result(history)).exit_code == 1
    )
    error = HistoryResult(
        path=None,
        workflow_id="x",
        workflow_type=None,
        status="error",
        error="workflow type Agent not registered",
    )
    report = ShowReport(history=history, events=events, result=error)
    assert report.exit_code == 2
    assert "Could not check" in render_html(history, result=error)


# ------------------------------------------------------------------------------- diff


def test_diff_ignores_run_noise() -> None:
    a = _build(workflow_id="agent-1", identity="w1@a")
    b = _build(workflow_id="agent-2", identity="w2@b", start=T0 + timedelta(days=3))
    assert a.run_id != b.run_id
    result = diff_histories(a, b)
    assert result.equivalent and result.exit_code == 0, result.format_text()
    assert result.a_steps == result.b_steps == 7
    assert "EQUIVALENT" in result.format_text()


def test_diff_reports_changed_args_durations_signals_and_extra_steps() -> None:
    a = _build()
    b = _build(topic="agent durability", days=6, signal="reject", extra_activity=True)
    result = diff_histories(a, b)
    assert result.exit_code == 1
    got = [(d.change, d.step, d.field) for d in result.differences]
    assert got == [
        ("changed", "workflow start", "input"),
        ("changed", "activity search", "input"),
        ("only-in-b", "activity notify", None),
        ("changed", "timer", "duration"),
        ("changed", "completion", "result"),
        ("changed", "signal approve", "type"),
    ]
    by = {(d.step, d.field): d for d in result.differences}
    assert by[("activity search", "input")].diff == (
        "input[0]['q']: 'durable agents' -> 'agent durability'"
    )
    timer = by[("timer", "duration")]
    assert (timer.a, timer.b) == ("7d", "6d")
    assert timer.message == "timer: duration 7d in A, 6d in B"
    assert by[("signal approve", "type")].message == "signal approve in A is signal reject in B"
    only = by[("activity notify", None)]
    assert only.b_event_id == 12 and only.a_event_id is None
    json.dumps(result.to_json())  # JSON-ready


def test_diff_renamed_activity_is_one_change_not_remove_and_add() -> None:
    result = diff_histories(_build(), _build(activity="web_search"))
    assert [(d.change, d.field, d.a, d.b) for d in result.differences] == [
        ("changed", "type", "search", "web_search")
    ]
    assert result.differences[0].message == "activity search in A is activity web_search in B"


def test_diff_reports_a_different_outcome() -> None:
    result = diff_histories(_build(), _build(fail=True))
    fields = {d.field: d for d in result.differences}
    assert set(fields) == {"outcome", "result", "failure"}
    assert fields["outcome"].message == "completion: outcome Completed in A, Failed in B"
    assert fields["failure"].b == {"message": "no sources", "type": "NoSources"}


def test_diff_ignores_the_runs_own_ids_inside_values() -> None:
    # The completion result embeds each run's workflow id and run id (a report id).
    a, b = _build(workflow_id="agent-1"), _build(workflow_id="agent-2")
    assert diff_histories(a, b).equivalent
    # ... but a short workflow id is not replaced inside values (it would match plain text)
    short = diff_histories(_build(workflow_id="a1"), _build(workflow_id="a2"))
    assert [(d.step, d.field) for d in short.differences] == [("completion", "result")]


def test_diff_shows_long_texts_around_their_first_difference() -> None:
    text = "Summary: " + "the sources agree. " * 30
    result = diff_histories(_build(report=text), _build(report=text + "Caveat: verify."))
    (only,) = result.differences
    assert only.field == "result"
    assert only.diff is not None and only.diff.startswith("result[0]: text changed")
    assert "{+Caveat: verify.+}" in only.diff  # the added words, not both sides' prefix


def test_diff_tells_json_false_from_zero() -> None:
    # issue 12 item 5: Python's False == 0, JSON's false is not 0 (check says so too)
    result = diff_histories(_build(topic=False), _build(topic=0))
    assert not result.equivalent and result.exit_code == 1
    assert [(d.step, d.field) for d in result.differences] == [
        ("workflow start", "input"),
        ("activity search", "input"),
        ("completion", "result"),
    ]
    assert diff_histories(_build(topic=True), _build(topic=True)).equivalent
