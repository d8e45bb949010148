"""The timeline view of one history, shared by the text and HTML renderers.

Every event becomes a :class:`TimelineEvent`: its time relative to the start, a category, a
short decoded summary (what ran, with which arguments, what came back) and its decoded
attributes. Divergences from a check are grouped by the event they point at.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import google.protobuf.json_format
import temporalio.api.common.v1
import temporalio.api.failure.v1
import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType, RetryState

from replaykit.check._divergence import Divergence, HistoryResult
from replaykit.check._format import event_type_name, format_duration
from replaykit.history._events import HistoryView
from replaykit.history._failures import FailureView
from replaykit.history._files import HistoryFile
from replaykit.history._payloads import decode_payload, decode_payloads

__all__ = ["TimelineEvent", "build_timeline", "format_offset"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent

#: Longest decoded preview in a summary line.
PREVIEW_CHARS = 80


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
    return _clip(FailureView.of(f).chain_text(levels=4), 120)


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


def _activity_name(view: HistoryView, scheduled_event_id: int) -> str:
    step = view.activity(scheduled_event_id)
    return step.name if step is not None else "?"


def _timer_label(view: HistoryView, started_event_id: int, timer_id: str) -> str:
    step = view.timer(started_event_id)
    if step is None:
        return "timer " + timer_id
    timeout = step.started.timer_started_event_attributes.start_to_fire_timeout
    return f"timer {step.timer_id} ({format_duration(timeout)})"


def _child_label(view: HistoryView, initiated_event_id: int, fallback: str) -> str:
    step = view.child(initiated_event_id)
    return f"{step.workflow_type} (id {step.workflow_id})" if step is not None else fallback


def _summary(ev: HistoryEvent, view: HistoryView) -> str:
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
        attempt = view.task_attempts.get(
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
        text = f"{_activity_name(view, st.scheduled_event_id)} attempt {st.attempt}"
        if st.HasField("last_failure"):
            text += f", last failure: {_failure_text(st.last_failure)}"
        return text
    if t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        c = ev.activity_task_completed_event_attributes
        return f"{_activity_name(view, c.scheduled_event_id)} -> {_preview(c.result.payloads)}"
    if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        fa = ev.activity_task_failed_event_attributes
        return (
            f"{_activity_name(view, fa.scheduled_event_id)} failed: {_failure_text(fa.failure)}"
            f"{_retry_state(fa.retry_state)}"
        )
    if t == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        to = ev.activity_task_timed_out_event_attributes
        return (
            f"{_activity_name(view, to.scheduled_event_id)} timed out: "
            f"{_failure_text(to.failure)}{_retry_state(to.retry_state)}"
        )
    if t == E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        cr = ev.activity_task_cancel_requested_event_attributes
        return f"{_activity_name(view, cr.scheduled_event_id)} cancel requested"
    if t == E.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        ca = ev.activity_task_canceled_event_attributes
        return f"{_activity_name(view, ca.scheduled_event_id)} canceled"
    if t == E.EVENT_TYPE_TIMER_STARTED:
        ts = ev.timer_started_event_attributes
        return f"timer {ts.timer_id}: {format_duration(ts.start_to_fire_timeout)}"
    if t == E.EVENT_TYPE_TIMER_FIRED:
        tf = ev.timer_fired_event_attributes
        return f"{_timer_label(view, tf.started_event_id, tf.timer_id)} fired"
    if t == E.EVENT_TYPE_TIMER_CANCELED:
        tc = ev.timer_canceled_event_attributes
        return f"{_timer_label(view, tc.started_event_id, tc.timer_id)} canceled"
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
        child = _child_label(view, cc.initiated_event_id, cc.workflow_type.name)
        return f"{child} -> {_preview(cc.result.payloads)}"
    if t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        cf = ev.child_workflow_execution_failed_event_attributes
        return (
            f"{_child_label(view, cf.initiated_event_id, cf.workflow_type.name)} failed: "
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
        return _child_label(view, initiated, "")
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
    view = history.view
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
                summary=_summary(ev, view),
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
