"""Explaining the differences between two histories (two runs, before and after a change).

Both histories are reduced to their *steps*: what the workflow commanded (activities, timers,
child workflows, signals sent, markers and patches, search-attribute and memo upserts, the
closing event) and, separately, what it received (signals, updates, cancel requests). The two
step sequences are aligned (longest matching blocks by step type) and each aligned pair is
compared on decoded values: inputs, results, failures, timer durations, options, attempts.
Noise that always differs between runs is never compared: timestamps, run ids, identities,
task tokens, request ids and event ids; a child or target workflow id is compared with the
parent's own workflow id replaced by ``{workflow_id}``.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import google.protobuf.json_format
import temporalio.api.common.v1
import temporalio.api.failure.v1
import temporalio.api.history.v1
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType

from replaykit.check._divergence import _jsonable
from replaykit.check._format import event_type_name, format_duration
from replaykit.history._events import (
    CLOSE_KINDS,
    ActivityStep,
    ChildStep,
    ExternalStep,
    HistoryView,
    TimerStep,
    UpdateStep,
)
from replaykit.history._failures import FailureView
from replaykit.history._files import HistoryFile, load_history
from replaykit.history._payloads import decode_payload, decode_payloads
from replaykit.history._textdiff import is_long_text, text_diff
from replaykit.history._values import _normalize, _same
from replaykit.integrations._agents import find_integration, mask_volatile

__all__ = ["HistoryDiff", "StepDifference", "diff_histories", "diff_history_files"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent
Change = Literal["only-in-a", "only-in-b", "changed"]

_WF_ID = "{workflow_id}"
_WF_QUEUE = "{workflow task queue}"


@dataclass(frozen=True)
class StepDifference:
    """One difference between two histories.

    Attributes:
        change: ``only-in-a``, ``only-in-b`` or ``changed`` (the same step, different values).
        step: The step, e.g. ``activity fetch``, ``timer``, ``signal approve``, ``completion``.
        message: One readable sentence.
        field: The field that differs (``input``, ``duration``, ``result``, ``type``...).
        a_event_id: The event in history A (None when only in B).
        b_event_id: The event in history B (None when only in A).
        a: A's value (decoded), when there is one.
        b: B's value (decoded), when there is one.
        diff: A readable value diff (A -> B).
    """

    change: Change
    step: str
    message: str
    field: str | None = None
    a_event_id: int | None = None
    b_event_id: int | None = None
    a: Any = None
    b: Any = None
    diff: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        """One line, then the value diff indented."""
        where = ", ".join(
            f"{side} event {eid}"
            for side, eid in (("A", self.a_event_id), ("B", self.b_event_id))
            if eid is not None
        )
        sign = {"only-in-a": "-", "only-in-b": "+", "changed": "~"}[self.change]
        lines = [f"{sign} {self.message}  ({where})"]
        if self.diff:
            lines.extend("    " + ln for ln in self.diff.splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class HistoryDiff:
    """The differences between history A and history B.

    Attributes:
        a: A's display name (file path or workflow id).
        b: B's display name.
        a_workflow_type: A's workflow type.
        b_workflow_type: B's workflow type.
        a_steps: Steps compared in A (commands and received inputs).
        b_steps: Steps compared in B.
        differences: Every difference, commands first (in alignment order), then inputs.
        notes: Caveats on the comparison (payloads compared as ciphertext).
    """

    a: str
    b: str
    a_workflow_type: str
    b_workflow_type: str
    a_steps: int
    b_steps: int
    differences: tuple[StepDifference, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        """No difference beyond the ignored noise."""
        return not self.differences

    @property
    def exit_code(self) -> int:
        """0 equivalent, 1 different."""
        return 0 if self.equivalent else 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "a": {"path": self.a, "workflow_type": self.a_workflow_type, "steps": self.a_steps},
            "b": {"path": self.b, "workflow_type": self.b_workflow_type, "steps": self.b_steps},
            "equivalent": self.equivalent,
            "differences": [d.to_json() for d in self.differences],
            "notes": list(self.notes),
        }

    def format_text(self) -> str:
        """The terminal report."""
        lines = [
            f"A  {self.a}  ({self.a_workflow_type}, {self.a_steps} steps)",
            f"B  {self.b}  ({self.b_workflow_type}, {self.b_steps} steps)",
        ]
        if self.equivalent:
            lines.append(
                f"EQUIVALENT: all {self.a_steps} steps match (timestamps, run ids, identities "
                "and event ids ignored)"
            )
        else:
            n = len(self.differences)
            lines.append(f"DIFFERENT: {n} difference{'s' if n != 1 else ''}")
            lines.extend("  " + ln for d in self.differences for ln in d.describe().splitlines())
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class _Step:
    key: tuple[str, ...]
    label: str
    event_id: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    #: The fields compared when the step's type changed (the rest follows from the type).
    primary: tuple[str, ...] = ("input",)


def _values(payloads: Sequence[temporalio.api.common.v1.Payload]) -> Any:
    return _normalize(decode_payloads(payloads))


def _activity_values(activity: str, payloads: Sequence[temporalio.api.common.v1.Payload]) -> Any:
    """An activity's input, with what an AI integration makes new on every run masked
    (LangGraph checkpoint ids, Pydantic AI timestamps): two runs differ there by design."""
    values = _values(payloads)
    integ = find_integration(activity, values) if isinstance(values, list) else None
    return mask_volatile(activity, values, integ) if integ is not None else values


def _seconds(d: Duration) -> str | None:
    """A canonical, readable duration (``7d``, ``90s``); None when unset."""
    secs = d.seconds + d.nanos / 1e9
    if not secs:
        return None
    return format_duration(d)


def _failure(f: temporalio.api.failure.v1.Failure) -> dict[str, Any]:
    """Message, type and cause chain; stack traces and encoded attributes are noise."""
    return FailureView.of(f).as_tree()


def _fields(fields: Mapping[str, temporalio.api.common.v1.Payload]) -> dict[str, Any]:
    return {k: _normalize(decode_payload(v)) for k, v in sorted(fields.items())}


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Outcomes:
    """How each scheduled activity / timer / child / external request / update ended."""

    def __init__(self, view: HistoryView) -> None:
        self.view = view

    def of(self, origin: int) -> dict[str, Any]:
        """The outcome fields of the step that ``origin`` (its first event) began."""
        step = self.view.step(origin)
        if isinstance(step, ActivityStep):
            attempts = {} if step.attempt is None else {"attempts": step.attempt}
            if step.closed is None:
                return {"outcome": "pending", **attempts}
            out: dict[str, Any] = {**attempts, "outcome": _ACTIVITY_OUTCOME[step.outcome]}
            if step.outcome == "completed":
                out["result"] = _values(step.result)
            elif step.failure is not None:
                out["failure"] = _failure(step.failure)
            return out
        if isinstance(step, ChildStep):
            out = {"outcome": step.outcome}
            closed = step.closed
            if step.outcome == "completed" and closed is not None:
                out["result"] = _values(
                    closed.child_workflow_execution_completed_event_attributes.result.payloads
                )
            elif step.outcome == "failed" and closed is not None:
                out["failure"] = _failure(
                    closed.child_workflow_execution_failed_event_attributes.failure
                )
            return out
        if isinstance(step, (TimerStep, ExternalStep)):
            return {"outcome": step.outcome}
        return {"outcome": "pending"}

    def of_update(self, accepted: int) -> dict[str, Any]:
        """How the update accepted at event ``accepted`` ended."""
        step = self.view.step(accepted)
        if not isinstance(step, UpdateStep) or step.completed is None:
            return {"outcome": "pending"}
        if step.failure is not None:
            return {"outcome": "failed", "failure": _failure(step.failure)}
        outcome = step.completed.workflow_execution_update_completed_event_attributes.outcome
        return {"outcome": "completed", "result": _values(outcome.success.payloads)}


_ACTIVITY_OUTCOME = {
    "completed": "completed",
    "failed": "failed",
    "timed_out": "timed out",
    "canceled": "canceled",
}


#: Shorter workflow ids are not replaced inside values: they would match ordinary text.
_MIN_ID_CHARS = 6


def _noise_ids(history: HistoryFile) -> list[tuple[str, str]]:
    """This run's own ids, longest first, with the placeholder that replaces each."""
    started = history.events[0].workflow_execution_started_event_attributes
    run_ids = {
        history.run_id or "",
        started.original_execution_run_id,
        started.first_execution_run_id,
        started.continued_execution_run_id,
    }
    pairs = [(r, "{run_id}") for r in run_ids if r]
    if len(history.workflow_id) >= _MIN_ID_CHARS:
        pairs.append((history.workflow_id, _WF_ID))
    return sorted(pairs, key=lambda p: -len(p[0]))


