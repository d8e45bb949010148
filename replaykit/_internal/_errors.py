"""Exception types shared by every part of replaykit."""

from __future__ import annotations

from pathlib import Path


class ReplaykitError(Exception):
    """Base class of every error replaykit raises on purpose."""


class ConfigError(ReplaykitError):
    """Bad configuration: a flag, an ini key or a ``[tool.replaykit]`` value."""


class ServerError(ReplaykitError):
    """A Temporal server could not be found, started, reached or stopped."""


class HistoryError(ReplaykitError):
    """A history file could not be read: names the file and the problem."""

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


class ScenarioError(ReplaykitError):
    """A scenario file could not be loaded or a scenario is malformed."""
