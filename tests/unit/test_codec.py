"""Decoding a history's payloads with a codec: every payload, wherever it sits, except
search attributes (Temporal never encodes those)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest
import temporalio.converter
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History

from replaykit import ConfigError
from replaykit.history._codec import (
    decode_history,
    foreign_encodings,
    has_codec,
    load_data_converter,
)


class Rot(temporalio.converter.PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/rot"}, data=p.SerializeToString()[::-1])
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(p.data[::-1]) if p.metadata.get("encoding") == b"binary/rot" else p
            for p in payloads
        ]


CONVERTER = dataclasses.replace(temporalio.converter.default(), payload_codec=Rot())


def _enc(value: object) -> Payload:
    [plain] = temporalio.converter.default().payload_converter.to_payloads([value])
    return asyncio.run(Rot().encode([plain]))[0]


def _history() -> History:
    h = History()
    e = h.events.add(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    a = e.workflow_execution_started_event_attributes
    a.input.payloads.append(_enc("question"))
    a.memo.fields["note"].CopyFrom(_enc("memo value"))
    a.header.fields["trace"].CopyFrom(_enc("trace id"))
    a.search_attributes.indexed_fields["Owner"].CopyFrom(_enc("left alone"))
    e = h.events.add(event_id=2, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    f = e.activity_task_failed_event_attributes.failure
    f.encoded_attributes.CopyFrom(_enc({"message": "outer"}))
    f.cause.encoded_attributes.CopyFrom(_enc({"message": "inner"}))
    f.cause.application_failure_info.details.payloads.append(_enc([1, 2]))
    e = h.events.add(event_id=3, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    e.activity_task_completed_event_attributes.result.payloads.append(_enc("answer"))
    return h


def _value(p: Payload) -> object:
    return temporalio.converter.default().payload_converter.from_payloads([p])[0]


def test_every_payload_is_decoded_but_search_attributes() -> None:
    original = _history()
    h = asyncio.run(decode_history(original, CONVERTER))
    a = h.events[0].workflow_execution_started_event_attributes
    assert _value(a.input.payloads[0]) == "question"
    assert _value(a.memo.fields["note"]) == "memo value"
    assert _value(a.header.fields["trace"]) == "trace id"
    assert a.search_attributes.indexed_fields["Owner"].metadata["encoding"] == b"binary/rot"
    f = h.events[1].activity_task_failed_event_attributes.failure
    assert _value(f.encoded_attributes) == {"message": "outer"}
    assert _value(f.cause.encoded_attributes) == {"message": "inner"}
    assert _value(f.cause.application_failure_info.details.payloads[0]) == [1, 2]
    assert _value(h.events[2].activity_task_completed_event_attributes.result.payloads[0]) == (
        "answer"
    )
    # the input history is left as it was
    assert original == _history()  # Rot is deterministic: an untouched copy compares equal
    assert (
        original.events[0]
        .workflow_execution_started_event_attributes.input.payloads[0]
        .metadata["encoding"]
        == b"binary/rot"
    )


def test_foreign_encodings_name_what_the_default_converter_cannot_read() -> None:
    assert foreign_encodings(_history()) == ["binary/rot"]
    plain = asyncio.run(decode_history(_history(), CONVERTER))
    # search attributes were never encoded in real histories; here one was, on purpose
    plain.events[0].workflow_execution_started_event_attributes.search_attributes.Clear()
    assert foreign_encodings(plain) == []


def test_codec_failures_name_the_event() -> None:
    class Broken(Rot):
        async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
            raise ValueError("bad key")

    conv = dataclasses.replace(temporalio.converter.default(), payload_codec=Broken())
    with pytest.raises(
        ValueError, match="event 1: the payload codec could not decode it: ValueError: bad key"
    ):
        asyncio.run(decode_history(_history(), conv))

    class Short(Rot):
        async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
            return []

    conv = dataclasses.replace(temporalio.converter.default(), payload_codec=Short())
    with pytest.raises(ValueError, match="returned 0 payloads for 3"):
        asyncio.run(decode_history(_history(), conv))


def test_references_load_converters_codecs_and_factories() -> None:
    mod = __name__
    assert load_data_converter(f"{mod}:CONVERTER") is CONVERTER
    assert has_codec(load_data_converter(f"{mod}:_codec"))
    assert has_codec(load_data_converter(f"{mod}:_factory"))
    assert not has_codec(None) and not has_codec(temporalio.converter.default())
    with pytest.raises(ConfigError, match="expected a temporalio DataConverter"):
        load_data_converter(f"{mod}:_history")
    with pytest.raises(ConfigError, match="calling it failed: RuntimeError: nope"):
        load_data_converter(f"{mod}:_failing")
    with pytest.raises(ConfigError, match="--data-converter"):
        load_data_converter("no_such_module_here:X")


_codec = Rot()


def _factory() -> temporalio.converter.DataConverter:
    return CONVERTER


def _failing() -> None:
    raise RuntimeError("nope")