class _Steps:
    def __init__(self, history: HistoryFile) -> None:
        self.history = history
        self.wf_id = history.workflow_id
        self.queue = history.task_queue
        self.outcomes = _Outcomes(history.view)
        self.commands: list[_Step] = []
        self.received: list[_Step] = []
        for ev in history.events:
            self._add(ev)
        self._noise = _noise_ids(history)
        self.commands = [self._scrub_step(st) for st in self.commands]
        self.received = [self._scrub_step(st) for st in self.received]

    def _scrub_step(self, step: _Step) -> _Step:
        return dataclasses.replace(step, fields=self._scrub(dict(step.fields)))

    def _scrub(self, value: Any) -> Any:
        """Replace this run's own ids inside values (report ids, idempotency keys, paths)."""
        if isinstance(value, str):
            for literal, placeholder in self._noise:
                value = value.replace(literal, placeholder)
            return value
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value

    def _id(self, workflow_id: str) -> str:
        return workflow_id.replace(self.wf_id, _WF_ID) if self.wf_id else workflow_id

    def _q(self, queue: str) -> str:
        return _WF_QUEUE if queue in ("", self.queue) else queue

    def _add(self, ev: HistoryEvent) -> None:
        t = ev.event_type
        eid = ev.event_id
        cmd = self.commands.append
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = ev.workflow_execution_started_event_attributes
            cmd(
                _Step(
                    ("start",),
                    "workflow start",
                    eid,
                    {
                        "type": a.workflow_type.name,
                        "input": _values(a.input.payloads),
                        "memo": _fields(a.memo.fields) or None,
                    },
                    primary=("type", "input"),
                )
            )
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            s = ev.activity_task_scheduled_event_attributes
            retry = (
                google.protobuf.json_format.MessageToDict(s.retry_policy)
                if s.HasField("retry_policy")
                else None
            )
            cmd(
                _Step(
                    ("activity", s.activity_type.name),
                    f"activity {s.activity_type.name}",
                    eid,
                    _drop_none(
                        {
                            "type": s.activity_type.name,
                            "input": _activity_values(s.activity_type.name, s.input.payloads),
                            "task_queue": self._q(s.task_queue.name),
                            "schedule_to_close_timeout": _seconds(s.schedule_to_close_timeout),
                            "schedule_to_start_timeout": _seconds(s.schedule_to_start_timeout),
                            "start_to_close_timeout": _seconds(s.start_to_close_timeout),
                            "heartbeat_timeout": _seconds(s.heartbeat_timeout),
                            "retry_policy": retry,
                            **self.outcomes.of(eid),
                        }
                    ),
                    primary=("type", "input"),
                )
            )
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            ts = ev.timer_started_event_attributes
            cmd(
                _Step(
                    ("timer",),
                    "timer",
                    eid,
                    {
                        "duration": _seconds(ts.start_to_fire_timeout),
                        **self.outcomes.of(eid),
                    },
                    primary=("duration",),
                )
            )
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            ci = ev.start_child_workflow_execution_initiated_event_attributes
            name = ci.workflow_type.name
            cmd(
                _Step(
                    ("child", name),
                    f"child workflow {name}",
                    eid,
                    _drop_none(
                        {
                            "type": name,
                            "workflow_id": self._id(ci.workflow_id),
                            "input": _values(ci.input.payloads),
                            "task_queue": self._q(ci.task_queue.name),
                            "workflow_execution_timeout": _seconds(ci.workflow_execution_timeout),
                            "workflow_run_timeout": _seconds(ci.workflow_run_timeout),
                            **self.outcomes.of(eid),
                        }
                    ),
                    primary=("type", "workflow_id", "input"),
                )
            )
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            se = ev.signal_external_workflow_execution_initiated_event_attributes
            cmd(
                _Step(
                    ("signal-external", se.signal_name),
                    f"signal {se.signal_name} sent",
                    eid,
                    {
                        "target": self._id(se.workflow_execution.workflow_id),
                        "input": _values(se.input.payloads),
                        **self.outcomes.of(eid),
                    },
                )
            )
        elif t == E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            rc = ev.request_cancel_external_workflow_execution_initiated_event_attributes
            cmd(
                _Step(
                    ("cancel-external",),
                    "cancel request sent",
                    eid,
                    {
                        "target": self._id(rc.workflow_execution.workflow_id),
                        **self.outcomes.of(eid),
                    },
                    primary=("target",),
                )
            )
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            cmd(self._marker(ev))
        elif t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            sa = ev.upsert_workflow_search_attributes_event_attributes.search_attributes
            cmd(
                _Step(
                    ("search-attributes",),
                    "search attribute upsert",
                    eid,
                    {"values": _fields(sa.indexed_fields)},
                    primary=("values",),
                )
            )
        elif t == E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            memo = ev.workflow_properties_modified_event_attributes.upserted_memo
            cmd(
                _Step(
                    ("memo",),
                    "memo upsert",
                    eid,
                    {"values": _fields(memo.fields)},
                    primary=("values",),
                )
            )
        elif t in _CLOSE:
            cmd(self._close(ev))
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            sg = ev.workflow_execution_signaled_event_attributes
            self.received.append(
                _Step(
                    ("signal", sg.signal_name),
                    f"signal {sg.signal_name}",
                    eid,
                    {"input": _values(sg.input.payloads)},
                )
            )
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            req = ev.workflow_execution_update_accepted_event_attributes.accepted_request
            self.received.append(
                _Step(
                    ("update", req.input.name),
                    f"update {req.input.name}",
                    eid,
                    {
                        "input": _values(req.input.args.payloads),
                        **self.outcomes.of_update(eid),
                    },
                )
            )
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            self.received.append(_Step(("cancel-request",), "cancel request", eid, {}))

    def _marker(self, ev: HistoryEvent) -> _Step:
        m = ev.marker_recorded_event_attributes
        details = {k: _normalize(decode_payloads(v.payloads)) for k, v in sorted(m.details.items())}
        failure = _failure(m.failure) if m.HasField("failure") else None
        if m.marker_name == "core_patch":
            data = next(
                (v for vs in details.values() for v in vs if isinstance(v, dict) and "id" in v),
                {},
            )
            pid = str(data.get("id", "?"))
            return _Step(
                ("patch", pid),
                f"patch {pid}",
                ev.event_id,
                {"deprecated": bool(data.get("deprecated"))},
                primary=(),
            )
        if m.marker_name == "core_local_activity":
            data = (details.get("data") or [{}])[0]
            data = data if isinstance(data, dict) else {}
            name = str(data.get("activity_type", "?"))
            result = details.get("result")
            return _Step(
                ("local-activity", name),
                f"local activity {name}",
                ev.event_id,
                _drop_none(
                    {
                        "type": name,
                        "outcome": "failed" if failure else "completed",
                        "result": result[0] if result else None,
                        "failure": failure,
                        "attempts": data.get("attempt"),
                    }
                ),
                primary=("type",),
            )
        return _Step(
            ("marker", m.marker_name),
            f"marker {m.marker_name}",
            ev.event_id,
            _drop_none({"details": details, "failure": failure}),
            primary=("details",),
        )

    def _close(self, ev: HistoryEvent) -> _Step:
        t = ev.event_type
        fields: dict[str, Any] = {"outcome": event_type_name(t).removeprefix("WorkflowExecution")}
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            fields["result"] = _values(
                ev.workflow_execution_completed_event_attributes.result.payloads
            )
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            fields["failure"] = _failure(ev.workflow_execution_failed_event_attributes.failure)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            can = ev.workflow_execution_continued_as_new_event_attributes
            fields["new_run_type"] = can.workflow_type.name
            fields["new_run_input"] = _values(can.input.payloads)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            fields["reason"] = ev.workflow_execution_terminated_event_attributes.reason
        return _Step(("close",), "completion", ev.event_id, fields, primary=("outcome",))


