"""Histories as tests: each history file is one pytest item.

All history items of a session are replayed in one batch (one in-process replayer, so the
workflow sandbox is prepared once) the first time any of them runs; each item then reports
its own verdict. Under pytest-xdist a worker does not know which items it will be sent, so
each item is replayed on its own there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._settings import Settings
from ._support import check_replays, debug_divergence

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from replaykit.check._divergence import HistoryResult

__all__ = [
    "HistoryBatch",
    "HistoryCheckFailed",
    "HistoryFileCollector",
    "HistoryItem",
    "is_candidate",
]

_SNIFF_BYTES = 65536


class HistoryCheckFailed(Exception):
    """A history did not replay clean; the message is the divergence explanation."""


class HistoryBatch:
    """Replays history items in batches and keeps each item's verdict."""

    def __init__(self, settings: Settings, *, per_item: bool) -> None:
        self.settings = settings
        self.per_item = per_item
        self.results: dict[str, HistoryResult] = {}
        self.errors: dict[str, BaseException] = {}
        self._lock = threading.Lock()

    def result_for(self, item: HistoryItem) -> HistoryResult:
        """The item's verdict, replaying it (and its not yet replayed peers) if needed.

        Raises:
            ReplaykitError: The workflows could not be loaded (every item of the batch fails
                with the same error).
        """
        key = str(item.path)
        with self._lock:
            if key not in self.results and key not in self.errors:
                self._replay(self._batch(item))
            if key in self.errors:
                raise self.errors[key]
            result = self.results.get(key)
        if result is None:
            raise HistoryCheckFailed(f"{key}: the check returned no verdict for this file")
        return result

    def _batch(self, item: HistoryItem) -> list[Path]:
        if self.per_item:
            return [item.path]
        paths = [
            i.path
            for i in item.session.items
            if isinstance(i, HistoryItem)
            and str(i.path) not in self.results
            and str(i.path) not in self.errors
        ]
        return paths if item.path in paths else [item.path, *paths]

    def _replay(self, paths: list[Path]) -> None:
        from replaykit._internal._errors import ReplaykitError

        try:
            report = check_replays(
                paths,
                workflows=self.settings.workflows,
                root=self.settings.root,
                options=self.settings.check_options(),
            )
        except ReplaykitError as err:
            for path in paths:
                self.errors[str(path)] = err
            return
        for result in report.results:
            if result.path is not None:
                self.results[result.path] = result

    def summary(self) -> str | None:
        """One line for the terminal summary, or None when nothing was replayed."""
        if not self.results:
            return None
        counts = {"clean": 0, "divergent": 0, "error": 0}
        for result in self.results.values():
            counts[result.status] += 1
        return (
            f"replaykit: {len(self.results)} histories replayed: {counts['clean']} clean, "
            f"{counts['divergent']} divergent, {counts['error']} unreadable"
        )


class HistoryFileCollector(pytest.File):
    """A history JSON file; it holds one item."""

    def collect(self) -> Iterator[HistoryItem]:
        yield HistoryItem.from_parent(self, name="replay")


class HistoryItem(pytest.Item):
    """One history replayed against the current code."""

    def runtest(self) -> None:
        batch: HistoryBatch = self.config.stash[BATCH_KEY]
        result = batch.result_for(self)
        if result.status != "clean":
            if result.status == "divergent" and self.config.getoption("replaykit_pdb", False):
                debug_divergence(
                    self.config,
                    self.path,
                    workflows=batch.settings.workflows,
                    settings=batch.settings,
                )
            raise HistoryCheckFailed(result.describe())

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        from replaykit._internal._errors import ReplaykitError

        if isinstance(excinfo.value, (HistoryCheckFailed, ReplaykitError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"replaykit history {self.path.name}"


BATCH_KEY = pytest.StashKey[HistoryBatch]()


def is_candidate(file_path: Path, settings: Settings, args: list[Path]) -> bool:
    """Whether a ``.json`` file should be collected as a history.

    Files under a configured histories folder always are (an unreadable one fails loudly as
    its own item). Otherwise only what the command line names: a JSON file given by path, or
    a file in a folder given by path that holds no Python files (a pure data folder, so
    ``pytest tests/`` never turns test data into history items) and that looks like a
    history export (an ``"events"`` list with ``eventType``s).
    """
    if file_path.suffix != ".json":
        return False
    resolved = file_path.resolve()
    if any(resolved.is_relative_to(folder) for folder in settings.histories):
        return True
    for arg in args:
        if resolved == arg:
            return True
        if arg.is_dir() and resolved.is_relative_to(arg) and _data_folder(arg):
            return _looks_like_history(resolved)
    return False


_DATA_FOLDERS: dict[Path, bool] = {}


def _data_folder(folder: Path) -> bool:
    known = _DATA_FOLDERS.get(folder)
    if known is None:
        known = next(folder.rglob("*.py"), None) is None
        _DATA_FOLDERS[folder] = known
    return known


def _looks_like_history(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    return b'"events"' in head and b'"eventType"' in head
