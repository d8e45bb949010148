"""A tiny progress line for terminals; silent in CI and pipes."""

from __future__ import annotations

import sys

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
