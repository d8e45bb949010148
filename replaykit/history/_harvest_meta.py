"""What a harvested history file carries for its own replay (``replaykit.extra.harvest``).

``pytest --replaykit-harvest`` writes it (:mod:`replaykit.record._harvest`); the check engine
reads it, so ``replaykit check DIR`` and the pytest history items need no ``--workflows`` and no
``--plugin`` for harvested files. This module imports no ``temporalio``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HARVEST_KEY", "HarvestInfo", "looks_harvested", "read_harvest_info"]

#: Key inside the metadata's ``extra`` object that holds a :class:`HarvestInfo`.
HARVEST_KEY = "harvest"

#: A harvested file ends with replaykit's metadata; sniffing its tail avoids parsing the rest.
_TAIL_BYTES = 65536


@dataclass(frozen=True)
class HarvestInfo:
    """Where a harvested execution came from and what its replay needs.

    Attributes:
        test: The pytest node id of the test that started the execution.
        outcome: That test's outcome when the history was fetched (``passed``, ``failed``,
            ``error``, ``skipped`` or ``unknown``).
        workflows: ``module:qualname`` of the workflow class the test's worker registered
            for this execution's type (empty when it could not be told).
        plugins: ``module:attr`` of each plugin the worker had (client and worker plugins).
        data_converter: ``module:attr`` of the client's data converter, when neither the SDK
            default nor the one the plugins install.
        not_importable: What could not be named by import path (a plugin built inside a
            fixture, say), each with the flag to pass instead.
        partial: The execution was still running when its history was fetched.
        parent_workflow_id: The parent's workflow id, for a child workflow.
    """

    test: str
    outcome: str = "unknown"
    workflows: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    data_converter: str | None = None
    not_importable: tuple[str, ...] = ()
    partial: bool = False
    parent_workflow_id: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object stored under ``extra.harvest`` (``harvested`` is always true)."""
        out: dict[str, Any] = {
            "harvested": True,
            "test": self.test,
            "outcome": self.outcome,
            "workflows": list(self.workflows),
            "plugins": list(self.plugins),
            "partial": self.partial,
        }
        if self.data_converter:
            out["data_converter"] = self.data_converter
        if self.not_importable:
            out["not_importable"] = list(self.not_importable)
        if self.parent_workflow_id:
            out["parent_workflow_id"] = self.parent_workflow_id
        return out

    @classmethod
    def from_json_dict(cls, raw: object) -> HarvestInfo | None:
        """Parse ``extra.harvest``; None when it is absent or not a harvest object."""
        if not isinstance(raw, Mapping) or raw.get("harvested") is not True:
            return None

        def strings(key: str) -> tuple[str, ...]:
            value = raw.get(key)
            if not isinstance(value, list):
                return ()
            return tuple(v for v in value if isinstance(v, str) and v)

        converter = raw.get("data_converter")
        parent = raw.get("parent_workflow_id")
        return cls(
            test=str(raw.get("test", "")),
            outcome=str(raw.get("outcome", "unknown")),
            workflows=strings("workflows"),
            plugins=strings("plugins"),
            data_converter=converter if isinstance(converter, str) and converter else None,
            not_importable=strings("not_importable"),
            partial=raw.get("partial") is True,
            parent_workflow_id=parent if isinstance(parent, str) and parent else None,
        )


def looks_harvested(path: Path | str) -> bool:
    """Whether a file's tail shows harvest metadata (one small read; nothing is parsed)."""
    try:
        with Path(path).open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            tail = fh.read()
    except OSError:
        return False
    return b'"harvested": true' in tail or b'"harvested":true' in tail


def read_harvest_info(item: object) -> HarvestInfo | None:
    """The harvest metadata of a history file (a path or a loaded ``HistoryFile``), or None.

    A path is only parsed in full when its tail shows harvest metadata, so plain exports and
    scenario recordings cost one small read. An unreadable file gives None (its load reports
    the problem later, once).
    """
    meta = getattr(item, "meta", None)
    if meta is not None or hasattr(item, "history"):
        extra = getattr(meta, "extra", None) or {}
        return HarvestInfo.from_json_dict(extra.get(HARVEST_KEY))
    if not isinstance(item, (str, Path)):
        return None
    path = Path(item)
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read()
            if b'"harvested": true' not in tail and b'"harvested":true' not in tail:
                return None
            fh.seek(0)
            obj = json.loads(fh.read().decode("utf-8-sig"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    meta_obj = obj.get("replaykit")
    extra = meta_obj.get("extra") if isinstance(meta_obj, dict) else None
    return HarvestInfo.from_json_dict(extra.get(HARVEST_KEY) if isinstance(extra, dict) else None)
