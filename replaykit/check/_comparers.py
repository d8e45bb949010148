"""Field-by-field comparison of one captured command with the event it recorded.

One comparer per command kind (activity, timer, child workflow, continue-as-new, completion,
failure, external signal and cancellation, search attributes, memo): types and ids, inputs and
results as decoded values, timeouts, task queues, retry policies, priorities, summaries, memo and
search attributes. Each finding goes through :class:`_Ctx`, which attaches its hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import temporalio.api.common.v1
import temporalio.api.enums.v1
import temporalio.api.history.v1
from google.protobuf.duration_pb2 import Duration

from replaykit._internal._sdk_compat import command_search_attributes
from replaykit.history._events import CHANGE_VERSION_SEARCH_ATTRIBUTE
from replaykit.history._failures import FailureView
from replaykit.history._payloads import Converter, decode_payload, decode_payloads
from replaykit.history._textdiff import is_long_text, text_diff
from replaykit.history._values import _clip, _normalize, _payloads_equal, _same, value_diff
from replaykit.integrations._agents import (
    Integration,
    VolatileRule,
    explain_model_call,
    find_integration,
    framework_upgrade_note,
    mask_volatile,
)

from ._capture import CapturedCommand
from ._divergence import Divergence, Kind
from ._format import _source, event_type_name, format_duration
from ._hints import _agent_hint, _default_hint, _drift_hint, _patch_hint

HistoryEvent = temporalio.api.history.v1.HistoryEvent

_CHANGE_VERSION_SA = CHANGE_VERSION_SEARCH_ATTRIBUTE
_ACTIVITY_SCHEDULED = temporalio.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED


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
    #: The AI-framework releases the history was recorded with (its metadata's).
    frameworks: Mapping[str, str] = dataclass_field(default_factory=dict)
    # event id -> the integration its activity belongs to (see _integration_of)
    _integrations: dict[int, str | None] = dataclass_field(default_factory=dict)

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
        hint = (
            hint
            or _patch_hint(cause, cmd, event, self.workflow_type, self.last_matched)
            or _drift_hint(kind, field, cmd, event, recorded, current)
            or _default_hint(kind, cause)
        )
        upgrade = None
        if self.frameworks:
            on = integration or self._integration_of(event)
            upgrade = framework_upgrade_note(on, self.frameworks) if on else None
        if upgrade is not None:  # say first what may explain it all
            hint = f"{upgrade}. {hint[:1].upper()}{hint[1:]}" if hint else upgrade
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
                hint=hint,
                agent=agent,
                integration=integration,
                items=items,
            )
        )

    def _integration_of(self, event: HistoryEvent | None) -> str | None:
        """The integration an activity's recorded scheduling belongs to (for an option
        change on it: a framework release may set other options), if any."""
        if event is None or event.event_type != _ACTIVITY_SCHEDULED:
            return None
        if event.event_id not in self._integrations:  # one decode per event, not per finding
            attrs = event.activity_task_scheduled_event_attributes
            args = _normalize(decode_payloads(attrs.input.payloads, self.converter))
            integ = (
                find_integration(attrs.activity_type.name, args) if isinstance(args, list) else None
            )
            self._integrations[event.event_id] = integ.name if integ is not None else None
        return self._integrations[event.event_id]


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
    if (
        integ is None
        or integ.aspects is None
        or not integ.model_call(activity)
        or not integ.shape(cur_m)
    ):
        ctx.add(
            "drift",
            "activity-input",
            f"{subject}: input arguments changed",
            event=event,
            cmd=cmd,
            subject=subject,
            field="input",
            recorded=rec,
            current=cur,
            diff=value_diff(rec_m, cur_m),
            integration=integ.name if integ is not None else None,
        )
        return True
    summary = event.user_metadata.summary if event.HasField("user_metadata") else None
    agent = integ.agent(
        activity,
        rec,
        decode_payload(summary, ctx.converter)
        if summary is not None and summary.ByteSize()
        else None,
    )
    if agent is None:
        agent = _agent_from_other_calls(ctx, integ, activity, rec)
    if not agent and ctx.workflow_type:
        # The call does not name its agent (a Strands agent without `summary=`, a Gemini
        # SDK call): the workflow running it is the agent.
        agent = f"workflow {ctx.workflow_type!r}"
    who = f"{_agent_words(agent)} ({integ.name})" if agent else integ.name
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
                    lines.extend(
                        "  " + ln
                        for ln in value_diff(
                            it["recorded"], it["current"], root=f"{root}[{it['name']}]"
                        ).splitlines()
                    )
            diff = "\n".join(lines)
        else:
            diff = value_diff(ch.recorded, ch.current, root=root)
        ctx.add(
            "drift",
            ch.cause,
            f"{subject}: {who}: {ch.summary}",
            event=event,
            cmd=cmd,
            subject=subject,
            field=f"input.{path}",
            recorded=ch.recorded,
            current=ch.current,
            diff=diff,
            agent=agent,
            integration=integ.name,
            items=ch.items,
            hint=_agent_hint(ch.cause),
        )
    if not _same(rest_rec, rest_cur):
        ctx.add(
            "drift",
            "activity-input",
            f"{subject}: {who}: other input arguments changed",
            event=event,
            cmd=cmd,
            subject=subject,
            field="input",
            recorded=rest_rec,
            current=rest_cur,
            diff=value_diff(rest_rec, rest_cur),
            agent=agent,
            integration=integ.name,
        )
    return True


def _agent_words(agent: str) -> str:
    """``agent 'Triage'``, ``graph 'g', node 'n'``, ``entrypoint 'e', task 't'``, ``the
    agent in workflow 'W'``."""
    if agent.startswith(("graph ", "entrypoint ")):
        return agent
    if agent.startswith("workflow "):
        return f"the agent in {agent}"
    return f"agent {agent!r}"


def _agent_key(integ: Integration, activity: str, args: list[Any]) -> str:
    """What identifies an agent across its model calls: everything but the conversation."""
    assert integ.aspects is not None
    masked = mask_volatile(activity, args, integ)
    return repr([(a.path, a.value) for a in integ.aspects(masked) if a.cause != "input"])


def _agent_from_other_calls(
    ctx: _Ctx, integ: Integration, activity: str, rec: list[Any]
) -> str | None:
    """The agent's name from another recorded call of the same agent (same activity type,
    same prompt, tools and settings), for a call that does not carry it: a Deep Agent's
    name is on its own turns, which its first model call has none of."""
    if integ.aspects is None:
        return None
    key: str | None = None
    for ev in ctx.events:
        attrs = ev.activity_task_scheduled_event_attributes
        if (
            ev.event_type != temporalio.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            or attrs.activity_type.name != activity
        ):
            continue
        args = _normalize(decode_payloads(attrs.input.payloads, ctx.converter))
        if not isinstance(args, list) or not integ.shape(args):
            continue
        name = integ.agent(activity, args, None)
        if name:
            key = key or _agent_key(integ, activity, rec)
            if _agent_key(integ, activity, args) == key:
                return name
    return None


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
    if cur.HasField("initial_interval") and _dur(cur.initial_interval) != _dur(
        rec.initial_interval
    ):
        changes["initial_interval"] = (_dur(rec.initial_interval), _dur(cur.initial_interval))
    if cur.HasField("maximum_interval") and _dur(cur.maximum_interval) != _dur(
        rec.maximum_interval
    ):
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
    _option_changes(
        ctx,
        "retry-policy",
        "retry_policy",
        changes,
        event=event,
        cmd=cmd,
        subject=subject,
        suffix=removed,
    )


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
        _compare_retry(
            ctx,
            rec,
            default,
            event=event,
            cmd=cmd,
            subject=subject,
            removed=" (the code sets no retry policy now: the server default applies)",
        )
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
    _option_changes(
        ctx, "priority", "priority", changes, event=event, cmd=cmd, subject=subject, label=""
    )


def _compare_summary(ctx: _Ctx, event: HistoryEvent, cmd: CapturedCommand, subject: str) -> None:
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
            f"{subject}: {field.replace('_', ' ')} {current!r} differs from recorded {recorded!r}",
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
    _compare_value(
        ctx, "drift", cause, "task_queue", recorded, ctx.queue(commanded), ev, cmd, subject
    )


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
    _compare_value(
        ctx,
        "nondeterminism",
        "activity-id",
        "activity_id",
        a.activity_id,
        c.activity_id,
        ev,
        cmd,
        subject,
    )
    _compare_payloads(
        ctx,
        a.input.payloads,
        c.arguments,
        event=ev,
        cmd=cmd,
        cause="activity-input",
        subject=subject,
        field="input",
        what="input arguments",
        activity=c.activity_type,
    )
    _compare_queue(ctx, a.task_queue.name, c.task_queue, ev, cmd, subject, "activity-task-queue")
    _compare_durations(
        ctx,
        [
            (
                "start_to_close_timeout",
                a.start_to_close_timeout,
                c.start_to_close_timeout,
                c.HasField("start_to_close_timeout"),
            ),
            (
                "schedule_to_close_timeout",
                a.schedule_to_close_timeout,
                c.schedule_to_close_timeout,
                c.HasField("schedule_to_close_timeout"),
            ),
            (
                "schedule_to_start_timeout",
                a.schedule_to_start_timeout,
                c.schedule_to_start_timeout,
                c.HasField("schedule_to_start_timeout"),
            ),
            (
                "heartbeat_timeout",
                a.heartbeat_timeout,
                c.heartbeat_timeout,
                c.HasField("heartbeat_timeout"),
            ),
        ],
        event=ev,
        cmd=cmd,
        subject=subject,
    )
    _compare_retry_option(
        ctx,
        a.retry_policy,
        c.retry_policy if c.HasField("retry_policy") else None,
        event=ev,
        cmd=cmd,
        subject=subject,
        default=_SERVER_DEFAULT_ACTIVITY_RETRY,
    )
    _compare_priority(ctx, a.priority, c.priority, event=ev, cmd=cmd, subject=subject)
    _compare_summary(ctx, ev, cmd, subject)
    return True


def _compare_timer(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.timer_started_event_attributes
    c = cmd.command.start_timer
    if _dur(a.start_to_fire_timeout) != _dur(c.start_to_fire_timeout):
        rec, cur = (
            format_duration(a.start_to_fire_timeout),
            format_duration(c.start_to_fire_timeout),
        )
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
    _compare_value(
        ctx,
        "nondeterminism",
        "child-id",
        "workflow_id",
        a.workflow_id,
        c.workflow_id,
        ev,
        cmd,
        subject,
    )
    _compare_payloads(
        ctx,
        a.input.payloads,
        c.input,
        event=ev,
        cmd=cmd,
        cause="child-input",
        subject=subject,
        field="input",
        what="input arguments",
    )
    _compare_queue(ctx, a.task_queue.name, c.task_queue, ev, cmd, subject, "child-task-queue")
    _compare_durations(
        ctx,
        [
            (
                "workflow_execution_timeout",
                a.workflow_execution_timeout,
                c.workflow_execution_timeout,
                c.HasField("workflow_execution_timeout"),
            ),
            (
                "workflow_run_timeout",
                a.workflow_run_timeout,
                c.workflow_run_timeout,
                c.HasField("workflow_run_timeout"),
            ),
        ],
        event=ev,
        cmd=cmd,
        subject=subject,
    )
    _compare_retry_option(
        ctx,
        a.retry_policy,
        c.retry_policy if c.HasField("retry_policy") else None,
        event=ev,
        cmd=cmd,
        subject=subject,
        default=None,
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
    _compare_value(
        ctx,
        "drift",
        "child-cron-schedule",
        "cron_schedule",
        a.cron_schedule,
        c.cron_schedule,
        ev,
        cmd,
        subject,
    )
    _compare_memo(ctx, dict(a.memo.fields), dict(c.memo), ev, cmd, subject, "child-memo")
    _compare_memo(
        ctx,
        dict(a.search_attributes.indexed_fields),
        command_search_attributes(c) or {},
        ev,
        cmd,
        subject,
        "child-search-attributes",
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
        ctx,
        a.input.payloads,
        c.arguments,
        event=ev,
        cmd=cmd,
        cause="continue-as-new-input",
        subject=subject,
        field="input",
        what="arguments carried to the next run",
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
        _compare_memo(
            ctx, dict(a.memo.fields), dict(c.memo), ev, cmd, subject, "continue-as-new-memo"
        )
    current_attributes = command_search_attributes(c)
    if current_attributes is not None:
        # Unset means "inherit the current run's"; only an explicit set can differ.
        rec = dict(a.search_attributes.indexed_fields)
        cur = current_attributes
        rec.pop(_CHANGE_VERSION_SA, None)  # written by patched(), not by the code's request
        cur.pop(_CHANGE_VERSION_SA, None)
        _compare_memo(ctx, rec, cur, ev, cmd, subject, "continue-as-new-search-attributes")
    return True


def _compare_complete(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    a = ev.workflow_execution_completed_event_attributes
    c = cmd.command.complete_workflow_execution
    current = [c.result] if c.HasField("result") else []
    _compare_payloads(
        ctx,
        a.result.payloads,
        current,
        event=ev,
        cmd=cmd,
        cause="result",
        subject="workflow result",
        field="result",
        what="the value returned",
    )
    return True


def _compare_fail(ctx: _Ctx, ev: HistoryEvent, cmd: CapturedCommand) -> bool:
    rec = FailureView.of(ev.workflow_execution_failed_event_attributes.failure).comparable()
    cur = FailureView.of(cmd.command.fail_workflow_execution.failure).comparable()
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
        ctx,
        a.input.payloads,
        c.args,
        event=ev,
        cmd=cmd,
        cause="signal-external-input",
        subject=subject,
        field="input",
        what="signal arguments",
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
    cur = command_search_attributes(cmd.command.upsert_workflow_search_attributes) or {}
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
