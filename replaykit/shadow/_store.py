"""The shadow's local history store: what was fetched, keyed by run id and last event id.

One folder per namespace holds the histories as ``pull`` writes them
(``<workflow id>__<run id>.json`` with replaykit metadata), so ``replaykit check`` reads a
store folder as it is; a hidden index beside them (``.index.json``) maps each run id to its
file, last event id and whether the run was closed. A closed run's history never changes, so
it is never fetched again; a running one is fetched again only when it has grown.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import temporalio.api.history.v1

from replaykit.history._files import HistoryMeta, atomic_write_text, write_history
from replaykit.record._pull import pull_file_name

__all__ = ["HistoryStore", "StoredRun"]

_INDEX = ".index.json"
_FORMAT = 1


@dataclass(frozen=True)
class StoredRun:
    """What the store holds of one run.

    Attributes:
        workflow_id: The run's workflow id.
        run_id: Its run id.
        path: The history file.
        last_event_id: The id of the last event stored (the history's length).
        closed: Whether the stored history ends with a close event (it never changes again).
    """

    workflow_id: str
    run_id: str
    path: Path
    last_event_id: int
    closed: bool


class HistoryStore:
    """Fetched histories on disk, by namespace, run id and last event id.

    Thread-safe: fetches write from worker threads. Files are written atomically; the index
    is written by :meth:`save` (a shadow saves it when it ends). A file the index names but
    that is gone counts as absent.

    Args:
        root: The store's folder (created when first written).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._indexes: dict[str, dict[str, dict[str, Any]]] = {}
        self._dirty: set[str] = set()

    def folder(self, namespace: str) -> Path:
        """The folder of one namespace's histories."""
        return self.root / urllib.parse.quote(namespace, safe="")

    def _index(self, namespace: str) -> dict[str, dict[str, Any]]:
        index = self._indexes.get(namespace)
        if index is None:
            index = self._indexes[namespace] = _read_index(self.folder(namespace) / _INDEX)
        return index

    def get(self, namespace: str, run_id: str) -> StoredRun | None:
        """The stored run, or None when the store has no (readable) history of it."""
        with self._lock:
            entry = self._index(namespace).get(run_id)
        if entry is None:
            return None
        path = self.folder(namespace) / entry["file"]
        if not path.is_file():
            return None
        return StoredRun(
            workflow_id=entry["workflow_id"],
            run_id=run_id,
            path=path,
            last_event_id=entry["last_event_id"],
            closed=entry["closed"],
        )

    def put(
        self,
        namespace: str,
        history: temporalio.api.history.v1.History,
        *,
        meta: HistoryMeta,
        closed: bool,
    ) -> StoredRun:
        """Store a fetched history (replacing an older one of the same run)."""
        run_id = meta.run_id or ""
        name = pull_file_name(meta.workflow_id, run_id)
        path = write_history(self.folder(namespace) / name, history, meta=meta)
        last = history.events[-1].event_id if history.events else 0
        with self._lock:
            self._index(namespace)[run_id] = {
                "workflow_id": meta.workflow_id,
                "file": name,
                "last_event_id": last,
                "closed": closed,
            }
            self._dirty.add(namespace)
        return StoredRun(meta.workflow_id, run_id, path, last, closed)

    def save(self) -> None:
        """Write the index of every namespace changed since the last save (atomically).

        What another process (a second shadow worker on this machine) saved meanwhile is
        merged in, ours winning for the runs both stored."""
        with self._lock:
            dirty = {ns: dict(self._indexes[ns]) for ns in self._dirty}
            self._dirty.clear()
        for namespace, ours in dirty.items():
            runs = {**_read_index(self.folder(namespace) / _INDEX), **ours}
            text = json.dumps({"format": _FORMAT, "runs": runs}, indent=1, sort_keys=True)
            atomic_write_text(self.folder(namespace) / _INDEX, text + "\n")


def _read_index(path: Path) -> dict[str, dict[str, Any]]:
    """The index's runs; a missing, unreadable or foreign index is empty (all refetched)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        return {}
    runs = raw.get("runs")
    if not isinstance(runs, dict):
        return {}
    good: dict[str, dict[str, Any]] = {}
    for run_id, entry in runs.items():
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("workflow_id"), str)
            and isinstance(entry.get("file"), str)
            and "/" not in entry["file"]
            and isinstance(entry.get("last_event_id"), int)
            and isinstance(entry.get("closed"), bool)
        ):
            good[run_id] = entry
    return good
