"""Decoding recorded payloads into plain Python values for comparison and display.

Values are decoded with a payload converter: the SDK's default one, or the one of the data
converter the histories were recorded with (a custom binary encoding, msgpack, protobuf
messages). A payload no converter here can read is represented by a full SHA-256 of its data
and metadata, so two such payloads compare equal only when they are byte for byte the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import temporalio.api.common.v1
import temporalio.converter

__all__ = ["decode_payload", "decode_payloads", "known_encodings", "payload_digest"]

_DEFAULT = temporalio.converter.default().payload_converter

#: A data converter (its payload converter is used) or a payload converter; None: the default.
Converter = Any

UNDECODABLE = "<undecodable payload>"


def _payload_converter(converter: Converter | None) -> temporalio.converter.PayloadConverter:
    if converter is None:
        return _DEFAULT
    if isinstance(converter, temporalio.converter.DataConverter):
        return converter.payload_converter
    if isinstance(converter, temporalio.converter.PayloadConverter):
        return converter
    raise TypeError(
        f"expected a temporalio DataConverter or PayloadConverter, got {type(converter).__name__}"
    )


def payload_digest(payload: temporalio.api.common.v1.Payload) -> str:
    """SHA-256 over the payload's metadata (sorted) and all of its data."""
    h = hashlib.sha256()
    for key in sorted(payload.metadata):
        value = payload.metadata[key]
        h.update(len(key).to_bytes(4, "big") + key.encode())
        h.update(len(value).to_bytes(4, "big") + value)
    h.update(b"\0data" + payload.data)
    return h.hexdigest()


def decode_payload(
    payload: temporalio.api.common.v1.Payload, converter: Converter | None = None
) -> Any:
    """Decode one payload with ``converter`` (default: the SDK's default); never raises.

    Values the converter cannot decode (encrypted, an encoding it does not know) come back as
    a placeholder naming the encoding, with the size and the full SHA-256 of the payload:
    readable in a report, and different whenever any byte differs.
    """
    pc = _payload_converter(converter)
    try:
        return pc.from_payloads([payload])[0]
    except Exception:
        encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")
        return {
            UNDECODABLE: encoding or "unknown",
            "sha256": payload_digest(payload),
            "size": len(payload.data),
        }


def decode_payloads(
    payloads: Iterable[temporalio.api.common.v1.Payload], converter: Converter | None = None
) -> list[Any]:
    """Decode a sequence of payloads (for example an activity's input)."""
    return [decode_payload(p, converter) for p in payloads]


def known_encodings(converter: Converter | None = None) -> set[str] | None:
    """The encodings ``converter``'s payload converter reads; None when it cannot tell.

    A composite payload converter (the SDK's default and most custom ones) lists its
    encodings; any other payload converter may read anything.
    """
    pc: Any = _payload_converter(converter)
    for _ in range(8):  # the SDK wraps the real one (transfer types); look inside
        inner = getattr(pc, "_inner_payload_converter", None)
        if inner is None:
            break
        pc = inner
    if isinstance(pc, temporalio.converter.CompositePayloadConverter):
        return {
            key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            for key in pc.converters
        }
    return None
