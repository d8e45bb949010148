"""What to do about a finding: ``workflow.patched(...)`` hints and suggested patch ids.

A changed sequence of commands gets a hint that names the line to guard and a patch id
(:func:`suggest_patch_id`); other findings get the general advice for their kind.
"""

from __future__ import annotations

import re

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

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