_CLOSE = frozenset(CLOSE_KINDS)


# ------------------------------------------------------------------------------- comparing


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_diff(name: str, a: Any, b: Any) -> str:
    if not (isinstance(a, (dict, list)) and isinstance(b, (dict, list))):
        if is_long_text(a, b):
            return text_diff(a, b)
        x, y = _clip_pair(a, b)
        return f"{x} -> {y}"
    from deepdiff import DeepDiff

    # Like _values.value_diff (paths rooted at the field name), but long strings are shown
    # around their first difference: two long texts clipped from the start look identical.
    lines: list[str] = []
    for change_type, items in DeepDiff(a, b, verbose_level=2, view="tree").items():
        for item in items:
            path = item.path(root=name)
            if change_type in ("values_changed", "type_changes"):
                if is_long_text(item.t1, item.t2):
                    lines.append(f"{path}: {text_diff(item.t1, item.t2)}")
                    continue
                x, y = _clip_pair(item.t1, item.t2)
                lines.append(f"{path}: {x} -> {y}")
            elif change_type.endswith("_added"):
                lines.append(f"{path}: added {_short(item.t2, _CLIP)}")
            elif change_type.endswith("_removed"):
                lines.append(f"{path}: removed {_short(item.t1, _CLIP)}")
            else:
                lines.append(f"{path}: {change_type}")
    return "\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else "")


