"""Where break points stop: a history's event positions and the targets they resolve to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from replaykit.check._divergence import Divergence
from replaykit.check._format import event_type_name
from replaykit.history._events import PATCH_MARKER_NAME
from replaykit.history._files import HistoryFile

from ._points import _TASK_EVENTS, BreakPoint, PointError

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------- the history


class _Index:
    """Where each event of a history comes from or goes to, for the replay's stepper.

    The references (steps, workflow tasks, deliveries) are the event model's
    (:class:`~replaykit.history._events.HistoryView`); this adds the positions the stepper counts:
    each command event's place among the commands, each local-activity and patch marker's
    place among its kind.
    """

    def __init__(self, hf: HistoryFile) -> None:
        view = hf.view
        self.view = view
        self.events = view.events
        self.by_id = view.by_id
        self.ordered = view.command_events
        self.ordered_index = view.command_index
        self.local_markers = [ev.event_id for ev in view.local_markers]
        self.patch_markers = [ev.event_id for ev in view.markers(PATCH_MARKER_NAME)]
        # Workflow tasks the replay runs; their ids are the activations' history_length.
        self.tasks = view.tasks
        #: Consumed events delivered in each task, in history order.
        self.delivered = view.delivered
        self.task_after = view.task_after
        self.task_of = view.task_of
        self.task_of_command = view.task_of_command

    # -- what occurs (for errors) ---------------------------------------------------------

    def activities(self) -> dict[str, list[int]]:
        return self.view.names("activity")

    def timers(self) -> list[int]:
        return [t.event_id for t in self.view.timers]

    def signals(self) -> dict[str, list[int]]:
        return self.view.names("signal")

    def children(self) -> dict[str, list[int]]:
        return self.view.names("child")

    def describe_points(self) -> str:
        """The points that occur, for an error message."""

        def named(prefix: str, found: dict[str, list[int]]) -> str:
            if not found:
                return "none"
            return ", ".join(f"{prefix}:{name} (x{len(ids)})" for name, ids in found.items())

        timers = self.timers()
        last = self.events[-1].event_id if self.events else 0
        return "\n".join(
            [
                f"  activities: {named('activity', self.activities())}",
                "  timers: "
                + (
                    "none"
                    if not timers
                    else "timer:1"
                    if len(timers) == 1
                    else f"timer:1 .. timer:{len(timers)}"
                ),
                f"  signals: {named('signal', self.signals())}",
                f"  child workflows: {named('child', self.children())}",
                f"  event ids: 1 .. {last}",
            ]
        )


# --------------------------------------------------------------------------- targets


@dataclass
class _Targets:
    """Where the replay must stop, keyed the way the runtime hooks see things."""

    commands: dict[int, list[str]] = field(default_factory=dict)  # ordered command index
    local: dict[int, list[str]] = field(default_factory=dict)  # k-th local activity
    patch: dict[int, list[str]] = field(default_factory=dict)  # k-th patch marker
    deliveries: dict[int, list[str]] = field(default_factory=dict)  # consumed event id
    tasks: dict[int, list[str]] = field(default_factory=dict)  # workflow task started id
    #: The event id each stop concerns (for printing the decoded event).
    event_of: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, where: str, key: int, label: str, event_id: int | None) -> None:
        table: dict[int, list[str]] = getattr(self, where)
        labels = table.setdefault(key, [])
        if label not in labels:
            labels.append(label)
        if event_id is not None:
            self.event_of[(where, key)] = event_id

    def __bool__(self) -> bool:
        return any((self.commands, self.local, self.patch, self.deliveries, self.tasks))


def _add_event(targets: _Targets, index: _Index, event_id: int, label: str) -> None:
    """Map an event id to the moment the replay reaches it."""
    ev = index.by_id[event_id]
    if event_id in index.ordered_index:
        targets.add("commands", index.ordered_index[event_id], label, event_id)
    elif event_id in index.local_markers:
        targets.add("local", index.local_markers.index(event_id), label, event_id)
    elif event_id in index.patch_markers:
        targets.add("patch", index.patch_markers.index(event_id), label, event_id)
    elif any(event_id in ids for ids in index.delivered.values()):
        targets.add("deliveries", event_id, label, event_id)
    else:
        # Events no code issues or consumes (task bookkeeping, activity started, ...): the
        # first workflow code that runs in the task that sees them.
        task = (
            index.task_of(event_id) if ev.event_type in _TASK_EVENTS else index.task_after(event_id)
        )
        if task is None:
            raise PointError(
                f"event {event_id} ({event_type_name(ev.event_type)}) comes after the last "
                "workflow task: no workflow code runs after it"
            )
        targets.add("tasks", task, label, event_id)


def _resolve(
    points: Sequence[BreakPoint], index: _Index, divergence: Divergence | None, path: str
) -> _Targets:
    targets = _Targets()
    missing: list[str] = []
    for point in points:
        ids: list[int] = []
        if point.kind == "event":
            assert point.number is not None
            if point.number in index.by_id:
                ids = [point.number]
        elif point.kind == "timer":
            timers = index.timers()
            assert point.number is not None
            if point.number <= len(timers):
                ids = [timers[point.number - 1]]
        elif point.kind == "divergence":
            if divergence is None:
                missing.append(
                    f"{point.spec} (the history replays clean against the current "
                    "code: strict comparison finds no divergence)"
                )
                continue
            _add_divergence(targets, index, divergence, point.spec)
            continue
        else:
            table = {
                "activity": index.activities,
                "signal": index.signals,
                "child": index.children,
            }[point.kind]()
            ids = table.get(point.name or "", [])
            if point.number is not None:
                ids = ids[point.number - 1 : point.number]
        if not ids:
            missing.append(point.spec)
            continue
        for event_id in ids:
            _add_event(targets, index, event_id, point.spec)
    if missing:
        raise PointError(
            f"{path}: --break-at {', '.join(missing)} never occurs in this history. "
            f"Points that do:\n{index.describe_points()}"
        )
    return targets


def _add_divergence(targets: _Targets, index: _Index, d: Divergence, label: str) -> None:
    if d.event_id is None:
        if d.cause == "extra-command":
            # The first command beyond what the history recorded.
            targets.add("commands", len(index.ordered), label, None)
            return
        # Nothing in the history to point at: stop where the workflow first runs.
        if index.tasks:
            targets.add("tasks", index.tasks[0], label, None)
        return
    if d.event_id not in index.by_id:
        return
    if d.cause == "missing-command":
        # The code no longer issues it: stop in the workflow task that recorded it.
        task = index.task_of_command(d.event_id)
        if task is not None:
            targets.add("tasks", task, label, d.event_id)
            return
    _add_event(targets, index, d.event_id, label)
