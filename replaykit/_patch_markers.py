"""Patch markers in a history: what ``workflow.patched`` / ``deprecate_patch`` left behind.

Its own small module because both the patch analysis (:mod:`replaykit._patches`) and the
replay-failure explainer (:mod:`replaykit._explain`, under :mod:`replaykit._check`) read
markers, and the analysis itself runs checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from ._history import HistoryFile
from ._payloads import decode_payload

__all__ = ["PATCH_MARKER_NAME", "PatchMarker", "history_patch_markers"]

#: The marker name the SDK core writes for ``workflow.patched`` / ``deprecate_patch``.
PATCH_MARKER_NAME = "core_patch"
_DETAILS_KEY = "patch-data"
_CHANGE_VERSION_SA = "TemporalChangeVersion"

E = EventType


@dataclass(frozen=True)
class PatchMarker:
    """A patch marker found in a history.

    Attributes:
        patch_id: The patch id.
        deprecated: Written by ``deprecate_patch`` (None when only the search attribute
            upsert names the id, so the flag is unknown).
        event_id: The MarkerRecorded (or upsert) event.
    """

    patch_id: str
    deprecated: bool | None
    event_id: int


def _decode_marker(
    attrs: temporalio.api.history.v1.MarkerRecordedEventAttributes,
) -> tuple[str, bool] | None:
    details = attrs.details
    if _DETAILS_KEY in details and details[_DETAILS_KEY].payloads:
        payload = details[_DETAILS_KEY].payloads[0]
        try:
            data = json.loads(payload.data)
        except (ValueError, UnicodeDecodeError):
            data = decode_payload(payload)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"], bool(data.get("deprecated", False))
        return None
    # Older cores wrote the id and the flag as raw bytes under separate keys.
    if "patch_id" in details and details["patch_id"].payloads:
        try:
            patch_id = details["patch_id"].payloads[0].data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        dep = details["deprecated"].payloads[0].data if "deprecated" in details else b""
        return patch_id, bool(dep[:1]) and dep[:1] != b"\x00"
    return None


def history_patch_markers(hf: HistoryFile) -> tuple[list[PatchMarker], list[str]]:
    """The patch markers of a history, and problems found decoding them.

    Both sources count: ``core_patch`` MarkerRecorded events (id and deprecated flag from
    the ``patch-data`` payload) and ``TemporalChangeVersion`` upserts (the ids patched so
    far). An id only the upsert names gets ``deprecated=None``.
    """
    markers: dict[str, PatchMarker] = {}
    problems: list[str] = []
    upserted: dict[str, int] = {}
    for ev in hf.events:
        if ev.event_type == E.EVENT_TYPE_MARKER_RECORDED:
            attrs = ev.marker_recorded_event_attributes
            if attrs.marker_name != PATCH_MARKER_NAME:
                continue
            decoded = _decode_marker(attrs)
            if decoded is None:
                problems.append(f"event {ev.event_id}: patch marker details cannot be decoded")
                continue
            patch_id, deprecated = decoded
            markers.setdefault(patch_id, PatchMarker(patch_id, deprecated, ev.event_id))
        elif ev.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes
            payload = fields.indexed_fields.get(_CHANGE_VERSION_SA)
            if payload is None:
                continue
            try:
                ids = json.loads(payload.data)
            except (ValueError, UnicodeDecodeError):
                problems.append(f"event {ev.event_id}: {_CHANGE_VERSION_SA} is not JSON")
                continue
            if not isinstance(ids, list):
                ids = [ids]
            for pid in ids:
                if isinstance(pid, str):
                    upserted.setdefault(pid, ev.event_id)
    for pid, event_id in upserted.items():
        markers.setdefault(pid, PatchMarker(pid, None, event_id))
    return sorted(markers.values(), key=lambda m: m.event_id), problems
