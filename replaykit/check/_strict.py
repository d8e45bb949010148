"""Strict comparison: every command the code issues now against the recorded events.

The stock replayer compares only command kind, order, type and id (and only when the history
carries the ``IdAndTypeDeterminismChecks`` flag). Here each captured command is paired with
its recorded event in order and compared field by field: types and ids (whatever the flags
say), inputs and results as *decoded* values (so encoding noise is not drift), timer
durations, task queues, targets, memo and search attributes, and options.

This module pairs commands with events (order, kind, the workflow task each was issued in,
local activities, dropped signals and updates); :mod:`._comparers` compares the fields of one
pair, :mod:`._hints` says what to do about a finding, :mod:`._format` names events and commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from replaykit.history._events import COMMAND_EVENT_FOR_VARIANT, HistoryView, view_of
from replaykit.history._payloads import Converter, decode_payload
from replaykit.history._values import _payloads_equal as _payloads_equal
from replaykit.history._values import value_diff as value_diff
from replaykit.integrations._agents import parse_volatile_rules

from ._capture import CapturedCommand, RunCapture
from ._comparers import _COMPARERS, _Ctx
from ._divergence import Divergence
from ._format import _describe_command, _describe_event, event_type_name, format_duration
from ._hints import _patch_hint as _patch_hint
from ._hints import suggest_patch_id

# event_type_name, format_duration and suggest_patch_id live in ._format and ._hints; they
# stay importable from here.
__all__ = ["compare_run", "event_type_name", "format_duration", "suggest_patch_id"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent


def compare_run(
    events: Sequence[HistoryEvent] | HistoryView,
    capture: RunCapture,
    *,
    task_queue: str,
    replay_failed: bool = False,
    volatile: Sequence[str] = (),
    converter: Converter | None = None,
    frameworks: Mapping[str, str] | None = None,
) -> list[Divergence]:
    """Compare what the code commanded during replay with the recorded events.

    Args:
        events: The recorded history (its events, or its :class:`HistoryView`).
        capture: The commands captured while replaying it.
        task_queue: The workflow's own task queue (an empty command queue means this one).
        replay_failed: The replay itself failed; then a shortfall of commands is a
            consequence, not a separate finding.
        volatile: ``activity:NAME.PATH`` rules: values new on every run by design, not
            compared (on top of the integrations' built-in ones).
        converter: The ``DataConverter`` (or payload converter) the replay used: payloads
            are decoded with it for comparison (None: the SDK's default converter).
        frameworks: The AI-framework releases the history was recorded with (its metadata's):
            a finding on an integration whose release differs now says so.

    Returns:
        Divergences in history order (the first is the one to explain).
    """
    view = view_of(events)
    ctx = _Ctx(
        out=[],
        workflow_task_queue=task_queue,
        replay_task_queue=capture.task_queue,
        workflow_type=capture.workflow_type,
        events=view.events,
        volatile=parse_volatile_rules(volatile),
        converter=converter,
        frameworks=frameworks or {},
    )
    pending_end = view.pending_task_at_end
    commands = [
        c
        for c in capture.commands
        if c.variant in COMMAND_EVENT_FOR_VARIANT
        and not (pending_end and c.activation == capture.last_real_activation)
    ]
    trailing = [
        c
        for c in capture.commands
        if c.variant in COMMAND_EVENT_FOR_VARIANT
        and pending_end
        and c.activation == capture.last_real_activation
    ]
    recorded = view.command_events
    # The workflow task started event that precedes each completed one (its id is what the
    # SDK reports as an activation's history_length).
    started_of = view.started_of_completed
    for i in range(max(len(commands), len(recorded))):
        cmd = commands[i] if i < len(commands) else None
        ev = recorded[i] if i < len(recorded) else None
        if cmd is not None and ev is not None:
            if ev.event_type not in COMMAND_EVENT_FOR_VARIANT[cmd.variant]:
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
    _compare_local_activities(ctx, view, capture)
    for name in dict.fromkeys(capture.unhandled_signals):
        ctx.add(
            "drift",
            "signal-dropped",
            f"recorded signal {name!r} has no handler in the current code: it is dropped "
            "(a renamed or removed signal handler)",
            event=view.first_signal(name),
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


def _compare_local_activities(ctx: _Ctx, view: HistoryView, capture: RunCapture) -> None:
    """Local activity types in marker order (their inputs are not in the history)."""
    markers = view.local_markers
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
