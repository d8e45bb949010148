"""Patch markers in a history: what ``workflow.patched`` / ``deprecate_patch`` left behind.

The decoding lives in the event model (:mod:`replaykit.history._events`, ``HistoryView.patch_markers``);
this module keeps the name the patch analysis (:mod:`replaykit.patches._analysis`) and the
replay-failure explainer (:mod:`replaykit.check._explain`) import.
"""

from __future__ import annotations

from ._events import PATCH_MARKER_NAME, PatchMarker
from ._files import HistoryFile

__all__ = ["PATCH_MARKER_NAME", "PatchMarker", "history_patch_markers"]


def history_patch_markers(hf: HistoryFile) -> tuple[list[PatchMarker], list[str]]:
    """The patch markers of a history, and problems found decoding them.

    Both sources count: ``core_patch`` MarkerRecorded events (id and deprecated flag from
    the ``patch-data`` payload) and ``TemporalChangeVersion`` upserts (the ids patched so
    far). An id only the upsert names gets ``deprecated=None``.
    """
    return hf.view.patch_markers()
