"""An encrypting payload codec, as production teams use: every encoding differs (random nonce),
and nothing of the value is readable in the history."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zlib
from collections.abc import Sequence

import temporalio.converter
from temporalio.api.common.v1 import Payload

ENCODING = b"binary/test-encrypted"


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(key + nonce + counter.to_bytes(8, "big")).digest()
        counter += 1
    return out[:size]


class EncryptingCodec(temporalio.converter.PayloadCodec):
    def __init__(self, key: bytes = b"correct horse battery staple") -> None:
        self.key = key

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            plain = zlib.compress(p.SerializeToString())
            mac = hashlib.sha256(self.key + plain).digest()[:8]
            body = bytes(a ^ b for a, b in zip(plain, _stream(self.key, nonce, len(plain)), strict=True))
            out.append(Payload(metadata={"encoding": ENCODING}, data=nonce + mac + body))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            nonce, mac, body = p.data[:12], p.data[12:20], p.data[20:]
            plain = bytes(a ^ b for a, b in zip(body, _stream(self.key, nonce, len(body)), strict=True))
            if hashlib.sha256(self.key + plain).digest()[:8] != mac:
                raise ValueError("wrong key or corrupted payload")
            out.append(Payload.FromString(zlib.decompress(plain)))
        return out


CONVERTER = dataclasses.replace(temporalio.converter.default(), payload_codec=EncryptingCodec())
WRONG_KEY = EncryptingCodec(b"not the key")


def make_converter() -> temporalio.converter.DataConverter:
    return CONVERTER


NOT_A_CONVERTER = 42
