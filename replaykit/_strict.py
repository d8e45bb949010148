"""Strict comparison: every command the code issues now against the recorded events.

The stock replayer compares only command kind, order, type and id (and only when the history
carries the ``IdAndTypeDeterminismChecks`` flag). Here each captured command is paired with
its recorded event in order and compared field by field: types and ids (whatever the flags
say), inputs and results as *decoded* values (so encoding noise is not drift), timer
durations, task queues, targets, memo and search attributes, and options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import temporalio.api.common.v1
import temporalio.api.failure.v1
import temporalio.api.history.v1
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType

from ._agents import (
    VolatileRule,
    explain_model_call,
    find_integration,
    mask_volatile,
    parse_volatile_rules,
)
from ._capture import CapturedCommand, RunCapture
from ._divergence import Divergence, Kind
from ._payloads import Converter, decode_payload, decode_payloads
from ._textdiff import is_long_text, text_diff

__all__ = ["compare_run", "event_type_name", "format_duration", "suggest_patch_id"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent

# Recorded events that a lang command produces, and which command variant produces each.
_EVENT_FOR_VARIANT: dict[str, tuple[int, ...]] = {
    "schedule_activity": (E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,),
    "start_timer": (E.EVENT_TYPE_TIMER_STARTED,),
    "cancel_timer": (E.EVENT_TYPE_TIMER_CANCELED,),
    "request_cancel_activity": (E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,),
    "start_child_workflow_execution": (E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,),
    "cancel_child_workflow_execution": (
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "request_cancel_external_workflow_execution": (
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "signal_external_workflow_execution": (
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    ),
    "upsert_workflow_search_attributes": (E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,),
    "modify_workflow_properties": (E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,),
    "complete_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,),
    "fail_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,),
    "cancel_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,),
    "continue_as_new_workflow_execution": (E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,),
}
_ORDERED_EVENTS = frozenset(t for ts in _EVENT_FOR_VARIANT.values() for t in ts)
_CHANGE_VERSION_SA = "TemporalChangeVersion"
_LA_MARKER = "core_local_activity"

_VARIANT_LABEL = {
    "schedule_activity": "schedule activity",
    "start_timer": "start timer",
    "cancel_timer": "cancel timer",
    "request_cancel_activity": "cancel activity",
    "start_child_workflow_execution": "start child workflow",
    "cancel_child_workflow_execution": "cancel child workflow",
    "request_cancel_external_workflow_execution": "cancel external workflow",
    "signal_external_workflow_execution": "signal external workflow",
    "upsert_workflow_search_attributes": "upsert search attributes",
    "modify_workflow_properties": "modify memo",
    "complete_workflow_execution": "complete workflow",
    "fail_workflow_execution": "fail workflow",
    "cancel_workflow_execution": "cancel workflow",
    "continue_as_new_workflow_execution": "continue as new",
    "schedule_local_activity": "schedule local activity",
}


def event_type_name(event_type: int) -> str:
    """``EVENT_TYPE_TIMER_STARTED`` -> ``TimerStarted``."""
    name = EventType.Name(EventType.ValueType(event_type)).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _source(cmd: CapturedCommand | None) -> str | None:
    if cmd is None or cmd.source is None:
        return None
    file, line, func = cmd.source
    return f"{file}:{line} (in {func})"


def _describe_command(cmd: CapturedCommand) -> str:
    c = cmd.command
    variant = cmd.variant
    if variant == "schedule_activity":
        return f"activity {c.schedule_activity.activity_type}"
    if variant == "schedule_local_activity":
        return f"local activity {c.schedule_local_activity.activity_type}"
    if variant == "start_timer":
        return f"timer of {format_duration(c.start_timer.start_to_fire_timeout)}"
    if variant == "start_child_workflow_execution":
        sc = c.start_child_workflow_execution
        return f"child workflow {sc.workflow_type} (id {sc.workflow_id})"
    if variant == "signal_external_workflow_execution":
        return f"signal {c.signal_external_workflow_execution.signal_name!r} to another workflow"
    return _VARIANT_LABEL.get(variant, variant)


def _describe_event(ev: HistoryEvent) -> str:
    t = ev.event_type
    if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return f"activity {ev.activity_task_scheduled_event_attributes.activity_type.name}"
    if t == E.EVENT_TYPE_TIMER_STARTED:
        return f"timer of {format_duration(ev.timer_started_event_attributes.start_to_fire_timeout)}"
    if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        a = ev.start_child_workflow_execution_initiated_event_attributes
        return f"child workflow {a.workflow_type.name} (id {a.workflow_id})"
    if t == E.EVENT_TYPE_MARKER_RECORDED:
        return f"marker {ev.marker_recorded_event_attributes.marker_name}"
    return event_type_name(t)


def format_duration(d: Duration) -> str:
    """``7d``, ``1h``, ``5m``, ``1.5s``: the largest unit that divides the duration."""
    secs = d.seconds + d.nanos / 1e9
    if secs and secs % 86400 == 0:
        return f"{secs / 86400:g}d"
    if secs and secs % 3600 == 0:
        return f"{secs / 3600:g}h"
    if secs >= 60 and secs % 60 == 0:
        return f"{secs / 60:g}m"
    return f"{secs:g}s"


def _payloads_equal(
    a: Sequence[temporalio.api.common.v1.Payload],
    b: Sequence[temporalio.api.common.v1.Payload],
    converter: Converter | None = None,
) -> bool:
    """Same bytes, or the same values decoded by ``converter`` (default: the SDK's).

    What cannot be decoded is compared by its full SHA-256 (see :mod:`._payloads`).
    """
    if len(a) == len(b) and all(x.data == y.data and x.metadata == y.metadata for x, y in zip(a, b, strict=True)):
        return True
    return _same(
        _normalize(decode_payloads(a, converter)), _normalize(decode_payloads(b, converter))
    )


def _same(a: Any, b: Any) -> bool:
    """Decoded-value equality where JSON ``true``/``false`` are not the numbers 1/0.

    Python's ``==`` says ``False == 0`` and ``True == 1.0``; in JSON (what other workers and
    the LLM API receive) they are different values, so bools must match bools exactly.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _normalize(value: Any) -> Any:
    # JSON round-trip folds tuple/list and int/float encoding noise the way the converter does.
    try:
        return json.loads(json.dumps(value, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return value


def value_diff(recorded: Any, current: Any, *, root: str = "args") -> str:
    """A readable diff of two decoded values (deepdiff, one change per line; long strings
    word- or line-diffed so a change in the middle of a long prompt shows)."""
    from deepdiff import DeepDiff

    diff = DeepDiff(recorded, current, verbose_level=2, view="tree")
    lines: list[str] = []
    for change_type, items in diff.items():
        for item in items:
            path = item.path(root=root)
            if change_type in ("values_changed", "type_changes"):
                if is_long_text(item.t1, item.t2):
                    lines.append(f"{path}: {text_diff(item.t1, item.t2)}")
                else:
                    lines.append(f"{path}: {_clip(item.t1)} -> {_clip(item.t2)}")
            elif change_type.endswith("_added"):
                lines.append(f"{path}: added {_clip(item.t2)}")
            elif change_type.endswith("_removed"):
                lines.append(f"{path}: removed {_clip(item.t1)}")
            else:
                lines.append(f"{path}: {change_type}")
    return "\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else "")


def _clip(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Ctx:
    out: list[Divergence]
    workflow_task_queue: str
    replay_task_queue: str = ""
    workflow_type: str = ""
    # The last command that matched its recorded event: where a missing one used to follow.
    last_matched: CapturedCommand | None = None
    events: Sequence[HistoryEvent] = ()
    #: The user's ``activity:NAME.PATH`` volatile rules.
    volatile: Sequence[VolatileRule] = ()
    # Decodes payloads for comparison: the replay's data converter (None: the SDK default).
    converter: Converter | None = None

    def queue(self, name: str) -> str:
        """The queue a command targets; empty or the replayer's own means the workflow's."""
        return self.workflow_task_queue if name in ("", self.replay_task_queue) else name

    def add(
        self,
        kind: Kind,
        cause: str,
        message: str,
        *,
        event: HistoryEvent | None,
        cmd: CapturedCommand | None,
        subject: str | None = None,
        field: str | None = None,
        recorded: Any = None,
        current: Any = None,
        diff: str | None = None,
        hint: str | None = None,
        agent: str | None = None,
        integration: str | None = None,
        items: tuple[dict[str, Any], ...] = (),
    ) -> None:
        if diff is None and is_long_text(recorded, current):
            diff = text_diff(recorded, current)  # two long strings: show what changed
        self.out.append(
            Divergence(
                kind=kind,
                cause=cause,
                message=message,
                event_id=event.event_id if event is not None else None,
                event_type=event_type_name(event.event_type) if event is not None else None,
                subject=subject,
                field=field,
                recorded=recorded,
                current=current,
                diff=diff,
                source=_source(cmd),
                hint=hint
                or _patch_hint(cause, cmd, event, self.workflow_type, self.last_matched)
                or _default_hint(kind, cause),
                agent=agent,
                integration=integration,
                items=items,
            )
        )


def _default_hint(kind: Kind, cause: str) -> str:
    if kind == "nondeterminism":
        return (
            "running executions recorded the old sequence of commands: guard the change with "
            "`if workflow.patched(\"<change-id>\"):` (new path) / else (old path)"
        )
    if kind == "drift":
        return (
            "the code now sends different values than this execution recorded; if that is "
            "intended for new executions only, guard it with `workflow.patched(...)`; if it is "
            "intended for all, re-record the history (replaykit record) or allow it (--allow)"
        )
    return "replay-safe (options apply to new commands only); fail on it with --fail-on option-change"


# Causes where the code's sequence of commands changed: the fix is a patch at a known line.
_SEQUENCE_CAUSES = frozenset(
    {
        "extra-command",
        "missing-command",
        "command-mismatch",
        "activity-type",
        "local-activity-type",
        "child-type",
    }
)


def _kebab(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "change"


def _command_name(cmd: CapturedCommand) -> str:
    c = cmd.command
    v = cmd.variant
    if v == "schedule_activity":
        return c.schedule_activity.activity_type
    if v == "schedule_local_activity":
        return c.schedule_local_activity.activity_type
    if v == "start_timer":
        return "timer-" + format_duration(c.start_timer.start_to_fire_timeout)
    if v == "start_child_workflow_execution":
        return c.start_child_workflow_execution.workflow_type
    if v == "signal_external_workflow_execution":
        return "signal-" + c.signal_external_workflow_execution.signal_name
    return _VARIANT_LABEL.get(v, v)


def _event_name(ev: HistoryEvent) -> str:
    t = ev.event_type
    if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return ev.activity_task_scheduled_event_attributes.activity_type.name
    if t == E.EVENT_TYPE_TIMER_STARTED:
        return "timer-" + format_duration(ev.timer_started_event_attributes.start_to_fire_timeout)
    if t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        return ev.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
    return event_type_name(t)


def suggest_patch_id(workflow_type: str, name: str, *, removed: bool = False) -> str:
    """A patch id for a change: ``<workflow-type>-<step>``, e.g. ``research-agent-audit-log``.

    Args:
        workflow_type: The workflow type whose code changed.
        name: The new (or removed) step: an activity type, a child workflow type, ...
        removed: The step was removed (the id then says ``drop``).
    """
    step = _kebab(name)
    prefix = _kebab(workflow_type) if workflow_type else "workflow"
    return f"{prefix}-drop-{step}" if removed else f"{prefix}-{step}"


def _patch_hint(
    cause: str,
    cmd: CapturedCommand | None,
    event: HistoryEvent | None,
    workflow_type: str,
    previous: CapturedCommand | None,
) -> str | None:
    """Where to put ``workflow.patched(...)`` for a changed command sequence, and why."""
    if cause not in _SEQUENCE_CAUSES:
        return None
    why = (
        "executions already running recorded the old sequence of commands and replay it "
        "through the new code, so the worker would fail their next workflow task"
    )
    if cmd is not None:
        where = _source(cmd) or "the line that issues it"
        patch_id = suggest_patch_id(workflow_type, _command_name(cmd))
        was = f"where the history recorded {_describe_event(event)}" if event is not None else (
            "which the history does not have"
        )
        return (
            f"the code now issues {_describe_command(cmd)} at {where}, {was}: {why}. "
            f"Guard the change there: `if workflow.patched(\"{patch_id}\"):` new code, "
            "`else:` the old code unchanged (no marker in a history = the old branch). Run "
            "`replaykit patches` to see when the old branch can be deprecated"
        )
    if event is not None:
        after = _source(previous)
        place = f"right after {after}" if after else "where the step used to be"
        patch_id = suggest_patch_id(workflow_type, _event_name(event), removed=True)
        return (
            f"the code no longer issues {_describe_event(event)}, which this history recorded: "
            f"{why}. Keep the old step for them {place}: "
            f"`if not workflow.patched(\"{patch_id}\"):` run {_describe_event(event)} as "
            "before. Run `replaykit patches` to see when it can be deprecated"
        )
    return None


def _compare_payloads(
    ctx: _Ctx,
    recorded: Sequence[temporalio.api.common.v1.Payload],
    current: Sequence[temporalio.api.common.v1.Payload],
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    cause: str,
    subject: str,
    field: str,
    what: str,
    activity: str | None = None,
) -> None:
    if _payloads_equal(recorded, current, ctx.converter):
        return
    rec = _normalize(decode_payloads(recorded, ctx.converter))
    cur = _normalize(decode_payloads(current, ctx.converter))
    if activity is not None and _activity_input_findings(
        ctx, activity, rec, cur, event=event, cmd=cmd, subject=subject
    ):
        return
    ctx.add(
        "drift",
        cause,
        f"{subject}: {what} changed",
        event=event,
        cmd=cmd,
        subject=subject,
        field=field,
        recorded=rec,
        current=cur,
        diff=value_diff(rec, cur),
    )


def _activity_input_findings(
    ctx: _Ctx,
    activity: str,
    rec: Any,
    cur: Any,
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
) -> bool:
    """Activity inputs seen through an AI integration (volatile values masked, a model
    call's changes reported per aspect) or through the user's volatile rules.

    Returns whether the difference was handled (reported, or only volatile values differed).
    """
    if not isinstance(rec, list) or not isinstance(cur, list):
        return False
    integ = find_integration(activity, rec)
    if integ is None and not any(r.path_for(activity) is not None for r in ctx.volatile):
        return False
    rec_m = mask_volatile(activity, rec, integ, ctx.volatile)
    cur_m = mask_volatile(activity, cur, integ, ctx.volatile)
    if _same(rec_m, cur_m):
        return True
    if integ is None or integ.aspects is None or not integ.model_call(activity) or not integ.shape(cur_m):
        ctx.add("drift", "activity-input", f"{subject}: input arguments changed", event=event,
                cmd=cmd, subject=subject, field="input", recorded=rec, current=cur,
                diff=value_diff(rec_m, cur_m),
                integration=integ.name if integ is not None else None)
        return True
    summary = event.user_metadata.summary if event.HasField("user_metadata") else None
    agent = integ.agent(activity, rec, decode_payload(summary, ctx.converter) if summary is not None and summary.ByteSize() else None)
    who = f"{'agent ' + repr(agent) if not agent.startswith('graph ') else agent} ({integ.name})" if agent else integ.name
    changes, rest_rec, rest_cur = explain_model_call(integ, activity, rec_m, cur_m, same=_same)
    for ch in changes:
        path = ch.path.removeprefix("0.")
        root = path.replace("#", "[") + "]" if "#" in path else path  # messages[system]
        if ch.items:
            lines = []
            for it in ch.items:
                if it["change"] in ("added", "removed"):
                    value = it["current"] if it["change"] == "added" else it["recorded"]
                    lines.append(f"{it['change']} {it['name']}: {_clip(value)}")
                elif it["change"] == "reordered":
                    lines.append(f"order: {it['recorded']} -> {it['current']}")
                else:
                    lines.append(f"{it['name']}: {it['change']}")
                    lines.extend("  " + ln for ln in value_diff(
                        it["recorded"], it["current"], root=f"{root}[{it['name']}]").splitlines())
            diff = "\n".join(lines)
        else:
            diff = value_diff(ch.recorded, ch.current, root=root)
        ctx.add("drift", ch.cause, f"{subject}: {who}: {ch.summary}", event=event, cmd=cmd,
                subject=subject, field=f"input.{path}", recorded=ch.recorded,
                current=ch.current, diff=diff, agent=agent, integration=integ.name,
                items=ch.items, hint=_agent_hint(ch.cause))
    if not _same(rest_rec, rest_cur):
        ctx.add("drift", "activity-input", f"{subject}: {who}: other input arguments changed",
                event=event, cmd=cmd, subject=subject, field="input", recorded=rest_rec,
                current=rest_cur, diff=value_diff(rest_rec, rest_cur), agent=agent,
                integration=integ.name)
    return True


def _agent_hint(cause: str) -> str:
    return (
        f"the agent's {cause.replace('-', ' ')} changed: this execution replays model output "
        "produced for the old one. If the change is meant for new executions only, guard it "
        "with `workflow.patched(...)`; if running executions may continue with it, allow it "
        f"(--allow {cause}, or [tool.replaykit] allow) or re-record the history"
    )


def _dur(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def _compare_durations(
    ctx: _Ctx,
    pairs: Iterable[tuple[str, Duration, Duration, bool]],
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
) -> None:
    for name, rec, cur, cur_set in pairs:
        if cur_set and _dur(rec) != _dur(cur):
            ctx.add(
                "option-change",
                "timeout",
                f"{subject}: {name} changed from {format_duration(rec)} to {format_duration(cur)}",
                event=event,
                cmd=cmd,
                subject=subject,
                field=name,
                recorded=_dur(rec),
                current=_dur(cur),
            )


def _compare_retry(
    ctx: _Ctx,
    rec: temporalio.api.common.v1.RetryPolicy,
    cur: temporalio.api.common.v1.RetryPolicy,
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
    removed: str = "",
) -> None:
    changes: dict[str, tuple[Any, Any]] = {}
    if cur.HasField("initial_interval") and _dur(cur.initial_interval) != _dur(rec.initial_interval):
        changes["initial_interval"] = (_dur(rec.initial_interval), _dur(cur.initial_interval))
    if cur.HasField("maximum_interval") and _dur(cur.maximum_interval) != _dur(rec.maximum_interval):
        changes["maximum_interval"] = (_dur(rec.maximum_interval), _dur(cur.maximum_interval))
    if cur.backoff_coefficient and cur.backoff_coefficient != rec.backoff_coefficient:
        changes["backoff_coefficient"] = (rec.backoff_coefficient, cur.backoff_coefficient)
    if cur.maximum_attempts != rec.maximum_attempts:
        changes["maximum_attempts"] = (rec.maximum_attempts, cur.maximum_attempts)
    if sorted(cur.non_retryable_error_types) != sorted(rec.non_retryable_error_types):
        changes["non_retryable_error_types"] = (
            list(rec.non_retryable_error_types),
            list(cur.non_retryable_error_types),
        )
    _option_changes(ctx, "retry-policy", "retry_policy", changes, event=event, cmd=cmd,
                    subject=subject, suffix=removed)


def _option_changes(
    ctx: _Ctx,
    cause: str,
    option: str,
    changes: dict[str, tuple[Any, Any]],
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
    suffix: str = "",
    label: str | None = None,
) -> None:
    """One ``option-change`` per changed field of an option (``retry_policy.maximum_attempts``)."""
    prefix = option.replace("_", " ") + " " if label is None else label
    for name, (a, b) in changes.items():
        ctx.add(
            "option-change",
            cause,
            f"{subject}: {prefix}{name} changed from {a!r} to {b!r}{suffix}",
            event=event,
            cmd=cmd,
            subject=subject,
            field=f"{option}.{name}",
            recorded=a,
            current=b,
        )


#: What the server applies to an activity scheduled without a retry policy.
_SERVER_DEFAULT_ACTIVITY_RETRY = temporalio.api.common.v1.RetryPolicy(
    initial_interval=Duration(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=Duration(seconds=100),
)


def _compare_retry_option(
    ctx: _Ctx,
    rec: temporalio.api.common.v1.RetryPolicy,
    cur: temporalio.api.common.v1.RetryPolicy | None,
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
    default: temporalio.api.common.v1.RetryPolicy | None,
) -> None:
    """Compare a retry policy; a policy the code no longer sets counts as ``default``."""
    if cur is not None:
        _compare_retry(ctx, rec, cur, event=event, cmd=cmd, subject=subject)
        return
    if default is not None:
        _compare_retry(ctx, rec, default, event=event, cmd=cmd, subject=subject,
                       removed=" (the code sets no retry policy now: the server default "
                       "applies)")
        return
    if rec.ByteSize():
        ctx.add(
            "option-change",
            "retry-policy",
            f"{subject}: retry policy removed (it is not retried now)",
            event=event,
            cmd=cmd,
            subject=subject,
            field="retry_policy",
            recorded=_retry_text(rec),
            current=None,
        )


def _retry_text(policy: temporalio.api.common.v1.RetryPolicy) -> str:
    parts = [f"maximum_attempts={policy.maximum_attempts}"]
    if policy.HasField("initial_interval"):
        parts.append(f"initial_interval={format_duration(policy.initial_interval)}")
    if policy.backoff_coefficient:
        parts.append(f"backoff_coefficient={policy.backoff_coefficient:g}")
    if policy.HasField("maximum_interval"):
        parts.append(f"maximum_interval={format_duration(policy.maximum_interval)}")
    if policy.non_retryable_error_types:
        parts.append(f"non_retryable_error_types={list(policy.non_retryable_error_types)}")
    return ", ".join(parts)


def _compare_priority(
    ctx: _Ctx,
    rec: temporalio.api.common.v1.Priority,
    cur: temporalio.api.common.v1.Priority,
    *,
    event: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
) -> None:
    changes = {
        name: (getattr(rec, name), getattr(cur, name))
        for name in ("priority_key", "fairness_key", "fairness_weight")
        if getattr(rec, name) != getattr(cur, name)
    }
    _option_changes(ctx, "priority", "priority", changes, event=event, cmd=cmd, subject=subject,
                    label="")


def _compare_summary(
    ctx: _Ctx, event: HistoryEvent, cmd: CapturedCommand, subject: str
) -> None:
    rec = event.user_metadata.summary if event.HasField("user_metadata") else None
    cur = cmd.command.user_metadata.summary if cmd.command.HasField("user_metadata") else None
    rec_v = decode_payload(rec, ctx.converter) if rec is not None and rec.ByteSize() else None
    cur_v = decode_payload(cur, ctx.converter) if cur is not None and cur.ByteSize() else None
    if rec_v != cur_v:
        ctx.add(
            "option-change",
            "summary",
            f"{subject}: summary changed",
            event=event,
            cmd=cmd,
            subject=subject,
            field="summary",
            recorded=rec_v,
            current=cur_v,
        )


def _compare_value(
    ctx: _Ctx,
    kind: Kind,
    cause: str,
    field: str,
    recorded: Any,
    current: Any,
    ev: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
) -> None:
    """Report ``field`` when the current value differs from the recorded one."""
    if current != recorded:
        ctx.add(
            kind,
            cause,
            f"{subject}: {field.replace('_', ' ')} {current!r} differs from recorded "
            f"{recorded!r}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field=field,
            recorded=recorded,
            current=current,
        )


def _compare_queue(
    ctx: _Ctx,
    recorded: str,
    commanded: str,
    ev: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
    cause: str,
) -> None:
    _compare_value(ctx, "drift", cause, "task_queue", recorded, ctx.queue(commanded), ev, cmd,
                   subject)


def _compare_activity(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.activity_task_scheduled_event_attributes
    c = cmd.command.schedule_activity
    subject = f"activity {c.activity_type}"
    if a.activity_type.name != c.activity_type:
        ctx.add(
            "nondeterminism",
            "activity-type",
            f"the code now schedules activity {c.activity_type!r} where the history "
            f"scheduled {a.activity_type.name!r}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="activity_type",
            recorded=a.activity_type.name,
            current=c.activity_type,
        )
        return False
    _compare_value(ctx, "nondeterminism", "activity-id", "activity_id", a.activity_id,
                   c.activity_id, ev, cmd, subject)
    _compare_payloads(
        ctx, a.input.payloads, c.arguments, event=ev, cmd=cmd, cause="activity-input",
        subject=subject, field="input", what="input arguments", activity=c.activity_type,
    )
    _compare_queue(ctx, a.task_queue.name, c.task_queue, ev, cmd, subject, "activity-task-queue")
    _compare_durations(
        ctx,
        [
            ("start_to_close_timeout", a.start_to_close_timeout, c.start_to_close_timeout,
             c.HasField("start_to_close_timeout")),
            ("schedule_to_close_timeout", a.schedule_to_close_timeout,
             c.schedule_to_close_timeout, c.HasField("schedule_to_close_timeout")),
            ("schedule_to_start_timeout", a.schedule_to_start_timeout,
             c.schedule_to_start_timeout, c.HasField("schedule_to_start_timeout")),
            ("heartbeat_timeout", a.heartbeat_timeout, c.heartbeat_timeout,
             c.HasField("heartbeat_timeout")),
        ],
        event=ev,
        cmd=cmd,
        subject=subject,
    )
    _compare_retry_option(
        ctx, a.retry_policy, c.retry_policy if c.HasField("retry_policy") else None,
        event=ev, cmd=cmd, subject=subject, default=_SERVER_DEFAULT_ACTIVITY_RETRY,
    )
    _compare_priority(ctx, a.priority, c.priority, event=ev, cmd=cmd, subject=subject)
    _compare_summary(ctx, ev, cmd, subject)
    return True


def _compare_timer(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.timer_started_event_attributes
    c = cmd.command.start_timer
    if _dur(a.start_to_fire_timeout) != _dur(c.start_to_fire_timeout):
        rec, cur = format_duration(a.start_to_fire_timeout), format_duration(c.start_to_fire_timeout)
        ctx.add(
            "drift",
            "timer-duration",
            f"timer duration changed from {rec} to {cur}",
            event=ev,
            cmd=cmd,
            subject="timer",
            field="start_to_fire_timeout",
            recorded=rec,
            current=cur,
        )
    _compare_summary(ctx, ev, cmd, "timer")
    return True


def _compare_child(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.start_child_workflow_execution_initiated_event_attributes
    c = cmd.command.start_child_workflow_execution
    subject = f"child workflow {c.workflow_type}"
    if a.workflow_type.name != c.workflow_type:
        ctx.add(
            "nondeterminism",
            "child-type",
            f"the code now starts child {c.workflow_type!r} where the history started "
            f"{a.workflow_type.name!r}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="workflow_type",
            recorded=a.workflow_type.name,
            current=c.workflow_type,
        )
        return False
    _compare_value(ctx, "nondeterminism", "child-id", "workflow_id", a.workflow_id,
                   c.workflow_id, ev, cmd, subject)
    _compare_payloads(
        ctx, a.input.payloads, c.input, event=ev, cmd=cmd, cause="child-input",
        subject=subject, field="input", what="input arguments",
    )
    _compare_queue(ctx, a.task_queue.name, c.task_queue, ev, cmd, subject, "child-task-queue")
    _compare_durations(
        ctx,
        [
            ("workflow_execution_timeout", a.workflow_execution_timeout,
             c.workflow_execution_timeout, c.HasField("workflow_execution_timeout")),
            ("workflow_run_timeout", a.workflow_run_timeout, c.workflow_run_timeout,
             c.HasField("workflow_run_timeout")),
        ],
        event=ev,
        cmd=cmd,
        subject=subject,
    )
    _compare_retry_option(
        ctx, a.retry_policy, c.retry_policy if c.HasField("retry_policy") else None,
        event=ev, cmd=cmd, subject=subject, default=None,
    )
    _compare_priority(ctx, a.priority, c.priority, event=ev, cmd=cmd, subject=subject)
    if c.parent_close_policy and int(c.parent_close_policy) != int(a.parent_close_policy):
        ctx.add(
            "option-change",
            "parent-close-policy",
            f"{subject}: parent close policy changed",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="parent_close_policy",
            recorded=int(a.parent_close_policy),
            current=int(c.parent_close_policy),
        )
    _compare_value(ctx, "drift", "child-cron-schedule", "cron_schedule", a.cron_schedule,
                   c.cron_schedule, ev, cmd, subject)
    _compare_memo(ctx, dict(a.memo.fields), dict(c.memo), ev, cmd, subject, "child-memo")
    _compare_memo(
        ctx, dict(a.search_attributes.indexed_fields), dict(c.search_attributes.indexed_fields),
        ev, cmd, subject, "child-search-attributes",
    )
    return True


def _compare_memo(
    ctx: _Ctx,
    rec: dict[str, temporalio.api.common.v1.Payload],
    cur: dict[str, temporalio.api.common.v1.Payload],
    ev: HistoryEvent,
    cmd: CapturedCommand,
    subject: str,
    cause: str,
) -> None:
    # Search attributes are always the SDK's JSON; memo goes through the data converter.
    converter = None if "search" in cause else ctx.converter
    rec_v = {k: _normalize(decode_payload(v, converter)) for k, v in rec.items()}
    cur_v = {k: _normalize(decode_payload(v, converter)) for k, v in cur.items()}
    if not _same(rec_v, cur_v):
        what = "search attributes" if "search" in cause else "memo"
        ctx.add(
            "drift",
            cause,
            f"{subject}: {what} changed",
            event=ev,
            cmd=cmd,
            subject=subject,
            field=what,
            recorded=rec_v,
            current=cur_v,
            diff=value_diff(rec_v, cur_v),
        )


def _compare_can(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.workflow_execution_continued_as_new_event_attributes
    c = cmd.command.continue_as_new_workflow_execution
    subject = "continue-as-new"
    if c.workflow_type and c.workflow_type != a.workflow_type.name:
        ctx.add(
            "drift",
            "continue-as-new-type",
            f"continue-as-new now starts {c.workflow_type!r}, recorded {a.workflow_type.name!r}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="workflow_type",
            recorded=a.workflow_type.name,
            current=c.workflow_type,
        )
    _compare_payloads(
        ctx, a.input.payloads, c.arguments, event=ev, cmd=cmd, cause="continue-as-new-input",
        subject=subject, field="input", what="arguments carried to the next run",
    )
    if ctx.queue(c.task_queue) != a.task_queue.name:
        ctx.add(
            "drift",
            "continue-as-new-task-queue",
            f"continue-as-new task queue {c.task_queue!r} differs from {a.task_queue.name!r}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="task_queue",
            recorded=a.task_queue.name,
            current=c.task_queue,
        )
    if c.memo:
        _compare_memo(ctx, dict(a.memo.fields), dict(c.memo), ev, cmd, subject, "continue-as-new-memo")
    if c.HasField("search_attributes"):
        # Unset means "inherit the current run's"; only an explicit set can differ.
        rec = dict(a.search_attributes.indexed_fields)
        cur = dict(c.search_attributes.indexed_fields)
        rec.pop(_CHANGE_VERSION_SA, None)  # written by patched(), not by the code's request
        cur.pop(_CHANGE_VERSION_SA, None)
        _compare_memo(ctx, rec, cur, ev, cmd, subject, "continue-as-new-search-attributes")
    return True


def _compare_complete(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.workflow_execution_completed_event_attributes
    c = cmd.command.complete_workflow_execution
    current = [c.result] if c.HasField("result") else []
    _compare_payloads(
        ctx, a.result.payloads, current, event=ev, cmd=cmd, cause="result",
        subject="workflow result", field="result", what="the value returned",
    )
    return True


def _failure_view(f: temporalio.api.failure.v1.Failure) -> dict[str, Any]:
    info = f.application_failure_info if f.HasField("application_failure_info") else None
    return {
        "message": f.message,
        "type": info.type if info is not None else f.WhichOneof("failure_info"),
        "non_retryable": info.non_retryable if info is not None else None,
    }


def _compare_fail(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    rec = _failure_view(ev.workflow_execution_failed_event_attributes.failure)
    cur = _failure_view(cmd.command.fail_workflow_execution.failure)
    if rec != cur:
        ctx.add(
            "drift",
            "failure",
            "the workflow now fails differently",
            event=ev,
            cmd=cmd,
            subject="workflow failure",
            field="failure",
            recorded=rec,
            current=cur,
            diff=value_diff(rec, cur),
        )
    return True


def _compare_signal_external(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.signal_external_workflow_execution_initiated_event_attributes
    c = cmd.command.signal_external_workflow_execution
    target = c.child_workflow_id or c.workflow_execution.workflow_id
    subject = f"signal {c.signal_name!r}"
    if a.signal_name != c.signal_name or a.workflow_execution.workflow_id != target:
        rec = {"signal": a.signal_name, "target": a.workflow_execution.workflow_id}
        cur = {"signal": c.signal_name, "target": target}
        ctx.add(
            "drift",
            "signal-external-target",
            f"external signal now goes to {cur} instead of {rec}",
            event=ev,
            cmd=cmd,
            subject=subject,
            field="target",
            recorded=rec,
            current=cur,
        )
    _compare_payloads(
        ctx, a.input.payloads, c.args, event=ev, cmd=cmd, cause="signal-external-input",
        subject=subject, field="input", what="signal arguments",
    )
    return True


def _compare_cancel_external(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.request_cancel_external_workflow_execution_initiated_event_attributes
    c = cmd.command
    if cmd.variant == "cancel_child_workflow_execution":
        return True  # the child's id was compared when it was started
    target = c.request_cancel_external_workflow_execution.workflow_execution.workflow_id
    if target != a.workflow_execution.workflow_id:
        ctx.add(
            "drift",
            "cancel-external-target",
            f"external cancellation now targets {target!r}, recorded "
            f"{a.workflow_execution.workflow_id!r}",
            event=ev,
            cmd=cmd,
            subject="cancel external workflow",
            field="target",
            recorded=a.workflow_execution.workflow_id,
            current=target,
        )
    return True


def _compare_upsert(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    rec = {
        k: v
        for k, v in ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields.items()
        if k != _CHANGE_VERSION_SA
    }
    cur = dict(cmd.command.upsert_workflow_search_attributes.search_attributes.indexed_fields)
    cur.pop(_CHANGE_VERSION_SA, None)
    _compare_memo(ctx, rec, cur, ev, cmd, "search attributes", "search-attributes")
    return True


def _compare_memo_event(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    rec = dict(ev.workflow_properties_modified_event_attributes.upserted_memo.fields)
    cur = dict(cmd.command.modify_workflow_properties.upserted_memo.fields)
    _compare_memo(ctx, rec, cur, ev, cmd, "memo", "memo")
    return True


_COMPARERS: dict[str, Callable[[_Ctx, HistoryEvent, CapturedCommand], bool]] = {
    "schedule_activity": _compare_activity,
    "start_timer": _compare_timer,
    "start_child_workflow_execution": _compare_child,
    "continue_as_new_workflow_execution": _compare_can,
    "complete_workflow_execution": _compare_complete,
    "fail_workflow_execution": _compare_fail,
    "signal_external_workflow_execution": _compare_signal_external,
    "request_cancel_external_workflow_execution": _compare_cancel_external,
    "cancel_child_workflow_execution": _compare_cancel_external,
    "upsert_workflow_search_attributes": _compare_upsert,
    "modify_workflow_properties": _compare_memo_event,
}


def _is_core_only_upsert(ev: HistoryEvent) -> bool:
    fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    return set(fields) <= {_CHANGE_VERSION_SA}


def _pending_task_at_end(events: Sequence[HistoryEvent]) -> bool:
    """True when the last workflow task was scheduled/started but never completed."""
    for ev in reversed(events):
        t = ev.event_type
        if t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return False
        if t in (E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED):
            return True
    return False


def compare_run(
    events: Sequence[HistoryEvent],
    capture: RunCapture,
    *,
    task_queue: str,
    replay_failed: bool = False,
    volatile: Sequence[str] = (),
    converter: Converter | None = None,
) -> list[Divergence]:
    """Compare what the code commanded during replay with the recorded events.

    Args:
        events: The recorded history.
        capture: The commands captured while replaying it.
        task_queue: The workflow's own task queue (an empty command queue means this one).
        replay_failed: The replay itself failed; then a shortfall of commands is a
            consequence, not a separate finding.
        volatile: ``activity:NAME.PATH`` rules: values new on every run by design, not
            compared (on top of the integrations' built-in ones).
        converter: The ``DataConverter`` (or payload converter) the replay used: payloads
            are decoded with it for comparison (None: the SDK's default converter).

    Returns:
        Divergences in history order (the first is the one to explain).
    """
    ctx = _Ctx(
        out=[],
        workflow_task_queue=task_queue,
        replay_task_queue=capture.task_queue,
        workflow_type=capture.workflow_type,
        events=events,
        volatile=parse_volatile_rules(volatile),
        converter=converter,
    )
    pending_end = _pending_task_at_end(events)
    commands = [
        c for c in capture.commands
        if c.variant in _EVENT_FOR_VARIANT
        and not (pending_end and c.activation == capture.last_real_activation)
    ]
    trailing = [
        c for c in capture.commands
        if c.variant in _EVENT_FOR_VARIANT
        and pending_end and c.activation == capture.last_real_activation
    ]
    recorded = [
        ev for ev in events
        if ev.event_type in _ORDERED_EVENTS
        and not (ev.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
                 and _is_core_only_upsert(ev))
    ]
    # The workflow task started event that precedes each completed one (its id is what the
    # SDK reports as an activation's history_length).
    started_of = {
        ev.event_id: prev.event_id
        for prev, ev in zip(events, events[1:], strict=False)
        if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and prev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED
    }
    for i in range(max(len(commands), len(recorded))):
        cmd = commands[i] if i < len(commands) else None
        ev = recorded[i] if i < len(recorded) else None
        if cmd is not None and ev is not None:
            if ev.event_type not in _EVENT_FOR_VARIANT[cmd.variant]:
                ctx.add(
                    "nondeterminism",
                    "command-mismatch",
                    f"the code now issues {_describe_command(cmd)} where the history recorded "
                    f"{_describe_event(ev)}",
                    event=ev,
                    cmd=cmd,
                    subject=_describe_command(cmd),
                    recorded=_describe_event(ev),
                    current=_describe_command(cmd),
                )
                break
            comparer = _COMPARERS.get(cmd.variant)
            if comparer is not None and not comparer(ctx, ev, cmd):
                break
            _compare_task(ctx, ev, cmd, started_of)
            ctx.last_matched = cmd
        elif cmd is not None:
            ctx.add(
                "nondeterminism",
                "extra-command",
                f"the code now issues {_describe_command(cmd)}, which the history does not have",
                event=None,
                cmd=cmd,
                subject=_describe_command(cmd),
                current=_describe_command(cmd),
            )
            break
        elif ev is not None:
            if replay_failed:
                break
            if pending_end and trailing:
                # The last task never completed; its commands are what this task produces.
                break
            ctx.add(
                "nondeterminism",
                "missing-command",
                f"the history has {_describe_event(ev)} but the code no longer issues it",
                event=ev,
                cmd=None,
                subject=_describe_event(ev),
                recorded=_describe_event(ev),
            )
            break
    _compare_local_activities(ctx, events, capture)
    for name in dict.fromkeys(capture.unhandled_signals):
        ctx.add(
            "drift",
            "signal-dropped",
            f"recorded signal {name!r} has no handler in the current code: it is dropped "
            "(a renamed or removed signal handler)",
            event=_first_signal(events, name),
            cmd=None,
            subject=f"signal {name}",
            hint="keep a handler for the old signal name (or a dynamic handler) while "
            "executions that received it are running",
        )
    for name in dict.fromkeys(capture.unhandled_updates):
        ctx.add(
            "nondeterminism",
            "update-unhandled",
            f"recorded update {name!r} has no handler in the current code",
            event=None,
            cmd=None,
            subject=f"update {name}",
        )
    return ctx.out


def _compare_task(
    ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand, started_of: dict[int, int]
) -> None:
    """A command issued in another workflow task than recorded (the SDK accepts an earlier
    one): the step now happens before something it used to wait for."""
    if cmd.task is None:
        return
    attrs_name = ev.WhichOneof("attributes")
    attrs = getattr(ev, attrs_name) if attrs_name else None
    completed = getattr(attrs, "workflow_task_completed_event_id", 0)
    recorded_start = started_of.get(completed)
    if not completed or recorded_start is None or recorded_start == cmd.task:
        return
    waited = [
        event_type_name(e.event_type)
        for e in ctx.events
        if min(cmd.task, recorded_start) < e.event_id < max(cmd.task, recorded_start)
        and e.event_type
        not in (
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        )
    ]
    when = "earlier" if cmd.task < recorded_start else "later"
    ctx.add(
        "drift",
        "command-task",
        f"{_describe_command(cmd)} is now issued {when}: in the workflow task started at event "
        f"{cmd.task}, where the history issued it in the task started at event "
        f"{recorded_start}" + (f" (after {', '.join(waited)})" if waited else ""),
        event=ev,
        cmd=cmd,
        subject=_describe_command(cmd),
        field="workflow_task",
        recorded=recorded_start,
        current=cmd.task,
        hint="the step no longer waits for (or now waits for) the events in between; if that "
        "is intended for new executions only, guard it with `workflow.patched(...)`",
    )


def _first_signal(events: Sequence[HistoryEvent], name: str) -> HistoryEvent | None:
    for ev in events:
        if (
            ev.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
            and ev.workflow_execution_signaled_event_attributes.signal_name == name
        ):
            return ev
    return None


def _compare_local_activities(
    ctx: _Ctx, events: Sequence[HistoryEvent], capture: RunCapture
) -> None:
    """Local activity types in marker order (their inputs are not in the history)."""
    markers = [
        ev for ev in events
        if ev.event_type == E.EVENT_TYPE_MARKER_RECORDED
        and ev.marker_recorded_event_attributes.marker_name == _LA_MARKER
    ]
    cmds = [c for c in capture.commands if c.variant == "schedule_local_activity"]
    seen_seq: set[int] = set()
    unique: list[CapturedCommand] = []
    for c in cmds:  # a local activity retried by backoff is re-scheduled with the same seq
        seq = c.command.schedule_local_activity.seq
        if seq not in seen_seq:
            seen_seq.add(seq)
            unique.append(c)
    for ev, cmd in zip(markers, unique, strict=False):
        details = ev.marker_recorded_event_attributes.details
        data = decode_payload(details["data"].payloads[0]) if "data" in details else None
        rec_type = data.get("activity_type") if isinstance(data, dict) else None
        cur_type = cmd.command.schedule_local_activity.activity_type
        if rec_type and rec_type != cur_type:
            ctx.add(
                "nondeterminism",
                "local-activity-type",
                f"the code now runs local activity {cur_type!r} where the history ran {rec_type!r}",
                event=ev,
                cmd=cmd,
                subject=f"local activity {cur_type}",
                recorded=rec_type,
                current=cur_type,
            )
            return
