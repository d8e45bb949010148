"""The check: replay every history against the current code, strictly, and report.

- ``_engine``: the check engine (validation, replay in worker processes, verdicts).
- ``_capture``: every command the code issues while it replays.
- ``_strict``, ``_comparers``: each captured command against its recorded event.
- ``_explain``, ``_hints``, ``_format``: the SDK's failures as divergences, what to do about
  them, and how steps are named.
- ``_divergence``: the result model; ``_report``: text, JSON and JUnit reports.
- ``_budget``: history budgets against Temporal's limits; ``_rollout``: the rollout report.
- ``_verdicts``: the verdict cache (a pass reused while nothing it depends on changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._engine": (
        "CheckOptions",
        "check_histories",
        "collect_workflows",
        "replay_one",
    ),
    "._divergence": (
        "CheckReport",
        "Divergence",
        "HistoryResult",
    ),
    "._hints": ("suggest_patch_id",),
}

__all__ = [
    "CheckOptions",
    "CheckReport",
    "Divergence",
    "HistoryResult",
    "check_histories",
    "collect_workflows",
    "replay_one",
    "suggest_patch_id",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._divergence import CheckReport as CheckReport
    from ._divergence import Divergence as Divergence
    from ._divergence import HistoryResult as HistoryResult
    from ._engine import CheckOptions as CheckOptions
    from ._engine import check_histories as check_histories
    from ._engine import collect_workflows as collect_workflows
    from ._engine import replay_one as replay_one
    from ._hints import suggest_patch_id as suggest_patch_id
