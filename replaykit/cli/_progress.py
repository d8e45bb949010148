"""A tiny progress line for terminals; silent in CI and pipes."""

from __future__ import annotations

import sys
from typing import Any

import click


class Progress:
    """Counts items on one stderr line that other output is printed above."""

    def __init__(self, *, enabled: bool, total: int | None = None, label: str = "checked") -> None:
        self.enabled = enabled
        self.total = total
        self.label = label
        self.count = 0

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more items and redraw."""
        self.count += n
        self._draw()

    def echo(self, text: str) -> None:
        """Print a line above the progress line."""
        if self.enabled:
            sys.stderr.write("\r\033[K")
        click.echo(text)
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        total = f"/{self.total}" if self.total else ""
        sys.stderr.write(f"\r{self.label} {self.count}{total}")
        sys.stderr.flush()

    def close(self) -> None:
        """Erase the progress line."""
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


class ShadowProgressLine:
    """``shadow --on-temporal``: the coordinator's progress on the progress line."""

    def __init__(self, progress: Progress, *, quiet: bool = False) -> None:
        self.progress = progress
        self.quiet = quiet

    def update(self, p: Any) -> None:
        """Show a :class:`~replaykit.shadow._coordinator.ShadowProgress`."""
        self.progress.label = (
            f"on Temporal: {p.selected} selected, {p.in_flight} batches in flight, "
            f"{p.divergent} divergent, {p.errors} errors; judged"
        )
        self.progress.total = p.selected if p.listing_done else None
        self.progress.count = p.judged
        self.progress.advance(0)


def describe_progress(p: Any) -> str:
    """One line of a shadow's progress (``shadow status``)."""
    state = "finished" if p.done else ("listing done" if p.listing_done else "listing")
    return (
        f"{state}: {p.listed} listed, {p.selected} selected, {p.judged} judged "
        f"({p.clean} clean, {p.divergent} divergent, {p.errors} errors, {p.pinned} pinned), "
        f"{p.in_flight} batches in flight, {p.queued} queued, coordinator run {p.runs}"
    )
