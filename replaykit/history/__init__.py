"""History files and the event model: load, validate, write and read recorded histories.

- ``_files``: history files (proto3 JSON plus replaykit's metadata key), loading, validating
  and atomic writing.
- ``_protojson``: the fast proto3-JSON parser; ``_cache``: parsed histories kept as protobuf.
- ``_events``: :class:`HistoryView`, the one typed view of a history's events.
- ``_payloads``, ``_codec``, ``_values``, ``_textdiff``: decoded payloads, payload codecs, value
  equality and readable diffs.
- ``_failures``: Temporal ``Failure`` protos and their cause chains.
- ``_versioning``: Worker Versioning as a history records it.
- ``_patch_markers``: the patch markers ``workflow.patched`` left in a history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._files": (
        "META_KEY",
        "HistoryFile",
        "HistoryMeta",
        "find_history_files",
        "history_from_json",
        "load_history",
        "write_history",
    ),
    "._events": (
        "HistoryView",
        "view_of",
    ),
}

__all__ = [
    "HistoryFile",
    "HistoryMeta",
    "HistoryView",
    "META_KEY",
    "find_history_files",
    "history_from_json",
    "load_history",
    "view_of",
    "write_history",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._events import HistoryView as HistoryView
    from ._events import view_of as view_of
    from ._files import META_KEY as META_KEY
    from ._files import HistoryFile as HistoryFile
    from ._files import HistoryMeta as HistoryMeta
    from ._files import find_history_files as find_history_files
    from ._files import history_from_json as history_from_json
    from ._files import load_history as load_history
    from ._files import write_history as write_history
