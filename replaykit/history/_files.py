"""History files: loading, validating and writing them.

A history file is proto3 JSON exactly as ``temporal workflow show --output json`` and
``WorkflowHistory.to_json()`` write it (``{"events": [...]}``), so the stock SDK loads it too.
replaykit adds one top-level key, :data:`META_KEY`, with what replay needs and a history does
not carry (above all the workflow id). Every malformed file is rejected with a
:class:`HistoryError` that names the file and the problem; nothing is ever guessed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import google.protobuf.json_format
import temporalio.api.enums.v1
import temporalio.api.history.v1
import temporalio.client
import temporalio.service
from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import HistoryError
from replaykit._internal._sdk_compat import legacy_history_from_json

from ._events import HistoryView
from ._protojson import Unsupported, fill_message
from ._references import check_references

__all__ = [
    "META_KEY",
    "HistoryFile",
    "HistoryMeta",
    "find_history_files",
    "history_from_json",
    "history_from_proto",
    "load_history",
    "write_history",
]

#: The one top-level key replaykit adds to a history JSON file.
META_KEY = "replaykit"

#: Largest history file accepted (the server terminates executions at 50k events, far below).
MAX_FILE_BYTES = 512 * 1024 * 1024

_EVENT_TYPE_NAMES = frozenset(name for name in EventType.keys() if name != "EVENT_TYPE_UNSPECIFIED")
_PASCAL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$")
_PASCAL_SPLIT = re.compile("([A-Z]+)")
_MAX_DEPTH = 64


@dataclass(frozen=True)
class HistoryMeta:
    """What replaykit stores beside the events (the file's ``"replaykit"`` key)."""

    workflow_id: str
    run_id: str | None = None
    workflow_type: str | None = None
    task_queue: str | None = None
    namespace: str | None = None
    sdk_version: str | None = None
    recorded_at: str | None = None
    scenario: str | None = None
    #: The AI-framework releases installed where it was recorded (``{"pydantic-ai-slim":
    #: "2.78.0"}``), so a check can tell a framework upgrade from a code change.
    frameworks: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object stored under :data:`META_KEY`."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})}
        out["format"] = 1
        return out

    @classmethod
    def from_json_dict(cls, raw: object, *, path: Path | None) -> HistoryMeta:
        """Parse the metadata object; a wrong shape is a :class:`HistoryError`."""
        if not isinstance(raw, dict):
            raise HistoryError(path, f'"{META_KEY}" metadata must be an object')
        workflow_id = raw.get("workflow_id")
        if not isinstance(workflow_id, str) or not workflow_id:
            raise HistoryError(path, f'"{META_KEY}" metadata has no workflow_id string')
        kwargs: dict[str, Any] = {"workflow_id": workflow_id}
        for name in (
            "run_id",
            "workflow_type",
            "task_queue",
            "namespace",
            "sdk_version",
            "recorded_at",
            "scenario",
        ):
            value = raw.get(name)
            if value is not None and not isinstance(value, str):
                raise HistoryError(path, f'"{META_KEY}.{name}" must be a string')
            kwargs[name] = value
        frameworks = raw.get("frameworks", {})
        if not isinstance(frameworks, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in frameworks.items()
        ):
            raise HistoryError(
                path, f'"{META_KEY}.frameworks" must map distribution names to version strings'
            )
        extra = raw.get("extra", {})
        if not isinstance(extra, dict):
            raise HistoryError(path, f'"{META_KEY}.extra" must be an object')
        return cls(**kwargs, frameworks=frameworks, extra=extra)


@dataclass(frozen=True)
class HistoryFile:
    """One loaded, validated workflow history."""

    path: Path | None
    workflow_id: str
    history: temporalio.api.history.v1.History
    meta: HistoryMeta | None = None
    digest: str = ""

    @property
    def events(self) -> Sequence[temporalio.api.history.v1.HistoryEvent]:
        """The history's events, in order."""
        return self.history.events

    @cached_property
    def view(self) -> HistoryView:
        """The typed view of the events (steps, tasks, markers), built once and kept."""
        return HistoryView(self.history.events)

    @property
    def run_id(self) -> str | None:
        """The run id (from metadata, else from the first event's original run id)."""
        if self.meta is not None and self.meta.run_id:
            return self.meta.run_id
        attrs = self.history.events[0].workflow_execution_started_event_attributes
        return attrs.original_execution_run_id or None

    @property
    def workflow_type(self) -> str:
        """The workflow type name from the started event."""
        attrs = self.history.events[0].workflow_execution_started_event_attributes
        return attrs.workflow_type.name

    @property
    def task_queue(self) -> str:
        """The task queue the execution started on."""
        return self.history.events[0].workflow_execution_started_event_attributes.task_queue.name

    @property
    def is_closed(self) -> bool:
        """Whether the last event closes the execution (one of ``_events.CLOSE_KINDS``)."""
        return self.view.completion is not None

    @property
    def display_name(self) -> str:
        """The file path if there is one, else the workflow id."""
        return str(self.path) if self.path is not None else self.workflow_id

    def to_workflow_history(self) -> temporalio.client.WorkflowHistory:
        """The stock SDK's view of this history, ready for ``Replayer``."""
        return temporalio.client.WorkflowHistory(self.workflow_id, list(self.history.events))


def find_history_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand files and folders (recursively, ``*.json``) into a sorted, de-duplicated list.

    A path that does not exist is a :class:`HistoryError` naming it.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*.json")):
                if child.is_file() and not any(p.startswith(".") for p in child.parts[-2:]):
                    found[child] = None
        elif path.is_file():
            found[path] = None
        else:
            raise HistoryError(path, "no such file or folder")
    return list(found)


def load_history(path: Path | str, *, workflow_id: str | None = None) -> HistoryFile:
    """Read and validate one history file.

    Args:
        path: The JSON file.
        workflow_id: Overrides the workflow id; otherwise it comes from the replaykit
            metadata, else from the file name stem.

    Raises:
        HistoryError: The file cannot be read or is not a valid history; the message names
            the file and the problem.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise HistoryError(path, f"file is {size} bytes; larger than any valid history")
        data = path.read_bytes()
    except OSError as err:
        raise HistoryError(path, f"cannot read: {err.strerror or err}") from None
    return history_from_bytes(data, path=path, workflow_id=workflow_id)


def history_from_bytes(
    data: bytes, *, path: Path | None = None, workflow_id: str | None = None
) -> HistoryFile:
    """Like :func:`load_history` for bytes already read."""
    if not data.strip():
        raise HistoryError(path, "file is empty")
    if b"\x00" in data[:65536]:
        raise HistoryError(path, "not a JSON text file (binary content)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise HistoryError(
            path, f"not UTF-8 text (byte {err.start}): binary or wrong encoding"
        ) from None
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    return _history_from_text(text, path=path, workflow_id=workflow_id, digest=digest)


def history_from_json(
    source: str | Mapping[str, Any],
    *,
    path: Path | None = None,
    workflow_id: str | None = None,
) -> HistoryFile:
    """Build a validated :class:`HistoryFile` from JSON text or an already parsed dict."""
    if isinstance(source, str):
        return _history_from_text(source, path=path, workflow_id=workflow_id, digest="")
    return _history_from_obj(dict(source), path=path, workflow_id=workflow_id, digest="")


def history_from_proto(
    history: temporalio.api.history.v1.History | temporalio.client.WorkflowHistory,
    *,
    workflow_id: str,
    meta: HistoryMeta | None = None,
    path: Path | None = None,
) -> HistoryFile:
    """A validated :class:`HistoryFile` of events fetched from a server (no JSON involved).

    Raises:
        HistoryError: The history is empty or not one the replayer can be trusted with.
    """
    if isinstance(history, temporalio.client.WorkflowHistory):
        history = temporalio.api.history.v1.History(events=history.events)
    if not history.events:
        raise HistoryError(path, "history has no events")
    _validate_events(history, path)
    return HistoryFile(path=path, workflow_id=workflow_id, history=history, meta=meta)


def _history_from_text(
    text: str, *, path: Path | None, workflow_id: str | None, digest: str
) -> HistoryFile:
    try:
        obj = json.loads(text)
    except RecursionError:
        raise HistoryError(path, "JSON nested too deeply to be a history") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        if err.pos >= len(text.rstrip()) - 1:
            raise HistoryError(path, f"truncated JSON (ends unexpectedly at {where})") from None
        raise HistoryError(path, f"not valid JSON: {err.msg} at {where}") from None
    return _history_from_obj(obj, path=path, workflow_id=workflow_id, digest=digest)


def _history_from_obj(
    obj: object, *, path: Path | None, workflow_id: str | None, digest: str
) -> HistoryFile:
    if not isinstance(obj, dict):
        raise HistoryError(path, f"top level must be a JSON object, got {_json_kind(obj)}")
    meta: HistoryMeta | None = None
    if META_KEY in obj:
        meta = HistoryMeta.from_json_dict(obj[META_KEY], path=path)
    events = obj.get("events")
    if events is None:
        keys = ", ".join(sorted(obj)[:5]) or "none"
        raise HistoryError(path, f'no "events" list (top-level keys: {keys}); not a history export')
    if not isinstance(events, list):
        raise HistoryError(path, f'"events" must be a list, got {_json_kind(events)}')
    if not events:
        raise HistoryError(path, "history has no events")
    fixed = [_normalize_event(i, ev, path) for i, ev in enumerate(events)]
    history = _parse_events(fixed, path)
    _validate_events(history, path)
    wid = workflow_id or (meta.workflow_id if meta else None) or (path.stem if path else None)
    if not wid:
        raise HistoryError(
            path, "no workflow id: pass workflow_id= or use a replaykit history file"
        )
    return HistoryFile(path=path, workflow_id=wid, history=history, meta=meta, digest=digest)


def _parse_events(
    events: list[dict[str, Any]], path: Path | None
) -> temporalio.api.history.v1.History:
    """JSON events to the proto: the fast converter, else protobuf's own parser."""
    history = temporalio.api.history.v1.History()
    try:
        fill_message(history, {"events": events})
        return history
    except (Unsupported, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        pass  # ParseDict decides, and words the error if there is one
    try:
        return google.protobuf.json_format.ParseDict(
            {"events": events}, temporalio.api.history.v1.History(), ignore_unknown_fields=True
        )
    except google.protobuf.json_format.ParseError as err:
        raise HistoryError(path, f"not a valid history: {_short(str(err))}") from None


def _json_kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _normalize_event(index: int, event: object, path: Path | None) -> dict[str, Any]:
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise HistoryError(path, f"{where} must be an object, got {_json_kind(event)}")
    event_type = event.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise HistoryError(path, f"{where} has no eventType")
    if event_type not in _EVENT_TYPE_NAMES:
        if _PASCAL.match(event_type):
            converted = "EVENT_TYPE" + _PASCAL_SPLIT.sub(r"_\1", event_type).upper()
            if converted not in _EVENT_TYPE_NAMES:
                raise HistoryError(path, f"{where} has unknown eventType {event_type!r}")
            # The SDK's own legacy conversion handles every PascalCase enum in the event.
            event = _legacy_to_proto3(event)
        elif "EVENT_TYPE_" + event_type in _EVENT_TYPE_NAMES:
            raise HistoryError(
                path,
                f"{where} has unprefixed enum name {event_type!r} (expected "
                f"'EVENT_TYPE_{event_type}'); the SDK would silently misread it as type 0",
            )
        else:
            raise HistoryError(path, f"{where} has unknown eventType {event_type!r}")
    _check_payloads(event, where, path)
    return event


def _legacy_to_proto3(event: dict[str, Any]) -> dict[str, Any]:
    # Reuse the SDK's converter for the legacy enum spellings of a single event.
    parsed = legacy_history_from_json({"events": [event]})
    converted: dict[str, Any] = google.protobuf.json_format.MessageToDict(parsed)["events"][0]
    return converted


def _trail_text(where: str, trail: tuple[str | int, ...]) -> str:
    return where + "".join(f"[{t}]" if isinstance(t, int) else f".{t}" for t in trail)


def _check_payloads(event: dict[str, Any], where: str, path: Path | None) -> None:
    """One walk over an event: reject absurd nesting and payloads that are not encoded.

    Locations are only formatted when something is wrong (this runs on every event of
    every history on a first check).
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(event, 1, ())]
    while stack:
        node, depth, trail = stack.pop()
        if depth > _MAX_DEPTH:
            raise HistoryError(path, f"JSON nested deeper than {_MAX_DEPTH} levels; not a history")
        if isinstance(node, dict):
            for key, child in node.items():
                if key == "payloads" and isinstance(child, list):
                    for i, payload in enumerate(child):
                        _check_payload(payload, path, where, (*trail, key, i))
                elif key in ("fields", "indexedFields") and isinstance(child, dict):
                    # Maps of payloads: memo and header ``fields``, search-attribute
                    # ``indexedFields``. A header is ``{"fields": {...}}`` and is walked into.
                    for name, payload in child.items():
                        _check_payload(payload, path, where, (*trail, key, name))
                elif isinstance(child, (dict, list)):
                    stack.append((child, depth + 1, (*trail, key)))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                if isinstance(child, (dict, list)):
                    stack.append((child, depth + 1, (*trail, i)))


def _check_payload(
    payload: Any, path: Path | None, where: str, trail: tuple[str | int, ...]
) -> None:
    if not _is_encoded_payload(payload):
        raise HistoryError(
            path,
            f"{_trail_text(where, trail)} is not an encoded payload (looks decoded: "
            f"{_short(json.dumps(payload, default=str), 80)}); export the history "
            "without decoding payloads (temporal workflow show --output json)",
        )


def _is_encoded_payload(payload: object) -> bool:
    if not isinstance(payload, dict) or not set(payload) <= {
        "metadata",
        "data",
        "externalPayloads",
    }:
        return False
    metadata = payload.get("metadata", {})
    if not isinstance(metadata, dict):
        return False
    values = list(metadata.values())
    if "data" in payload:
        values.append(payload["data"])
    for value in values:
        if not isinstance(value, str):
            return False
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
    return True


_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_ATTRIBUTES_FOR = {
    value: name.removeprefix("EVENT_TYPE_").lower() + "_event_attributes"
    for name, value in EventType.items()
    if name != "EVENT_TYPE_UNSPECIFIED"
}


def _validate_events(history: temporalio.api.history.v1.History, path: Path | None) -> None:
    """Reject histories the SDK core would misread or hang on (see DESIGN.md).

    The one validator every command's loading goes through (``check``, ``show``, ``diff``,
    ``replay``, ``patches``, sagas): the first event, event-id order, type/attribute agreement,
    then every reference between events and the workflow-task order (``_references``).
    """
    events = history.events
    first = events[0]
    if first.event_type != _STARTED:
        raise HistoryError(
            path,
            f"first event must be WorkflowExecutionStarted, got "
            f"{EventType.Name(first.event_type)} (event id {first.event_id})",
        )
    if not first.workflow_execution_started_event_attributes.workflow_type.name:
        raise HistoryError(path, "WorkflowExecutionStarted event has no workflow type")
    if not first.workflow_execution_started_event_attributes.task_queue.name:
        # A server always sets it; the SDK's replayer waits forever without one.
        raise HistoryError(path, "WorkflowExecutionStarted event has no task queue")
    expected = 1
    for ev in events:
        if ev.event_id != expected:
            raise HistoryError(
                path, f"event ids must run 1, 2, 3, …; found {ev.event_id} where {expected} belongs"
            )
        if ev.event_type == EventType.EVENT_TYPE_UNSPECIFIED:
            raise HistoryError(path, f"event {ev.event_id} has no event type")
        attrs = ev.WhichOneof("attributes")
        if not attrs:
            raise HistoryError(
                path, f"event {ev.event_id} ({EventType.Name(ev.event_type)}) has no attributes"
            )
        expected_attrs = _ATTRIBUTES_FOR.get(ev.event_type)
        if expected_attrs is not None and attrs != expected_attrs:
            # The SDK core panics on such an event and the replay never returns.
            raise HistoryError(
                path,
                f"event {ev.event_id} is {EventType.Name(ev.event_type)} but carries "
                f"{attrs}; the event type and its attributes disagree",
            )
        expected += 1
    # Ids run 1, 2, 3, … and attributes match types: now what the events say of each other.
    check_references(events, path)


def write_history(
    path: Path | str,
    history: temporalio.api.history.v1.History | temporalio.client.WorkflowHistory,
    *,
    meta: HistoryMeta,
    overwrite: bool = True,
) -> Path:
    """Write a history file atomically (temp file in the same folder, then rename).

    Args:
        path: Destination ``.json`` file; parent folders are created.
        history: The events, as the proto or the SDK's ``WorkflowHistory``.
        meta: replaykit's metadata, stored under :data:`META_KEY`.
        overwrite: If False and the file exists, raise :class:`HistoryError` and write nothing.
    """
    path = Path(path)
    if isinstance(history, temporalio.client.WorkflowHistory):
        proto = temporalio.api.history.v1.History(events=history.events)
    else:
        proto = history
    if not overwrite and path.exists():
        raise HistoryError(path, "already exists (pass overwrite to replace it)")
    body = google.protobuf.json_format.MessageToDict(proto)
    body[META_KEY] = meta.to_json_dict()
    text = json.dumps(body, indent=2, sort_keys=False) + "\n"
    atomic_write_text(path, text)
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` so readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress_oserror():
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _suppress_oserror:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError)


def make_meta(
    *,
    workflow_id: str,
    run_id: str | None,
    workflow_type: str | None,
    task_queue: str | None,
    namespace: str | None,
    scenario: str | None = None,
    frameworks: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> HistoryMeta:
    """Metadata stamped with the running SDK version and the current time (and, for a
    history recorded here, the AI-framework releases installed here)."""
    return HistoryMeta(
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        namespace=namespace,
        sdk_version=f"temporalio {temporalio.service.__version__}",
        recorded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        scenario=scenario,
        frameworks=dict(frameworks or {}),
        extra=dict(extra or {}),
    )
