"""The fast JSON converter gives exactly the proto protobuf's own parser gives."""

from __future__ import annotations

import json
from pathlib import Path

import google.protobuf.json_format
import pytest
import temporalio.api.history.v1

from replaykit.history._files import _parse_events
from replaykit.history._protojson import Unsupported, fill_message

ROOT = Path(__file__).resolve().parent.parent.parent
ALL = sorted(
    p
    for p in [
        *ROOT.joinpath("fixtures").rglob("*.json"),
        *ROOT.joinpath("tests", "data").rglob("*.json"),
    ]
    if "events" in p.read_text()[:200]
)


def _official(events: list[dict]) -> temporalio.api.history.v1.History:  # type: ignore[type-arg]
    return google.protobuf.json_format.ParseDict(
        {"events": events}, temporalio.api.history.v1.History(), ignore_unknown_fields=True
    )


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_proto_as_parse_dict(path: Path) -> None:
    events = json.loads(path.read_text())["events"]
    fast = temporalio.api.history.v1.History()
    fill_message(fast, {"events": events})
    assert fast == _official(events)
    assert fast.SerializeToString(deterministic=True) == _official(events).SerializeToString(
        deterministic=True
    )


def test_there_are_many_histories_to_compare() -> None:
    assert len(ALL) >= 40


def test_unsupported_constructs_fall_back_to_parse_dict() -> None:
    events = json.loads(ALL[0].read_text())["events"]
    events[0]["workflowExecutionStartedEventAttributes"]["workflowExecutionTimeout"] = 5
    with pytest.raises(Unsupported):
        fill_message(temporalio.api.history.v1.History(), {"events": events})
    # the official parser then words the problem
    from replaykit import HistoryError

    with pytest.raises(HistoryError, match="not a valid history"):
        _parse_events(events, None)


# ---------------------------------------------------------------------------------------
# Timestamps: the fast path must agree with protobuf's parser on every value it accepts,
# and hand everything else to it.

from datetime import datetime, timedelta, timezone  # noqa: E402

from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from replaykit.history._protojson import _fill_timestamp  # noqa: E402


def _both(text: str) -> tuple[object, object]:
    fast, official = Timestamp(), Timestamp()
    try:
        _fill_timestamp(fast, text)
        got: object = (fast.seconds, fast.nanos)
    except ValueError as err:
        got = ("error", type(err))
    try:
        official.FromJsonString(text)
        want: object = (official.seconds, official.nanos)
    except ValueError as err:
        want = ("error", type(err))
    return got, want


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(0, 9),
    st.integers(0, 999_999_999),
)
def test_timestamps_match_protobuf(moment: datetime, width: int, nanos: int) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) != 19:  # strftime pads years < 1000 inconsistently across platforms
        text = f"{moment.year:04d}" + text[text.index("-") :]
    if width:
        text += "." + f"{nanos:09d}"[:width]
    got, want = _both(text + "Z")
    assert got == want, text


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z",
        "2024-02-29T23:59:59.5Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-26T24:00:00Z",
        "2026-11-26T16:20:01.Z",
        "2026-11-26T16:20:01.1234567890Z",
        "2026-11-26T16:20:01+01:00",
        "2026-11-26T16:20:01.123-02:30",
        "2026-11-26 16:20:01Z",
        "0000-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.999999999Z",
        "2026-11-26T16:20:01.+1Z",
    ],
)
def test_odd_timestamps_match_protobuf(text: str) -> None:
    got, want = _both(text)
    assert got == want


def test_timestamp_presence_is_set_even_at_the_epoch() -> None:
    event = temporalio.api.history.v1.HistoryEvent()
    fill_message(event, {"eventTime": "1970-01-01T00:00:00Z"})
    assert event.HasField("event_time")
    assert datetime.fromtimestamp(0, timezone.utc) + timedelta(0) == event.event_time.ToDatetime(
        tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T16:20:01.\u0661Z",
        "2026-1\u0661-26T16:20:01Z",
        "2026- 1-26T16:20:01Z",
        "+026-11-26T16:20:01Z",
    ],
)
def test_non_ascii_and_signed_digits_match_protobuf(text: str) -> None:
    got, want = _both(text)
    assert got == want
