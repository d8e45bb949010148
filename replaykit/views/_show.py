"""Rendering one history as an event timeline: terminal text and a self-contained HTML page.

Every event is listed (nothing is grouped away) with its time relative to the start and a short
decoded summary: what ran, with which arguments, what came back. When the history has been
checked against current code, the diverging events are highlighted with the explanation.

This module loads, checks and measures the history (:func:`show_history`); the view itself is
built in :mod:`._timeline` and rendered by :mod:`._show_text` and :mod:`._show_html` (their
public names stay importable from here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replaykit._internal._errors import ReplaykitError
from replaykit.check._budget import (
    BudgetReport,
    chain_budgets,
    chain_key,
    format_budget,
    measure_budget,
)
from replaykit.check._divergence import HistoryResult, format_output
from replaykit.history._codec import decoded_history_file
from replaykit.history._files import HistoryFile, atomic_write_text, load_history
from replaykit.history._versioning import VersioningView, versioning_view

from ._show_html import render_html
from ._show_text import format_timeline
from ._timeline import TimelineEvent, _verdict_line, build_timeline, format_offset

__all__ = [
    "ShowReport",
    "TimelineEvent",
    "build_timeline",
    "format_offset",
    "format_timeline",
    "render_html",
    "show_history",
]


@dataclass(frozen=True)
class ShowReport:
    """What ``replaykit show`` produced for one history.

    Attributes:
        history: The loaded history.
        events: Its timeline.
        result: The check verdict when workflows were given, else None.
        html_path: Where the HTML page was written, if asked.
    """

    history: HistoryFile
    events: tuple[TimelineEvent, ...]
    result: HistoryResult | None = None
    html_path: Path | None = None
    budget: BudgetReport | None = None
    versioning: VersioningView | None = None

    @property
    def exit_code(self) -> int:
        """0 shown (and clean), 1 the history diverges from the code, 2 it could not be checked."""
        if self.result is None:
            return 0
        return {"clean": 0, "divergent": 1}.get(self.result.status, 2)

    def format_verdict(self) -> str:
        """The check verdict and every divergence explained ("" when not checked)."""
        if self.result is None:
            return ""
        lines = [_verdict_line(self.history, self.result)]
        for d in (*self.result.divergences, *self.result.allowed):
            lines.extend("  " + ln for ln in d.describe().splitlines())
        lines.extend(self._output_lines())
        return "\n".join(lines) + "\n"

    def _output_lines(self) -> list[str]:
        """What the workflow code printed while it replayed, when the check failed."""
        result = self.result
        if result is None or not result.output or result.status not in ("divergent", "error"):
            return []
        return format_output(result.output).splitlines()

    def format_text(self) -> str:
        """The terminal timeline (with divergences when checked), then budget and versioning."""
        text = format_timeline(self.history, result=self.result, events=self.events)
        extra: list[str] = self._output_lines()
        if self.versioning is not None and self.versioning.versioned:
            extra.append(f"versioning: {self.versioning.describe()}")
        if self.budget is not None:
            extra.extend(format_budget(self.budget))
        return text + "".join(line + "\n" for line in extra)


def show_history(
    path: Path | str,
    *,
    workflows: Sequence[str | type] = (),
    workflow_id: str | None = None,
    html_out: Path | str | None = None,
    data_converter: str | None = None,
    plugins: Sequence[Any] = (),
) -> ShowReport:
    """Load a history, optionally check it against current code, optionally write HTML.

    Args:
        path: The history file.
        workflows: Workflow modules/classes; when given, the history is replayed against them
            (in this process) and the diverging events are highlighted.
        workflow_id: Workflow id for plain exports without replaykit metadata.
        html_out: Write the self-contained HTML page here (atomically).
        data_converter: ``module:attr`` of the DataConverter or PayloadCodec the history was
            recorded with; payloads are shown decoded.
        plugins: Temporal plugins the replay with ``workflows`` gets (see ``check``).

    Raises:
        HistoryError: The file is not a readable, valid history.
        ConfigError: A workflow module cannot be imported or defines no workflow.
    """
    history = load_history(path, workflow_id=workflow_id)
    result: HistoryResult | None = None
    if workflows:
        from replaykit.check._engine import CheckOptions, check_histories

        # The user asked to look at this one file: no cache files, no worker processes.
        report = check_histories(
            [history],
            workflows=workflows,
            options=CheckOptions(
                cache=False, data_converter=data_converter, plugins=tuple(plugins)
            ),
            jobs=0,
        )
        result = report.results[0]
    budget = _budget_with_earlier_runs(history)
    versioning = versioning_view(history.events)
    history = decoded_history_file(history, data_converter)
    events = tuple(build_timeline(history))
    written: Path | None = None
    if html_out is not None:
        written = Path(html_out)
        atomic_write_text(
            written,
            render_html(
                history, result=result, events=events, budget=budget, versioning=versioning
            ),
        )
    return ShowReport(
        history=history,
        events=events,
        result=result,
        html_path=written,
        budget=budget,
        versioning=versioning,
    )


def _budget_with_earlier_runs(history: HistoryFile) -> BudgetReport:
    """The run's budget; for ``<id>.runN.json``, measured with the chain's earlier runs."""
    own = measure_budget(history.events)
    key = chain_key(str(history.path)) if history.path is not None else None
    if key is None or key[1] == 1:
        return own
    stem, number = key
    items: list[tuple[str | None, BudgetReport | None]] = []
    for n in range(1, number):
        sibling = Path(f"{stem}.json" if n == 1 else f"{stem}.run{n}.json")
        try:
            items.append((str(sibling), measure_budget(load_history(sibling).events)))
        except (OSError, ReplaykitError):
            return own  # an incomplete chain: this run alone
    items.append((str(history.path), own))
    return chain_budgets(items)[-1] or own
