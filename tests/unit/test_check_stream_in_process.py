"""An in-process check of a stream (a shadow worker's batch: ``jobs=0``) replays while the
stream still produces: the first verdict arrives before the stream yields its second
history, the stream is read at most ``IN_PROCESS_READ_AHEAD`` ahead, and a stream that
raises ends the check with its error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from replaykit.check import CheckOptions, HistoryResult
from replaykit.check._engine import IN_PROCESS_READ_AHEAD, check_history_stream

CORE = Path(__file__).resolve().parents[1] / "data" / "core"
HISTORIES = sorted((CORE / "histories").rglob("*.json"))


@pytest.fixture(autouse=True)
def _core_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(CORE))


def test_the_first_verdict_arrives_while_the_stream_still_produces() -> None:
    first_verdict = threading.Event()
    waited: list[bool] = []

    def source() -> Iterator[Path]:
        yield HISTORIES[0]
        # A source that waits on the check would deadlock a check that reads it all first.
        waited.append(first_verdict.wait(timeout=60))
        yield from HISTORIES[1:]

    def on_result(result: HistoryResult) -> None:
        first_verdict.set()

    report = check_history_stream(
        source(), workflows=["core_workflows"], options=CheckOptions(), jobs=0, on_result=on_result
    )
    assert waited == [True]
    assert [r.path for r in report.results] == [str(p) for p in HISTORIES]
    assert {r.status for r in report.results} == {"clean"}, [r.describe() for r in report.results]


def test_the_stream_is_read_a_bounded_way_ahead() -> None:
    read: list[int] = []
    judged: list[int] = []
    ahead: list[int] = []
    n = IN_PROCESS_READ_AHEAD * 3

    def source() -> Iterator[Path]:
        for i in range(n):
            ahead.append(len(read) - len(judged))
            read.append(i)
            yield HISTORIES[i % len(HISTORIES)]

    report = check_history_stream(
        source(),
        workflows=["core_workflows"],
        options=CheckOptions(),
        jobs=0,
        on_result=lambda r: judged.append(1),
    )
    assert len(report.results) == n and len(judged) == n
    # read but not yet judged: the queue, plus the one replaying and the one being handed over
    assert max(ahead) <= IN_PROCESS_READ_AHEAD + 2, max(ahead)


def test_a_stream_that_raises_ends_the_check_with_its_error() -> None:
    def source() -> Iterator[Path]:
        yield HISTORIES[0]
        raise RuntimeError("the cluster went away")

    with pytest.raises(RuntimeError, match="the cluster went away"):
        check_history_stream(source(), workflows=["core_workflows"], jobs=0)
