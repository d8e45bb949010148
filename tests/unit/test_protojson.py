"""The fast JSON converter gives exactly the proto protobuf's own parser gives."""

from __future__ import annotations

import json
from pathlib import Path

import google.protobuf.json_format
import pytest
import temporalio.api.history.v1

from replaykit._history import _parse_events
from replaykit._protojson import Unsupported, fill_message

ROOT = Path(__file__).resolve().parent.parent.parent
ALL = sorted(
    p for p in [*ROOT.joinpath("fixtures").rglob("*.json"), *ROOT.joinpath("tests", "data").rglob("*.json")]
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
    assert fast.SerializeToString(deterministic=True) == _official(events).SerializeToString(deterministic=True)


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
