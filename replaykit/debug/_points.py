"""Break points of ``replaykit replay``: ``--break-at`` texts and what they name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import ReplaykitError

if TYPE_CHECKING:
    pass

__all__ = ["BreakPoint", "PointError", "parse_break_point"]

E = EventType

_TASK_EVENTS = frozenset(
    {
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    }
)


Source = tuple[str, int, str]  # (absolute file, line, function)


class PointError(ReplaykitError):
    """A ``--break-at`` point is malformed or never occurs in the history."""


# --------------------------------------------------------------------------- points


PointKind = Literal["event", "activity", "timer", "signal", "child", "divergence"]
_POINT_RE = re.compile(r"^(activity|signal|child):(.+?)(?:@(\d+))?$")


@dataclass(frozen=True)
class BreakPoint:
    """One ``--break-at`` point.

    Attributes:
        spec: The text as given (``activity:search_web@2``).
        kind: ``event``, ``activity``, ``timer``, ``signal``, ``child`` or ``divergence``.
        name: The activity type, signal name or child workflow type.
        number: The event id (``event``), the timer's ordinal (``timer``), or the ``@N``
            occurrence (1-based) of a named point; None means every occurrence.
    """

    spec: str
    kind: PointKind
    name: str | None = None
    number: int | None = None


def parse_break_point(text: str) -> BreakPoint:
    """Parse ``EVENT_ID``, ``activity:NAME[@N]``, ``timer:K``, ``signal:NAME[@N]``,
    ``child:TYPE[@N]`` or ``divergence``.

    Raises:
        PointError: The text is none of these.
    """
    spec = text.strip()
    if spec.isdigit() and int(spec) > 0:
        return BreakPoint(spec, "event", number=int(spec))
    if spec == "divergence":
        return BreakPoint(spec, "divergence")
    if spec.startswith("timer:") and spec[6:].isdigit() and int(spec[6:]) > 0:
        return BreakPoint(spec, "timer", number=int(spec[6:]))
    match = _POINT_RE.match(spec)
    if match:
        kind_text, name, number = match.groups()
        if number is not None and int(number) < 1:
            raise PointError(f"--break-at {text!r}: @N counts from 1")
        kind: PointKind = (
            "activity"
            if kind_text == "activity"
            else ("signal" if kind_text == "signal" else "child")
        )
        return BreakPoint(spec, kind, name=name, number=int(number) if number else None)
    raise PointError(
        f"--break-at {text!r}: expected EVENT_ID, activity:NAME[@N], timer:K, signal:NAME[@N], "
        "child:TYPE[@N] or divergence"
    )