_CLIP = 160


def _clip_pair(a: Any, b: Any) -> tuple[str, str]:
    """Both values, clipped; two long strings around where they first differ."""
    if not (isinstance(a, str) and isinstance(b, str)) or max(len(a), len(b)) <= _CLIP - 2:
        return _short(a, _CLIP), _short(b, _CLIP)
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    start = max(common - 40, 0)

    def window(text: str) -> str:
        part = text[start : start + _CLIP - 40]
        return ("…" if start else "") + repr(part) + ("…" if start + len(part) < len(text) else "")

    return window(a), window(b)


_PLAIN = ("duration", "timeout", "outcome", "type", "queue", "reason")


def _scalar(name: str, value: Any) -> str:
    # durations, outcomes and names read better bare; values keep their quotes
    if isinstance(value, str) and name.endswith(_PLAIN):
        return value
    return _short(value)


def _compare(a: _Step, b: _Step, names: Sequence[str] | None = None) -> list[StepDifference]:
    out: list[StepDifference] = []
    keys = list(names) if names is not None else list(dict.fromkeys([*a.fields, *b.fields]))
    if a.key != b.key:
        # Paired steps of one kind whose names differ (activity or signal renamed).
        out.append(
            StepDifference(
                change="changed",
                step=a.label,
                message=f"{a.label} in A is {b.label} in B",
                field="type",
                a_event_id=a.event_id,
                b_event_id=b.event_id,
                a=a.key[-1],
                b=b.key[-1],
            )
        )
        keys = [k for k in keys if k != "type"]
    for name in keys:
        va, vb = a.fields.get(name), b.fields.get(name)
        if _same(va, vb):  # JSON false is not 0, as in check
            continue
        label = a.label
        if name == "type":
            message = f"{a.label}: type {_scalar(name, va)} in A, {_scalar(name, vb)} in B"
        elif isinstance(va, (dict, list)) or isinstance(vb, (dict, list)):
            message = f"{label}: {name.replace('_', ' ')} differs"
        else:
            message = (
                f"{label}: {name.replace('_', ' ')} {_scalar(name, va)} in A, "
                f"{_scalar(name, vb)} in B"
            )
        out.append(
            StepDifference(
                change="changed",
                step=a.label,
                message=message,
                field=name,
                a_event_id=a.event_id,
                b_event_id=b.event_id,
                a=va,
                b=vb,
                diff=_field_diff(name, va, vb)
                if isinstance(va, (dict, list)) or isinstance(vb, (dict, list))
                else None,
            )
        )
    return out


