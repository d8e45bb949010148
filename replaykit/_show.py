"""Rendering one history as an event timeline: terminal text and a self-contained HTML page.

Every event is listed (nothing is grouped away) with its time relative to the start and a short
decoded summary: what ran, with which arguments, what came back. When the history has been
checked against current code, the diverging events are highlighted with the explanation.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google.protobuf.json_format
import temporalio.api.common.v1
import temporalio.api.failure.v1
import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType, RetryState

from ._budget import BudgetReport, chain_budgets, chain_key, format_budget, measure_budget
from ._codec import decoded_history_file
from ._divergence import Divergence, HistoryResult
from ._errors import ReplaykitError
from ._format import event_type_name, format_duration
from ._history import HistoryFile, atomic_write_text, load_history
from ._payloads import decode_payload, decode_payloads
from ._versioning import VersioningView, versioning_view

__all__ = [
    "ShowReport",
    "TimelineEvent",
    "build_timeline",
    "format_offset",
    "format_timeline",
    "render_html",
    "show_history",
]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent

#: Longest decoded preview in a summary line.
PREVIEW_CHARS = 80
#: Longest decoded attribute dump in one HTML ``<details>`` block.
DETAILS_CHARS = 20_000


@dataclass(frozen=True)
class TimelineEvent:
    """One history event as the timeline shows it.

    Attributes:
        event_id: The event id.
        offset: Seconds since the first event (never negative).
        time: The event time (ISO 8601, UTC).
        event_type: The short type name, e.g. ``ActivityTaskScheduled``.
        category: ``workflow``, ``workflow-task``, ``activity``, ``local-activity``, ``timer``,
            ``child``, ``signal``, ``update``, ``marker``, ``attributes`` or ``other``.
        summary: A short decoded summary (values clipped).
        attributes: The event's attributes with every payload decoded (for expanding).
        failed: The event reports a failure, timeout, termination or cancellation.
    """

    event_id: int
    offset: float
    time: str
    event_type: str
    category: str
    summary: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    failed: bool = False


@dataclass(frozen=True)
class ShowReport:
    """What ``replaykit show`` produced for one history.

    Attributes:
        history: The loaded history.
        events: Its timeline.
        result: The check verdict when workflows were given, else None.
        html_path: Where the HTML page was written, if asked.
    """

    history: HistoryFile
    events: tuple[TimelineEvent, ...]
    result: HistoryResult | None = None
    html_path: Path | None = None
    budget: BudgetReport | None = None
    versioning: VersioningView | None = None

    @property
    def exit_code(self) -> int:
        """0 shown (and clean), 1 the history diverges from the code, 2 it could not be checked."""
        if self.result is None:
            return 0
        return {"clean": 0, "divergent": 1}.get(self.result.status, 2)

    def format_verdict(self) -> str:
        """The check verdict and every divergence explained ("" when not checked)."""
        if self.result is None:
            return ""
        lines = [_verdict_line(self.history, self.result)]
        for d in (*self.result.divergences, *self.result.allowed):
            lines.extend("  " + ln for ln in d.describe().splitlines())
        return "\n".join(lines) + "\n"

    def format_text(self) -> str:
        """The terminal timeline (with divergences when checked), then budget and versioning."""
        text = format_timeline(self.history, result=self.result, events=self.events)
        extra: list[str] = []
        if self.versioning is not None and self.versioning.versioned:
            extra.append(f"versioning: {self.versioning.describe()}")
        if self.budget is not None:
            extra.extend(format_budget(self.budget))
        return text + "".join(line + "\n" for line in extra)


def show_history(
    path: Path | str,
    *,
    workflows: Sequence[str | type] = (),
    workflow_id: str | None = None,
    html_out: Path | str | None = None,
    data_converter: str | None = None,
    plugins: Sequence[Any] = (),
) -> ShowReport:
    """Load a history, optionally check it against current code, optionally write HTML.

    Args:
        path: The history file.
        workflows: Workflow modules/classes; when given, the history is replayed against them
            (in this process) and the diverging events are highlighted.
        workflow_id: Workflow id for plain exports without replaykit metadata.
        html_out: Write the self-contained HTML page here (atomically).
        data_converter: ``module:attr`` of the DataConverter or PayloadCodec the history was
            recorded with; payloads are shown decoded.
        plugins: Temporal plugins the replay with ``workflows`` gets (see ``check``).

    Raises:
        HistoryError: The file is not a readable, valid history.
        ConfigError: A workflow module cannot be imported or defines no workflow.
    """
    history = load_history(path, workflow_id=workflow_id)
    result: HistoryResult | None = None
    if workflows:
        from ._check import CheckOptions, check_histories

        # The user asked to look at this one file: no cache files, no worker processes.
        report = check_histories(
            [history], workflows=workflows,
            options=CheckOptions(cache=False, data_converter=data_converter,
                                 plugins=tuple(plugins)), jobs=0,
        )
        result = report.results[0]
    budget = _budget_with_earlier_runs(history)
    versioning = versioning_view(history.events)
    history = decoded_history_file(history, data_converter)
    events = tuple(build_timeline(history))
    written: Path | None = None
    if html_out is not None:
        written = Path(html_out)
        atomic_write_text(written, render_html(history, result=result, events=events,
                                               budget=budget, versioning=versioning))
    return ShowReport(history=history, events=events, result=result, html_path=written,
                      budget=budget, versioning=versioning)


def _budget_with_earlier_runs(history: HistoryFile) -> BudgetReport:
    """The run's budget; for ``<id>.runN.json``, measured with the chain's earlier runs."""
    own = measure_budget(history.events)
    key = chain_key(str(history.path)) if history.path is not None else None
    if key is None or key[1] == 1:
        return own
    stem, number = key
    items: list[tuple[str | None, BudgetReport | None]] = []
    for n in range(1, number):
        sibling = Path(f"{stem}.json" if n == 1 else f"{stem}.run{n}.json")
        try:
            items.append((str(sibling), measure_budget(load_history(sibling).events)))
        except (OSError, ReplaykitError):
            return own  # an incomplete chain: this run alone
    items.append((str(history.path), own))
    return chain_budgets(items)[-1] or own


# ------------------------------------------------------------------------------- formatting


def format_offset(seconds: float) -> str:
    """``+0.012s``, ``+5m 03s``, ``+2h 07m``, ``+7d 0h``."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"+{seconds:.3f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"+{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"+{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"+{whole // 86400}d {whole % 86400 // 3600}h"


def _clip(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _preview(payloads: Sequence[temporalio.api.common.v1.Payload]) -> str:
    return _clip(", ".join(_compact(v) for v in decode_payloads(payloads)))


def _failure_text(f: temporalio.api.failure.v1.Failure) -> str:
    parts: list[str] = []
    cur: temporalio.api.failure.v1.Failure | None = f
    depth = 0
    while cur is not None and depth < 4:
        kind = (
            cur.application_failure_info.type
            if cur.HasField("application_failure_info") and cur.application_failure_info.type
            else ""
        )
        parts.append(f"{kind}: {cur.message}" if kind else cur.message)
        cur = cur.cause if cur.HasField("cause") else None
        depth += 1
    return _clip(" ← ".join(p for p in parts if p) or "(no message)", 120)


def _retry_state(value: int) -> str:
    if not value:
        return ""
    name = (
        RetryState.Name(RetryState.ValueType(value))
        .removeprefix("RETRY_STATE_")
        .lower()
        .replace("_", " ")
    )
    return f" ({name})"


def _decode_tree(value: Any) -> Any:
    """Replace every encoded payload in a ``MessageToDict`` tree by its decoded value."""
    if isinstance(value, dict):
        meta = value.get("metadata")
        if (
            isinstance(meta, dict)
            and "encoding" in meta
            and set(value) <= {"metadata", "data", "externalPayloads"}
        ):
            payload = google.protobuf.json_format.ParseDict(
                value, temporalio.api.common.v1.Payload(), ignore_unknown_fields=True
            )
            return decode_payload(payload)
        return {k: _decode_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_tree(v) for v in value]
    return value


def _attributes(ev: HistoryEvent) -> dict[str, Any]:
    which = ev.WhichOneof("attributes")
    if not which:
        return {}
    raw = google.protobuf.json_format.MessageToDict(getattr(ev, which))
    decoded: dict[str, Any] = _decode_tree(raw)
    return decoded


# ------------------------------------------------------------------------------- timeline

_WORKFLOW_TASK = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    }
)

_FAILED_WORDS = ("Failed", "TimedOut", "Terminated", "Canceled")


def _category(ev: HistoryEvent) -> str:
    t = ev.event_type
    name = EventType.Name(t)
    if t in _WORKFLOW_TASK:
        return "workflow-task"
    if t == E.EVENT_TYPE_MARKER_RECORDED:
        marker = ev.marker_recorded_event_attributes.marker_name
        return "local-activity" if marker == "core_local_activity" else "marker"
    if "ACTIVITY_TASK" in name:
        return "activity"
    if "TIMER" in name:
        return "timer"
    if "CHILD_WORKFLOW" in name:
        return "child"
    if "SIGNAL" in name:
        return "signal"
    if "UPDATE" in name:
        return "update"
    if "SEARCH_ATTRIBUTES" in name or "PROPERTIES_MODIFIED" in name:
        return "attributes"
    if "WORKFLOW_EXECUTION" in name:
        return "workflow"
    return "other"


class _Index:
    """What later events refer back to: scheduled activities, timers, children."""

    def __init__(self, events: Sequence[HistoryEvent]) -> None:
        self.activity: dict[int, str] = {}
        self.timer: dict[int, str] = {}
        self.child: dict[int, str] = {}
        self.task_attempt: dict[int, int] = {}
        for ev in events:
            t = ev.event_type
            if t == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                self.task_attempt[ev.event_id] = ev.workflow_task_scheduled_event_attributes.attempt
            elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                self.activity[ev.event_id] = (
                    ev.activity_task_scheduled_event_attributes.activity_type.name
                )
            elif t == E.EVENT_TYPE_TIMER_STARTED:
                a = ev.timer_started_event_attributes
                self.timer[ev.event_id] = (
                    f"timer {a.timer_id} ({format_duration(a.start_to_fire_timeout)})"
                )
            elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                a2 = ev.start_child_workflow_execution_initiated_event_attributes
                self.child[ev.event_id] = f"{a2.workflow_type.name} (id {a2.workflow_id})"


def _summary(ev: HistoryEvent, idx: _Index) -> str:
    t = ev.event_type
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        a = ev.workflow_execution_started_event_attributes
        text = f"{a.workflow_type.name}({_preview(a.input.payloads)}) on {a.task_queue.name}"
        if a.attempt > 1:
            text += f", attempt {a.attempt}"
        if a.continued_execution_run_id:
            text += ", continued from a previous run"
        return text
    if t == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        # The started event has no attempt of its own: it is the scheduled task's attempt.
        attempt = idx.task_attempt.get(
            ev.workflow_task_started_event_attributes.scheduled_event_id, 1
        )
        return f"attempt {attempt}" if attempt > 1 else ""
    if t == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        attempt = ev.workflow_task_scheduled_event_attributes.attempt
        return f"attempt {attempt}" if attempt > 1 else ""
    if t == E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        wf = ev.workflow_task_failed_event_attributes
        cause = wf.cause and _enum_short("WORKFLOW_TASK_FAILED_CAUSE_", wf.cause)
        return f"{cause}: {_failure_text(wf.failure)}" if cause else _failure_text(wf.failure)
    if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        s = ev.activity_task_scheduled_event_attributes
        return f"{s.activity_type.name}({_preview(s.input.payloads)}) [id {s.activity_id}]"
    if t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        st = ev.activity_task_started_event_attributes
        name = idx.activity.get(st.scheduled_event_id, "?")
        text = f"{name} attempt {st.attempt}"
        if st.HasField("last_failure"):
            text += f", last failure: {_failure_text(st.last_failure)}"
        return text
    if t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        c = ev.activity_task_completed_event_attributes
        return f"{idx.activity.get(c.scheduled_event_id, '?')} -> {_preview(c.result.payloads)}"
    if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        fa = ev.activity_task_failed_event_attributes
        return (
            f"{idx.activity.get(fa.scheduled_event_id, '?')} failed: {_failure_text(fa.failure)}"
            f"{_retry_state(fa.retry_state)}"
        )
    if t == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        to = ev.activity_task_timed_out_event_attributes
        return (
            f"{idx.activity.get(to.scheduled_event_id, '?')} timed out: "
            f"{_failure_text(to.failure)}{_retry_state(to.retry_state)}"
        )
    if t == E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        cr = ev.activity_task_cancel_requested_event_attributes
        return f"{idx.activity.get(cr.scheduled_event_id, '?')} cancel requested"
    if t == E.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        ca = ev.activity_task_canceled_event_attributes
        return f"{idx.activity.get(ca.scheduled_event_id, '?')} canceled"
    if t == E.EVENT_TYPE_TIMER_STARTED:
        ts = ev.timer_started_event_attributes
        return f"timer {ts.timer_id}: {format_duration(ts.start_to_fire_timeout)}"
    if t == E.EVENT_TYPE_TIMER_FIRED:
        tf = ev.timer_fired_event_attributes
        return f"{idx.timer.get(tf.started_event_id, 'timer ' + tf.timer_id)} fired"
    if t == E.EVENT_TYPE_TIMER_CANCELED:
        tc = ev.timer_canceled_event_attributes
        return f"{idx.timer.get(tc.started_event_id, 'timer ' + tc.timer_id)} canceled"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        sg = ev.workflow_execution_signaled_event_attributes
        return f"signal {sg.signal_name}({_preview(sg.input.payloads)})"
    if t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        se = ev.signal_external_workflow_execution_initiated_event_attributes
        return (
            f"signal {se.signal_name}({_preview(se.input.payloads)}) "
            f"to {se.workflow_execution.workflow_id}"
        )
    if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        ci = ev.start_child_workflow_execution_initiated_event_attributes
        return f"{ci.workflow_type.name}({_preview(ci.input.payloads)}) id {ci.workflow_id}"
    if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        cs = ev.child_workflow_execution_started_event_attributes
        return f"{cs.workflow_type.name} (id {cs.workflow_execution.workflow_id})"
    if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        cc = ev.child_workflow_execution_completed_event_attributes
        child = idx.child.get(cc.initiated_event_id, cc.workflow_type.name)
        return f"{child} -> {_preview(cc.result.payloads)}"
    if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        cf = ev.child_workflow_execution_failed_event_attributes
        return (
            f"{idx.child.get(cf.initiated_event_id, cf.workflow_type.name)} failed: "
            f"{_failure_text(cf.failure)}"
        )
    if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
        sf = ev.start_child_workflow_execution_failed_event_attributes
        return f"{sf.workflow_type.name} (id {sf.workflow_id}) could not start"
    if t in (
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    ):
        which = ev.WhichOneof("attributes") or ""
        initiated = int(getattr(getattr(ev, which), "initiated_event_id", 0))
        return idx.child.get(initiated, "")
    if t == E.EVENT_TYPE_MARKER_RECORDED:
        return _marker_summary(ev)
    if t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes
        return _fields_preview(fields.indexed_fields)
    if t == E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        return "memo " + _fields_preview(
            ev.workflow_properties_modified_event_attributes.upserted_memo.fields
        )
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        ua = ev.workflow_execution_update_accepted_event_attributes
        req = ua.accepted_request
        return f"update {req.input.name}({_preview(req.input.args.payloads)})"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        uc = ev.workflow_execution_update_completed_event_attributes
        if uc.outcome.HasField("failure"):
            return f"update failed: {_failure_text(uc.outcome.failure)}"
        return f"update -> {_preview(uc.outcome.success.payloads)}"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return f"-> {_preview(ev.workflow_execution_completed_event_attributes.result.payloads)}"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        wff = ev.workflow_execution_failed_event_attributes
        return f"{_failure_text(wff.failure)}{_retry_state(wff.retry_state)}"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        can = ev.workflow_execution_continued_as_new_event_attributes
        return f"{can.workflow_type.name}({_preview(can.input.payloads)}) as a new run"
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return _clip(ev.workflow_execution_terminated_event_attributes.reason, 120)
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        return _clip(ev.workflow_execution_cancel_requested_event_attributes.cause, 120)
    return ""


def _enum_short(prefix: str, value: int) -> str:
    from temporalio.api.enums.v1 import WorkflowTaskFailedCause

    try:
        name = WorkflowTaskFailedCause.Name(WorkflowTaskFailedCause.ValueType(value))
    except ValueError:
        return str(value)
    return name.removeprefix(prefix).lower().replace("_", " ")


def _fields_preview(fields: Mapping[str, temporalio.api.common.v1.Payload]) -> str:
    return _clip(", ".join(f"{k}={_compact(decode_payload(v))}" for k, v in fields.items()))


def _marker_summary(ev: HistoryEvent) -> str:
    m = ev.marker_recorded_event_attributes
    details = {k: decode_payloads(v.payloads) for k, v in m.details.items()}
    if m.marker_name == "core_patch":
        for values in details.values():
            for value in values:
                if isinstance(value, dict) and "id" in value:
                    dep = " (deprecated)" if value.get("deprecated") else ""
                    return f"patch {value['id']}{dep}"
        return "patch"
    if m.marker_name == "core_local_activity":
        data = (details.get("data") or [None])[0]
        name = data.get("activity_type", "?") if isinstance(data, dict) else "?"
        attempt = data.get("attempt") if isinstance(data, dict) else None
        text = f"local activity {name}"
        if attempt and int(attempt) > 1:
            text += f" attempt {attempt}"
        if m.HasField("failure"):
            return f"{text} failed: {_failure_text(m.failure)}"
        result = details.get("result")
        return f"{text} -> {_clip(', '.join(_compact(v) for v in result))}" if result else text
    return f"{m.marker_name} {_clip(_compact(details))}"


def build_timeline(history: HistoryFile) -> list[TimelineEvent]:
    """Every event of ``history`` with its offset, category and decoded summary."""
    events = history.events
    idx = _Index(events)
    start = events[0].event_time.ToNanoseconds() if events else 0
    out: list[TimelineEvent] = []
    for ev in events:
        type_name = event_type_name(ev.event_type)
        out.append(
            TimelineEvent(
                event_id=ev.event_id,
                offset=max(ev.event_time.ToNanoseconds() - start, 0) / 1e9,
                time=ev.event_time.ToJsonString() if ev.HasField("event_time") else "",
                event_type=type_name,
                category=_category(ev),
                summary=_summary(ev, idx),
                attributes=_attributes(ev),
                failed=type_name.endswith(_FAILED_WORDS)
                or (
                    type_name == "MarkerRecorded"
                    and ev.marker_recorded_event_attributes.HasField("failure")
                ),
            )
        )
    return out


def _divergences_by_event(result: HistoryResult | None) -> dict[int | None, list[Divergence]]:
    out: dict[int | None, list[Divergence]] = {}
    if result is None:
        return out
    for d in (*result.divergences, *result.allowed):
        out.setdefault(d.event_id, []).append(d)
    return out


def _verdict_line(history: HistoryFile, result: HistoryResult) -> str:
    if result.status == "error":
        return f"check: ERROR {result.error}"
    if result.status == "clean":
        extra = f" ({len(result.divergences)} reported, passing)" if result.divergences else ""
        return f"check: replays clean against the current code{extra}"
    n = len(result.divergences)
    return f"check: DIVERGED — {n} divergence{'s' if n != 1 else ''} from the current code"


def format_timeline(
    history: HistoryFile,
    *,
    result: HistoryResult | None = None,
    events: Sequence[TimelineEvent] | None = None,
) -> str:
    """The timeline as terminal text: one line per event, divergences marked with ``!``."""
    rows = list(events) if events is not None else build_timeline(history)
    lines = [
        f"{history.display_name}: {history.workflow_type} · workflow id {history.workflow_id}"
        f" · {len(rows)} events"
    ]
    by_event = _divergences_by_event(result)
    if result is not None:
        lines.append(_verdict_line(history, result))
    lines.append("")
    id_w = max(len(str(r.event_id)) for r in rows) if rows else 1
    off_w = max(len(format_offset(r.offset)) for r in rows) if rows else 1
    type_w = min(max(len(r.event_type) for r in rows) if rows else 1, 40)
    for r in rows:
        mark = "!" if r.event_id in by_event else " "
        line = (
            f"{mark} {r.event_id:>{id_w}}  {format_offset(r.offset):>{off_w}}  "
            f"{r.event_type:<{type_w}}  {r.summary}"
        )
        lines.append(line.rstrip())
        for d in by_event.get(r.event_id, []):
            lines.extend("      " + ln for ln in d.describe().splitlines())
    for d in by_event.get(None, []):
        lines.append("! after the recorded events:")
        lines.extend("      " + ln for ln in d.describe().splitlines())
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;color:#1d2330}
h1{font-size:1.3em;margin:0 0 .2em}
.meta{color:#5b6475;margin-bottom:1em}
.meta code{background:#f1f3f7;padding:0 .3em;border-radius:3px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .6em;vertical-align:top;border-bottom:1px solid #eceff4}
th{background:#f6f7fa;position:sticky;top:0}
td.id,td.off{font-variant-numeric:tabular-nums;white-space:nowrap;color:#5b6475}
td.type{white-space:nowrap;font-weight:600}
td.sum{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;
  word-break:break-word}
details summary{cursor:pointer;color:#5b6475;font-size:12px}
pre{background:#f6f7fa;padding:.6em;border-radius:4px;overflow:auto;max-height:30em;
  font-size:12px;white-space:pre-wrap;word-break:break-word}
tr.cat-workflow-task{opacity:.45}
tr.cat-workflow td.type{color:#0b7285}
tr.cat-activity td.type{color:#1c5fd1}
tr.cat-activity{background:#f3f7ff}
tr.cat-local-activity td.type{color:#1c5fd1}
tr.cat-timer td.type{color:#b35c00}
tr.cat-timer{background:#fff8ec}
tr.cat-child td.type{color:#7b2fbf}
tr.cat-child{background:#f8f2ff}
tr.cat-signal td.type,tr.cat-update td.type{color:#2b8a3e}
tr.cat-signal,tr.cat-update{background:#f1fbf3}
tr.cat-marker td.type,tr.cat-attributes td.type{color:#5b6475}
tr.failed td.sum{color:#c92a2a}
tr.diverged{background:#ffe3e3 !important;outline:2px solid #e03131;opacity:1}
tr.divergence td{background:#fff5f5;border-left:4px solid #e03131}
.banner{border:2px solid #e03131;background:#fff5f5;border-radius:6px;padding:.8em 1em;
  margin:0 0 1.2em}
.banner.clean{border-color:#2b8a3e;background:#ebfbee}
.banner.error{border-color:#e8590c;background:#fff4e6}
.div{margin:.6em 0}
.kind{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;
  padding:0 .4em;border-radius:3px;background:#e03131;color:#fff;margin-right:.4em}
.kind.option-change{background:#868e96}
.legend span{display:inline-block;margin-right:1em;font-size:12px}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}
"""


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pretty(value: Any) -> str:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > DETAILS_CHARS:
        text = text[:DETAILS_CHARS] + f"\n… ({len(text) - DETAILS_CHARS} more characters)"
    return text


def _divergence_html(d: Divergence, *, link: bool) -> str:
    parts = [
        f'<div class="div"><span class="kind {_h(d.kind)}">{_h(d.kind)}</span>'
        f"<strong>{_h(d.message)}</strong>"
    ]
    facts: list[str] = []
    if d.event_id is not None:
        where = f"event {d.event_id} ({d.event_type})"
        facts.append(f'<a href="#ev-{d.event_id}">{_h(where)}</a>' if link else _h(where))
    if d.subject:
        facts.append(_h(d.subject) + (f" · field <code>{_h(d.field)}</code>" if d.field else ""))
    if d.source:
        facts.append(f"code: <code>{_h(d.source)}</code>")
    if facts:
        parts.append("<div>" + " · ".join(facts) + "</div>")
    if d.diff:
        parts.append(f"<div>recorded → now:</div><pre>{_h(d.diff)}</pre>")
    else:
        if d.recorded is not None:
            parts.append(f"<div>recorded:</div><pre>{_h(_pretty(d.recorded))}</pre>")
        if d.current is not None:
            parts.append(f"<div>now:</div><pre>{_h(_pretty(d.current))}</pre>")
    if d.hint:
        parts.append(f"<div><em>hint:</em> {_h(d.hint)}</div>")
    parts.append("</div>")
    return "".join(parts)


def _banner(history: HistoryFile, result: HistoryResult | None) -> str:
    if result is None:
        return ""
    if result.status == "error":
        return (
            f'<div class="banner error"><strong>Could not check:</strong> {_h(result.error)}</div>'
        )
    divs = (*result.divergences, *result.allowed)
    if result.status == "clean" and not divs:
        return '<div class="banner clean">Replays clean against the current code.</div>'
    head = (
        _h(_verdict_line(history, result).removeprefix("check: "))
        if result.status == "divergent"
        else "Replays, with differences that do not fail the check"
    )
    body = "".join(_divergence_html(d, link=True) for d in divs)
    cls = "banner" if result.status == "divergent" else "banner clean"
    return f'<div class="{cls}" id="divergences"><strong>{head}</strong>{body}</div>'


_LEGEND = (
    ("workflow", "#0b7285"),
    ("activity", "#1c5fd1"),
    ("timer", "#b35c00"),
    ("child", "#7b2fbf"),
    ("signal / update", "#2b8a3e"),
    ("workflow task", "#adb5bd"),
)


def render_html(
    history: HistoryFile,
    *,
    result: HistoryResult | None = None,
    events: Sequence[TimelineEvent] | None = None,
    budget: BudgetReport | None = None,
    versioning: VersioningView | None = None,
) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external assets).

    Args:
        history: The history to render.
        result: A check verdict; its divergences are shown at the top and at their events.
        events: A timeline already built from ``history`` (built here if None).
        budget: The history budget, shown under the facts.
        versioning: Worker Versioning recorded in the history, shown with the facts.
    """
    rows = list(events) if events is not None else build_timeline(history)
    by_event = _divergences_by_event(result)
    meta = history.meta
    facts = [
        ("workflow type", history.workflow_type),
        ("workflow id", history.workflow_id),
        ("run id", history.run_id or "?"),
        ("task queue", history.task_queue),
        ("events", str(len(rows))),
    ]
    if versioning is not None and versioning.versioned:
        facts.append(("versioning", versioning.describe()))
    if meta is not None:
        facts += [
            (k, v)
            for k, v in (
                ("scenario", meta.scenario),
                ("recorded", meta.recorded_at),
                ("SDK", meta.sdk_version),
            )
            if v
        ]
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(history.workflow_type)} · {_h(history.workflow_id)} · replaykit</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_h(history.workflow_type)} <small>{_h(history.display_name)}</small></h1>",
        '<div class="meta">'
        + " · ".join(f"{_h(k)} <code>{_h(v)}</code>" for k, v in facts)
        + "</div>",
        _banner(history, result),
        (f'<pre class="budget">{_h(chr(10).join(format_budget(budget)))}</pre>'
         if budget is not None else ""),
        '<div class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{_h(n)}</span>' for n, c in _LEGEND)
        + "</div>",
        "<table><thead><tr><th>id</th><th>time</th><th>event</th><th>summary</th></tr></thead>",
        "<tbody>",
    ]
    for r in rows:
        classes = [f"cat-{r.category}"]
        if r.failed:
            classes.append("failed")
        divs = by_event.get(r.event_id, [])
        if divs:
            classes.append("diverged")
        details = (
            f"<details><summary>decoded attributes</summary><pre>{_h(_pretty(r.attributes))}</pre>"
            "</details>"
            if r.attributes
            else ""
        )
        out.append(
            f'<tr id="ev-{r.event_id}" class="{" ".join(classes)}">'
            f'<td class="id">{r.event_id}</td>'
            f'<td class="off" title="{_h(r.time)}">{_h(format_offset(r.offset))}</td>'
            f'<td class="type">{_h(r.event_type)}</td>'
            f'<td class="sum">{_h(r.summary)}{details}</td></tr>'
        )
        if divs:
            out.append(
                '<tr class="divergence"><td colspan="4">'
                + "".join(_divergence_html(d, link=False) for d in divs)
                + "</td></tr>"
            )
    trailing = by_event.get(None, [])
    if trailing:
        out.append(
            '<tr class="divergence" id="ev-after"><td colspan="4"><strong>After the recorded '
            "events:</strong>"
            + "".join(_divergence_html(d, link=False) for d in trailing)
            + "</td></tr>"
        )
    out += ["</tbody></table>", "</body></html>", ""]
    return "\n".join(out)
