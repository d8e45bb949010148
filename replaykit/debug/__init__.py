"""Stepping through a recorded execution: breakpoints at history events, a trace, a debugger.

``replaykit replay`` is the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._replay": (
        "BreakPoint",
        "ReplayOutcome",
        "Stop",
        "parse_break_point",
        "replay_history",
    ),
}

__all__ = [
    "BreakPoint",
    "ReplayOutcome",
    "Stop",
    "parse_break_point",
    "replay_history",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._replay import BreakPoint as BreakPoint
    from ._replay import ReplayOutcome as ReplayOutcome
    from ._replay import Stop as Stop
    from ._replay import parse_break_point as parse_break_point
    from ._replay import replay_history as replay_history
