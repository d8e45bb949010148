"""Stepping through a recorded execution: breakpoints at history events, a trace, a debugger.

``replaykit replay`` is the command line. One module per job:

- ``_points``: ``--break-at`` texts parsed into :class:`BreakPoint` s.
- ``_targets``: a history's event positions and the targets break points resolve to.
- ``_debuggers``: a :class:`Stop` and the debuggers that take it over (pdb, debugpy).
- ``_stepper``: the runner and instance that pair commands and deliveries with recorded
  events while the workflow replays, and stop at the targets.
- ``_trace``: the ``--trace`` rendering.
- ``_replay``: :func:`replay_history`, the entry point that puts them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._points": ("BreakPoint", "parse_break_point"),
    "._debuggers": ("Stop",),
    "._replay": ("ReplayOutcome", "replay_history"),
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
    from ._debuggers import Stop as Stop
    from ._points import BreakPoint as BreakPoint
    from ._points import parse_break_point as parse_break_point
    from ._replay import ReplayOutcome as ReplayOutcome
    from ._replay import replay_history as replay_history