def _only(step: _Step, side: Literal["a", "b"]) -> StepDifference:
    other = "B" if side == "a" else "A"
    shown = {k: v for k, v in step.fields.items() if k in ("input", "duration", "workflow_id")}
    detail = ", ".join(f"{k.replace('_', ' ')} {_scalar(k, v)}" for k, v in shown.items())
    return StepDifference(
        change="only-in-a" if side == "a" else "only-in-b",
        step=step.label,
        message=f"{step.label} only in {side.upper()}, not in {other}"
        + (f" ({detail})" if detail else ""),
        a_event_id=step.event_id if side == "a" else None,
        b_event_id=step.event_id if side == "b" else None,
        a=dict(step.fields) if side == "a" else None,
        b=dict(step.fields) if side == "b" else None,
    )


def _align(a: Sequence[_Step], b: Sequence[_Step]) -> list[StepDifference]:
    out: list[StepDifference] = []
    matcher = difflib.SequenceMatcher(a=[s.key for s in a], b=[s.key for s in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for sa, sb in zip(a[i1:i2], b[j1:j2], strict=True):
                out.extend(_compare(sa, sb))
            continue
        left, right = list(a[i1:i2]), list(b[j1:j2])
        # A step whose type changed (activity search_web -> activity search_news) is one
        # change, not a removal plus an addition: pair same-kind steps in order.
        while left and right and left[0].key[0] == right[0].key[0]:
            sa, sb = left.pop(0), right.pop(0)
            out.extend(_compare(sa, sb, names=sa.primary or ("type",)))
        out.extend(_only(s, "a") for s in left)
        out.extend(_only(s, "b") for s in right)
    return out


def diff_histories(a: HistoryFile, b: HistoryFile) -> HistoryDiff:
    """Align and compare two loaded histories.

    Args:
        a: The first history ("before", or run 1).
        b: The second history ("after", or run 2).

    Returns:
        A :class:`HistoryDiff`; ``equivalent`` when nothing but run noise differs.
    """
    sa, sb = _Steps(a), _Steps(b)
    diffs = _align(sa.commands, sb.commands) + _align(sa.received, sb.received)
    return HistoryDiff(
        a=a.display_name,
        b=b.display_name,
        a_workflow_type=a.workflow_type,
        b_workflow_type=b.workflow_type,
        a_steps=len(sa.commands) + len(sa.received),
        b_steps=len(sb.commands) + len(sb.received),
        differences=tuple(diffs),
    )


def diff_history_files(
    a: Path | str, b: Path | str, *, data_converter: str | None = None
) -> HistoryDiff:
    """Load two history files and compare them (see :func:`diff_histories`).

    Args:
        a: The first file.
        b: The second file.
        data_converter: ``module:attr`` of the DataConverter or PayloadCodec the histories
            were recorded with; payloads are compared decoded.

    Raises:
        HistoryError: Either file is not a readable, valid history (the error names it).
    """
    from replaykit.history._codec import decoded_history_file, foreign_encodings

    ha, hb = load_history(a), load_history(b)
    notes: tuple[str, ...] = ()
    if not data_converter:
        foreign = sorted(set(foreign_encodings(ha.history)) | set(foreign_encodings(hb.history)))
        if foreign:
            notes = (
                f"payloads use encoding {', '.join(map(repr, foreign))}, which the default "
                "data converter cannot read (a payload codec?): they were compared as "
                "ciphertext. Pass --data-converter MODULE:ATTR to compare the values",
            )
    result = diff_histories(
        decoded_history_file(ha, data_converter), decoded_history_file(hb, data_converter)
    )
    return dataclasses.replace(result, notes=notes) if notes else result
