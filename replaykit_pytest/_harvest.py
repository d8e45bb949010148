"""``--replaykit-harvest``: the pytest side of :mod:`replaykit.record._harvest`.

Only glue: which harvester a session has, how a pytest outcome is named, what goes to
pytest-xdist's controller and what the terminal summary prints. The library does the capture,
the fetches, the files and the replay check. Nothing here imports ``temporalio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ._settings import Settings

if TYPE_CHECKING:
    from replaykit.record._harvest import Harvester, HarvestSummary

__all__ = [
    "HARVEST_KEY",
    "REPLAY_MARKER",
    "WORKER_OUTPUT_KEY",
    "WORKER_SUMMARIES_KEY",
    "new_harvester",
    "outcome_of",
    "replay_check_failure",
    "summary_lines",
    "wants_replay_check",
    "worker_output",
]

HARVEST_KEY = pytest.StashKey["Harvester"]()
WORKER_SUMMARIES_KEY = pytest.StashKey[list[dict[str, Any]]]()
WORKER_OUTPUT_KEY = "replaykit_harvest"
REPLAY_MARKER = "replaykit_replay"


def new_harvester(settings: Settings, *, in_memory: bool = False) -> Harvester | None:
    """The session's harvester: with ``--replaykit-harvest`` (or ``in_memory``), else None."""
    if settings.harvest is None and not in_memory and not settings.replay_check:
        return None
    from replaykit.record._harvest import Harvester, HarvestOptions

    harvester = Harvester(
        HarvestOptions(
            folder=settings.harvest,
            mode=settings.harvest_mode if settings.harvest is not None else "none",
        )
    )
    harvester.activate()
    return harvester


def wants_replay_check(item: pytest.Item, settings: Settings) -> bool:
    """``--replaykit-replay-check``, or the test has ``@pytest.mark.replaykit_replay``."""
    return settings.replay_check or item.get_closest_marker(REPLAY_MARKER) is not None


def replay_check_failure(harvester: Harvester, item: pytest.Item, settings: Settings) -> str | None:
    """The explanation when the test's harvested histories do not replay strictly; else None."""
    from ._support import failure_text

    # Strict always (a replay check that lets drift through checks nothing); the workers'
    # own plugin objects, not configured references, replay the test's executions.
    options = settings.check_options(strict=True, plugins=())
    from replaykit.check._harvested import replay_harvested

    report = replay_harvested(harvester, item.nodeid, options=options)
    if report is None or not report.results:
        return None
    text = failure_text(report)
    if text is None:
        return None
    return (
        f"replaykit: this test's workflow histories do not replay against the current code\n{text}"
    )


def outcome_of(report: pytest.TestReport) -> str | None:
    """The harvest outcome a report sets (None: it changes nothing)."""
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped and report.when in ("setup", "call"):
        return "skipped"
    return None


def summary_lines(
    harvester: Harvester | None, worker_summaries: list[dict[str, Any]] | None
) -> list[str]:
    """The terminal summary: pytest-xdist workers' merged on the controller, else our own."""
    from replaykit.record._harvest import HarvestSummary

    summary: HarvestSummary | None
    if worker_summaries:
        summary = HarvestSummary.merge(HarvestSummary.from_json_dict(s) for s in worker_summaries)
    else:
        summary = harvester.summary() if harvester is not None else None
    return summary.lines() if summary is not None else []


def worker_output(harvester: Harvester) -> dict[str, Any]:
    """What a pytest-xdist worker sends its controller."""
    summary: HarvestSummary = harvester.summary()
    return summary.to_json_dict()
