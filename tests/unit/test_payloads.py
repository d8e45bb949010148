"""Payloads no converter can read are compared by a full digest (issue 12 item 4)."""

from __future__ import annotations

import hashlib

import temporalio.converter
from temporalio.api.common.v1 import Payload

from replaykit.check._strict import _payloads_equal
from replaykit.history._payloads import decode_payload, known_encodings


def _opaque(data: bytes, encoding: bytes = b"binary/opaque") -> Payload:
    return Payload(metadata={"encoding": encoding}, data=data)


def test_undecodable_payloads_differ_when_any_byte_differs() -> None:
    a = _opaque(b"\x01header!" + b"amount=4200")
    b = _opaque(b"\x01header!" + b"amount=9900")  # same length, same first 8 bytes
    assert not _payloads_equal([a], [b])
    assert _payloads_equal([a], [_opaque(a.data)])
    assert not _payloads_equal([a], [_opaque(a.data, b"binary/other")])  # metadata counts
    shown = decode_payload(a)
    assert shown["<undecodable payload>"] == "binary/opaque" and shown["size"] == 19
    assert len(shown["sha256"]) == 64 and shown["sha256"] != decode_payload(b)["sha256"]
    assert shown["sha256"] != hashlib.sha256(a.data).hexdigest()  # covers metadata too


def test_a_given_converter_decodes_what_the_default_cannot() -> None:
    class Reversed(temporalio.converter.EncodingPayloadConverter):
        encoding = "binary/reversed"

        def to_payload(self, value: object) -> Payload | None:
            return Payload(
                metadata={"encoding": b"binary/reversed"}, data=str(value).encode()[::-1]
            )

        def from_payload(self, payload: Payload, type_hint: object = None) -> object:
            return payload.data[::-1].decode()

    class Conv(temporalio.converter.CompositePayloadConverter):
        def __init__(self) -> None:
            super().__init__(Reversed())

    converter = temporalio.converter.DataConverter(payload_converter_class=Conv)
    p = _opaque(b"ylfeirb rewsnA", b"binary/reversed")
    assert decode_payload(p, converter) == "Answer briefly"
    assert decode_payload(p)["<undecodable payload>"] == "binary/reversed"
    q = _opaque(b"yltrohs rewsnA", b"binary/reversed")
    assert not _payloads_equal([p], [q], converter)
    assert known_encodings(converter) == {"binary/reversed"}
    assert "json/plain" in (known_encodings() or set())
