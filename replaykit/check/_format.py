"""How events, commands and durations are named in findings, timelines and diffs.

``TimerStarted`` for an event type, ``5m`` for a duration, ``activity charge`` for a command or
the event it recorded, ``file.py:12 (in run)`` for where the code issued a command.
"""

from __future__ import annotations

import temporalio.api.history.v1
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import EventType

from ._capture import CapturedCommand

__all__ = ["event_type_name", "format_duration"]

E = EventType
HistoryEvent = temporalio.api.history.v1.HistoryEvent


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
        return (
            f"timer of {format_duration(ev.timer_started_event_attributes.start_to_fire_timeout)}"
        )
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
