"""What to do about a finding: ``workflow.patched(...)`` hints and suggested patch ids.

A changed sequence of commands gets a hint that names the line to guard and a patch id
(:func:`suggest_patch_id`); an activity input where only values new on every run differ
(ids, timestamps, in values or in keys) gets the ``volatile`` rule that masks them; other
findings get the general advice for their kind.
"""

from __future__ import annotations

import re
from typing import Any

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from replaykit.integrations._agents import (
    KEY_SEGMENT,
    mask_key,
    volatile_kind,
    volatile_kind_in_key,
)

from ._capture import CapturedCommand
from ._divergence import Kind
from ._format import (
    _VARIANT_LABEL,
    _describe_command,
    _describe_event,
    _source,
    event_type_name,
    format_duration,
)

__all__ = ["suggest_patch_id"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent


def _default_hint(kind: Kind, cause: str) -> str:
    if kind == "nondeterminism":
        return (
            "running executions recorded the old sequence of commands: guard the change with "
            '`if workflow.patched("<change-id>"):` (new path) / else (old path)'
        )
    if kind == "drift":
        return (
            "the code now sends different values than this execution recorded; if that is "
            "intended for new executions only, guard it with `workflow.patched(...)`; if it is "
            "intended for all, re-record the history (replaykit record) or allow it (--allow)"
        )
    return (
        "replay-safe (options apply to new commands only); fail on it with --fail-on option-change"
    )


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
        was = (
            f"where the history recorded {_describe_event(event)}"
            if event is not None
            else ("which the history does not have")
        )
        return (
            f"the code now issues {_describe_command(cmd)} at {where}, {was}: {why}. "
            f'Guard the change there: `if workflow.patched("{patch_id}"):` new code, '
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
            f'`if not workflow.patched("{patch_id}"):` run {_describe_event(event)} as '
            "before. Run `replaykit patches` to see when it can be deprecated"
        )
    return None


def _agent_hint(cause: str) -> str:
    return (
        f"the agent's {cause.replace('-', ' ')} changed: this execution replays model output "
        "produced for the old one. If the change is meant for new executions only, guard it "
        "with `workflow.patched(...)`; if running executions may continue with it, allow it "
        f"(--allow {cause}, or [tool.replaykit] allow) or re-record the history"
    )


_Volatile = tuple[tuple[str, ...], str]  # (path inside the argument, what it looks like)


def _volatile_diffs(a: Any, b: Any, path: tuple[str, ...]) -> list[_Volatile] | None:
    """Where ``a`` and ``b`` differ, when every difference is an id or a timestamp on both
    sides (a value, or a key that differs only by one); None when any other value differs."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[_Volatile] = []
        only_a = [k for k in a if k not in b]
        only_b = [k for k in b if k not in a]
        if only_a or only_b:
            kinds = [volatile_kind_in_key(k) if isinstance(k, str) else None for k in only_a]
            kinds += [volatile_kind_in_key(k) if isinstance(k, str) else None for k in only_b]
            pairs_a = sorted(only_a, key=lambda k: mask_key(str(k)))
            pairs_b = sorted(only_b, key=lambda k: mask_key(str(k)))
            if (
                None in kinds
                or len(only_a) != len(only_b)
                or [mask_key(k) for k in pairs_a] != [mask_key(k) for k in pairs_b]
            ):
                return None
            out.append(((*path, KEY_SEGMENT), str(kinds[0])))
            for ka, kb in zip(pairs_a, pairs_b, strict=True):
                inner = _volatile_diffs(a[ka], b[kb], (*path, "*"))
                if inner is None:
                    return None
                out.extend(inner)
        for k in a:
            if k in b:
                inner = _volatile_diffs(a[k], b[k], (*path, str(k)))
                if inner is None:
                    return None
                out.extend(inner)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None
        out = []
        for x, y in zip(a, b, strict=True):
            inner = _volatile_diffs(x, y, (*path, "*"))
            if inner is None:
                return None
            out.extend(inner)
        return out
    kind_a, kind_b = volatile_kind(a), volatile_kind(b)
    if kind_a is None or kind_a != kind_b:
        return None
    return [(path, kind_a)]


def _volatile_hint(activity: str, recorded: Any, current: Any) -> str | None:
    """For an activity input where only ids or timestamps differ: what they are, and the
    ``volatile`` rule that stops comparing them. None when anything else differs."""
    if not isinstance(recorded, list) or not isinstance(current, list):
        return None
    diffs = _volatile_diffs(recorded, current, ())
    if not diffs:
        return None
    found: dict[str, str] = {}
    for segs, kind in diffs:
        inner = segs[1:]  # rules are paths inside each argument
        if not inner or any("." in s for s in inner):
            return None
        found.setdefault(".".join(inner), kind)
    what = "; ".join(
        f"the keys of {p.removesuffix('.' + KEY_SEGMENT)} differ only by {k}"
        if p.endswith(KEY_SEGMENT)
        else f"{p} is {k} on both sides"
        for p, k in found.items()
    )
    rules = [f"activity:{activity}.{p}" for p in found]
    return (
        f"{what}: new on every run, not a change in the code (guarding it with "
        "`workflow.patched` or re-recording will not help: the next run makes a new one). "
        f"Stop comparing it: {' '.join('--volatile ' + r for r in rules)}, or in "
        f"pyproject [tool.replaykit] volatile = [{', '.join(repr(r) for r in rules)}]"
    )


def _activity_of(cmd: CapturedCommand | None, event: HistoryEvent | None) -> str | None:
    if cmd is not None and cmd.variant == "schedule_activity":
        return str(cmd.command.schedule_activity.activity_type)
    if cmd is not None and cmd.variant == "schedule_local_activity":
        return str(cmd.command.schedule_local_activity.activity_type)
    if event is not None and event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return str(event.activity_task_scheduled_event_attributes.activity_type.name)
    return None


def _drift_hint(
    kind: Kind,
    field: str | None,
    cmd: CapturedCommand | None,
    event: HistoryEvent | None,
    recorded: Any,
    current: Any,
) -> str | None:
    """The volatile-value hint for an activity input that differs only by ids/timestamps."""
    if kind != "drift" or field != "input":
        return None
    activity = _activity_of(cmd, event)
    return _volatile_hint(activity, recorded, current) if activity else None
