"""Decoding recorded payloads into plain Python values for comparison and display."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import temporalio.api.common.v1
import temporalio.converter

_CONVERTER = temporalio.converter.default().payload_converter


def decode_payload(payload: temporalio.api.common.v1.Payload) -> Any:
    """Decode one payload with the default converter; never raises.

    Values the default converter cannot decode (encrypted, custom codecs) come back as a
    placeholder naming the encoding, so a report can still show *something* readable.
    """
    try:
        return _CONVERTER.from_payloads([payload])[0]
    except Exception:
        encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")
        return {
            "<undecodable payload>": encoding or "unknown",
            "sha": base64.b16encode(payload.data[:8]).decode().lower(),
            "size": len(payload.data),
        }


def decode_payloads(payloads: Iterable[temporalio.api.common.v1.Payload]) -> list[Any]:
    """Decode a sequence of payloads (for example an activity's input)."""
    return [decode_payload(p) for p in payloads]
