"""A custom binary payload converter (msgpack-like), as teams use instead of JSON.

Values are tagged binary: ``s`` + 4-byte length + UTF-8, ``i`` + 8-byte signed int, ``t``/``f``
booleans, ``n`` None, ``l``/``d`` + count + items. The SDK's default converter cannot read the
``binary/rk-packed`` encoding, so only this converter decodes what the histories hold.
"""

from __future__ import annotations

import struct
from typing import Any

import temporalio.converter
from temporalio.api.common.v1 import Payload

ENCODING = "binary/rk-packed"


def pack(value: Any) -> bytes:
    if value is None:
        return b"n"
    if value is True:
        return b"t"
    if value is False:
        return b"f"
    if isinstance(value, int):
        return b"i" + struct.pack(">q", value)
    if isinstance(value, str):
        raw = value.encode()
        return b"s" + struct.pack(">I", len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return b"l" + struct.pack(">I", len(value)) + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        return b"d" + struct.pack(">I", len(value)) + b"".join(
            pack(str(k)) + pack(v) for k, v in value.items())
    raise TypeError(f"cannot pack {type(value).__name__}")


def unpack(data: bytes, at: int = 0) -> tuple[Any, int]:
    tag = data[at:at + 1]
    at += 1
    if tag == b"n":
        return None, at
    if tag in (b"t", b"f"):
        return tag == b"t", at
    if tag == b"i":
        return struct.unpack(">q", data[at:at + 8])[0], at + 8
    (size,) = struct.unpack(">I", data[at:at + 4])
    at += 4
    if tag == b"s":
        return data[at:at + size].decode(), at + size
    if tag == b"l":
        items = []
        for _ in range(size):
            item, at = unpack(data, at)
            items.append(item)
        return items, at
    if tag == b"d":
        out = {}
        for _ in range(size):
            key, at = unpack(data, at)
            out[key], at = unpack(data, at)
        return out, at
    raise ValueError(f"bad tag {tag!r}")


class PackedEncodingConverter(temporalio.converter.EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return ENCODING

    def to_payload(self, value: Any) -> Payload | None:
        try:
            data = pack(value)
        except TypeError:
            return None
        return Payload(metadata={"encoding": ENCODING.encode()}, data=data)

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        value, end = unpack(payload.data)
        if end != len(payload.data):
            raise ValueError("trailing bytes")
        return value


class PackedPayloadConverter(temporalio.converter.CompositePayloadConverter):
    def __init__(self) -> None:
        # JSON stays for what this format does not pack (the SDK's own types).
        super().__init__(PackedEncodingConverter(), temporalio.converter.JSONPlainPayloadConverter())


CONVERTER = temporalio.converter.DataConverter(payload_converter_class=PackedPayloadConverter)
