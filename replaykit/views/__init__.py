"""Views of histories: the event timeline (``replaykit show``) and history diffs (``replaykit diff``).

- ``_timeline``: the timeline model; ``_show_text`` and ``_show_html`` render it; ``_show`` is
  ``show_history``.
- ``_diff``: the differences between two histories, step by step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._show": (
        "ShowReport",
        "render_html",
        "show_history",
    ),
    "._diff": (
        "HistoryDiff",
        "StepDifference",
        "diff_histories",
        "diff_history_files",
    ),
}

__all__ = [
    "HistoryDiff",
    "ShowReport",
    "StepDifference",
    "diff_histories",
    "diff_history_files",
    "render_html",
    "show_history",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._diff import HistoryDiff as HistoryDiff
    from ._diff import StepDifference as StepDifference
    from ._diff import diff_histories as diff_histories
    from ._diff import diff_history_files as diff_history_files
    from ._show import ShowReport as ShowReport
    from ._show import render_html as render_html
    from ._show import show_history as show_history
