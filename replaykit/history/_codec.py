"""Histories whose payloads went through a payload codec (encryption, compression).

Production histories are often recorded with a ``PayloadCodec`` on the client and workers:
their payloads are ciphertext. Replaying them needs the same data converter (the replayer
decodes what it hands the workflow), and comparing them strictly needs the recorded payloads
decoded, because what the workflow code produces during replay is compared *before* the codec
runs (an encrypting codec is not deterministic, so encoding the current values would never
match).

This module loads the user's converter from a ``module:attr`` reference and decodes a
history's payloads with it, leaving search attributes alone (Temporal never encodes those).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import temporalio.api.common.v1
import temporalio.api.history.v1
import temporalio.converter
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from replaykit._internal._errors import ConfigError
from replaykit._internal._imports import resolve_ref

__all__ = ["decode_history", "has_codec", "load_data_converter"]

_PAYLOAD = temporalio.api.common.v1.Payload.DESCRIPTOR.full_name
_SKIP = {temporalio.api.common.v1.SearchAttributes.DESCRIPTOR.full_name}


def load_data_converter(ref: str, *, option: str = "--data-converter") -> Any:
    """The data converter ``ref`` names.

    ``ref`` is ``module:attr`` (or ``path/to/file.py:attr``) naming a ``DataConverter``, a
    ``PayloadCodec`` (used with the default payload converter), or a callable taking no
    arguments that returns either.

    Raises:
        ConfigError: The reference does not import or names something else.
    """
    value = resolve_ref(ref, option=option)
    if (
        callable(value)
        and not isinstance(
            value, (temporalio.converter.DataConverter, temporalio.converter.PayloadCodec)
        )
        and not isinstance(value, type)
    ):
        try:
            value = value()
        except Exception as err:
            raise ConfigError(
                f"{option} {ref}: calling it failed: {type(err).__name__}: {err}"
            ) from None
    if isinstance(value, temporalio.converter.PayloadCodec):
        value = dataclasses.replace(temporalio.converter.DataConverter.default, payload_codec=value)
    if not isinstance(value, temporalio.converter.DataConverter):
        raise ConfigError(
            f"{option} {ref}: expected a temporalio DataConverter or PayloadCodec (or a "
            f"function returning one), got {type(value).__name__}"
        )
    return value


def has_codec(converter: Any) -> bool:
    """Whether recorded payloads need decoding before they can be read."""
    return converter is not None and getattr(converter, "payload_codec", None) is not None


# Per message type: the fields that can (transitively) hold payloads, so a walk never
# descends into the many messages that cannot.
_PLANS: dict[Any, tuple[FieldDescriptor, ...]] = {}
_IN_PROGRESS: set[Any] = set()


def _can_hold(desc: Descriptor | Any) -> bool:
    if desc.full_name == _PAYLOAD or desc in _IN_PROGRESS:
        return True  # a type being planned (failures nest failures) is assumed to hold some
    return bool(_plan(desc))


def _plan(desc: Descriptor | Any) -> tuple[FieldDescriptor, ...]:
    plan = _PLANS.get(desc)
    if plan is not None:
        return plan
    _IN_PROGRESS.add(desc)
    try:
        fields = []
        for field in desc.fields:
            sub = field.message_type
            if sub is None or sub.full_name in _SKIP:
                continue
            if sub.GetOptions().map_entry:
                value = sub.fields_by_name["value"].message_type
                if value is not None and value.full_name not in _SKIP and _can_hold(value):
                    fields.append(field)
            elif _can_hold(sub):
                fields.append(field)
        plan = tuple(fields)
    finally:
        _IN_PROGRESS.discard(desc)
    _PLANS[desc] = plan
    return plan


def _collect(msg: Message, out: list[Message]) -> None:
    if msg.DESCRIPTOR.full_name == _PAYLOAD:
        out.append(msg)
        return
    for field in _plan(msg.DESCRIPTOR):
        value = getattr(msg, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for item in value.values():
                _collect(item, out)
        elif _is_repeated(field):
            for item in value:
                _collect(item, out)
        elif msg.HasField(field.name):
            _collect(value, out)


def _is_repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        return bool(getattr(field, "label", 0) == FieldDescriptor.LABEL_REPEATED)
    return bool(flag)


async def decode_history(
    history: temporalio.api.history.v1.History, converter: Any
) -> temporalio.api.history.v1.History:
    """A copy of ``history`` with every payload decoded by ``converter``'s codec.

    Raises:
        ValueError: The codec could not decode a payload (wrong key, other codec); the
            message names the event.
    """
    decoded = temporalio.api.history.v1.History()
    decoded.CopyFrom(history)
    codec = converter.payload_codec
    if codec is None:
        return decoded
    for event in decoded.events:
        payloads: list[Message] = []
        _collect(event, payloads)
        if not payloads:
            continue
        try:
            plain = await codec.decode(payloads)
        except Exception as err:
            raise ValueError(
                f"event {event.event_id}: the payload codec could not decode it: "
                f"{type(err).__name__}: {err}"
            ) from None
        if len(plain) != len(payloads):
            raise ValueError(
                f"event {event.event_id}: the payload codec returned {len(plain)} payloads "
                f"for {len(payloads)}"
            )
        for target, value in zip(payloads, plain, strict=True):
            if value is not target:
                target.CopyFrom(value)
    return decoded


# A payload's metadata map entry for "encoding" as protobuf writes it: key (field 1, 8 bytes),
# then the value (field 2) with a one-byte length.
_ENCODING_ENTRY = re.compile(rb"\n\x08encoding\x12([\x00-\x7f])")


def _only_known_encodings(history: temporalio.api.history.v1.History, known: set[str]) -> bool:
    """Fast answer for the common case, from the serialized bytes (~25x faster than the walk):
    True when every "encoding" in them is a well-formed entry with a known value. Anything
    else (a long value, the word inside some data, an unknown value) leaves it to the walk."""
    data = history.SerializeToString()
    entries = 0
    for match in _ENCODING_ENTRY.finditer(data):
        entries += 1
        start = match.end()
        if data[start : start + match.group(1)[0]].decode("utf-8", "replace") not in known:
            return False
    return entries == data.count(b"encoding")


def foreign_encodings(
    history: temporalio.api.history.v1.History, converter: Any = None
) -> list[str]:
    """Payload encodings in ``history`` that ``converter``'s payload converter cannot read.

    ``converter`` is a ``DataConverter`` (default: the SDK's); a payload converter that does
    not list its encodings reads anything (the answer is then empty). A non-empty answer
    usually means the history was recorded with a payload codec or a custom converter.
    """
    from ._payloads import known_encodings

    known = known_encodings(converter)
    if known is None:
        return []
    if _only_known_encodings(history, known):
        return []
    found: set[str] = set()
    for event in history.events:
        payloads: list[Message] = []
        _collect(event, payloads)
        for payload in payloads:
            encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")  # type: ignore[attr-defined]
            if encoding and encoding not in known:
                found.add(encoding)
    return sorted(found)


def decoded_history_file(hf: Any, ref: str | None) -> Any:
    """``hf`` with its payloads decoded by the converter ``ref`` names (``hf`` if none).

    Raises:
        ConfigError: ``ref`` does not name a converter.
        HistoryError: The codec cannot decode a payload (the error names the file).
    """
    if not ref:
        return hf
    converter = load_data_converter(ref)
    if not has_codec(converter):
        return hf
    from replaykit._internal._errors import HistoryError
    from replaykit._internal._sync import run_sync

    try:
        decoded = run_sync(lambda: decode_history(hf.history, converter))
    except ValueError as err:
        raise HistoryError(hf.path, str(err)) from None
    return dataclasses.replace(hf, history=decoded)
