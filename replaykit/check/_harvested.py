"""The replay check of harvested executions: a test's histories replayed strictly, at once.

``pytest --replaykit-replay-check`` and ``@pytest.mark.replaykit_replay`` replay what a test
just started (kept in memory by :class:`replaykit.record._harvest.Harvester`) with the
workflow classes and plugin objects the test's own workers had.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from replaykit._internal._sync import call_in_thread
from replaykit.record._harvest import HarvestedExecution, Harvester

from ._divergence import CheckReport
from ._engine import CheckOptions, check_histories

__all__ = ["replay_harvested"]


def replay_harvested(
    harvester: Harvester, nodeid: str, *, options: CheckOptions | None = None
) -> CheckReport | None:
    """Replay the test's harvested histories strictly against the current code.

    The workflow classes and plugin objects are the ones the test's workers had (so it
    works without any file and for classes defined anywhere). None when the test started
    nothing.
    """
    executions = harvester.executions_of(nodeid)
    if not executions:
        return None
    base = options or CheckOptions()
    groups: dict[tuple[Any, ...], list[HarvestedExecution]] = {}
    for ex in executions:
        key = (ex.workflows, tuple(id(p) for p in ex.plugins), ex.data_converter)
        groups.setdefault(key, []).append(ex)
    results: list[Any] = []
    seconds = 0.0
    for members in groups.values():
        first = members[0]
        if not first.workflows:
            continue  # named in the summary's not-importable lines
        group_options = dataclasses.replace(
            base,
            plugins=base.plugins or first.plugins,
            data_converter=base.data_converter or first.data_converter,
        )
        report = call_in_thread(
            functools.partial(
                check_histories,
                [m.history for m in members],
                workflows=list(first.workflows),
                options=group_options,
                jobs=0,
            ),
            thread_name="replaykit-harvest",
        )
        results.extend(report.results)
        seconds += report.seconds
    return CheckReport(results=tuple(results), seconds=seconds)
