"""Continuous shadowing: keep judging the executions that start or grow, one pass per interval.

Each interval is one cluster shadow (:func:`~replaykit.shadow._shadow.shadow_pass`: the same
listing, selection, rate limit, store and check) with two differences:

- after the first interval, the listing asks only for what can have changed: executions
  running, or closed since the previous interval began (less a margin for visibility's lag);
- a run already judged at its current last event id is skipped without being replayed
  (with the store, a closed one costs no request; a running one a describe), so an interval
  judges only runs that are new or have grown.

It ends when asked (:class:`threading.Event` ``stop``: the CLI sets it on SIGINT/SIGTERM)
or when an exit condition holds: ``max_count`` judgments, the selection's ``max_duration``
(counted from the start of the whole run), or, with ``stop_on_divergence``, the first
divergence. A stop or a condition met mid-interval stops selecting; what was selected is
still judged, so every interval's report is whole.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import temporalio.client

from replaykit._internal._errors import ConfigError, ServerError
from replaykit._internal._sync import run_sync, sync_twin
from replaykit.check._divergence import CheckReport, HistoryResult
from replaykit.check._engine import CheckOptions
from replaykit.servers import ServerSpec, start_server_async

from ._select import validate_selection
from ._shadow import ShadowOptions, ShadowReport, _Shadow, shadow_pass

__all__ = [
    "ContinuousOptions",
    "ContinuousReport",
    "ShadowInterval",
    "run_shadow_continuous",
    "shadow_continuous",
    "shadow_continuous_async",
    "write_interval_json",
]

#: How far before the previous interval's start the next listing reaches for executions
#: closed meanwhile: visibility may list an execution as running for a moment after it
#: closed. A run listed again is skipped when its length has not changed.
VISIBILITY_SLACK = 300.0

_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


@dataclass(frozen=True)
class ContinuousOptions:
    """How continuous shadowing paces itself and when it ends.

    Attributes:
        interval: Seconds from the start of one interval to the start of the next (an
            interval that takes longer is followed at once by the next).
        max_count: End once this many judgments were made (a run judged again after it grew
            counts again); None for no bound. The last interval selects no more than what
            is left.
        stop_on_divergence: End after the interval in which the first divergence was found
            (selection stops at once; what was selected is still judged).
    """

    interval: float = 60.0
    max_count: int | None = None
    stop_on_divergence: bool = False


@dataclass(frozen=True)
class ShadowInterval:
    """One interval of a continuous shadow.

    Attributes:
        number: 1 for the first interval.
        started_at: When it began (UTC).
        report: What it judged: runs new since the previous interval or grown since judged.
        new: Runs judged for the first time.
        grown: Runs judged again because they grew.
        judged_total: Judgments made so far, this interval's included.
    """

    number: int
    started_at: datetime.datetime
    report: ShadowReport
    new: int
    grown: int
    judged_total: int

    def describe(self) -> str:
        """One line: what this interval judged and what it found."""
        check = self.report.check
        n = len(check.results)
        errors = len(check.errors)
        text = (
            f"interval {self.number} at {self.started_at:%H:%M:%S}Z: {n} judged "
            f"({self.new} new, {self.grown} grown), {len(check.divergent)} diverged, "
            f"{errors} error{'s' if errors != 1 else ''}; {self.report.unchanged} unchanged, "
            f"{self.report.fetched} fetched, {self.report.reused} reused "
            f"({self.report.requests} requests); {self.judged_total} judged in all"
        )
        if self.report.stopped:
            text += f"; stopped by {self.report.stopped}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The interval's shadow report (``check``'s JSON plus ``"shadow"``) with its place."""
        body = self.report.to_json()
        body["interval"] = {
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "new": self.new,
            "grown": self.grown,
            "judged_total": self.judged_total,
        }
        return body


@dataclass(frozen=True)
class ContinuousReport:
    """Everything a continuous shadow judged.

    Attributes:
        check: Every judgment of every interval, as ``check`` reports verdicts (a run judged
            again after it grew appears once per judgment).
        source: ``temporal://<namespace>``.
        query: The visibility query.
        intervals: Intervals run.
        stopped: What ended it: ``"max-count"``, ``"max-duration"``, ``"divergence"`` or
            ``"request"`` (asked to stop: SIGINT/SIGTERM from the CLI).
        fetched: Histories fetched, over all intervals.
        reused: Histories taken from the store unchanged, over all intervals.
        unchanged: Runs skipped as already judged at their length, over all intervals.
        requests: Requests made to the cluster, over all intervals.
        seconds: Wall time of the whole run.
    """

    check: CheckReport
    source: str
    query: str | None
    intervals: int
    stopped: str
    fetched: int = 0
    reused: int = 0
    unchanged: int = 0
    requests: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """``check``'s over every judgment: 2 if any could not be checked, else 1 if any
        diverged, else 0."""
        return self.check.exit_code

    def stats(self) -> dict[str, Any]:
        """The run's own counts, JSON-ready."""
        return {
            "source": self.source,
            "query": self.query,
            "continuous": True,
            "intervals": self.intervals,
            "runs": len({(r.path, r.workflow_id) for r in self.check.results}),
            "fetched": self.fetched,
            "reused": self.reused,
            "unchanged": self.unchanged,
            "requests": self.requests,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
        }

    def describe(self) -> str:
        """One line: intervals, judgments and why it ended."""
        n = len(self.check.results)
        runs = self.stats()["runs"]
        return (
            f"continuous shadow {self.source}: {self.intervals} interval"
            f"{'s' if self.intervals != 1 else ''}, {n} judgment{'s' if n != 1 else ''} of "
            f"{runs} run{'s' if runs != 1 else ''}, {self.fetched} fetched, {self.reused} "
            f"reused ({self.requests} requests); stopped by {self.stopped}"
        )

    def to_json(self) -> dict[str, Any]:
        """``check``'s JSON report of every judgment, the run's counts under ``"shadow"``."""
        return {**self.check.to_json(), "shadow": self.stats()}


def changed_since(query: str | None, since: datetime.datetime) -> str | None:
    """``query`` narrowed to executions running or closed at or after ``since``: the only
    ones that can be new or have grown since then. A query with an ``ORDER BY`` is kept as
    it is (visibility takes no condition after one)."""
    if query and _ORDER_BY.search(query):
        return query
    stamp = since.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changed = f"(ExecutionStatus = 'Running' OR CloseTime >= '{stamp}')"
    return f"({query}) AND {changed}" if query else changed


def _validate(continuous: ContinuousOptions, shadow: ShadowOptions) -> None:
    if continuous.interval <= 0:
        raise ConfigError(f"interval must be positive, got {continuous.interval!r} s")
    if continuous.max_count is not None and continuous.max_count < 1:
        raise ConfigError(f"max count must be at least 1, got {continuous.max_count}")
    if shadow.limit is not None:
        raise ConfigError(
            "a limit bounds one shadow; a continuous shadow ends after a count of judgments "
            "(--max-count)"
        )
    validate_selection(sample=shadow.sample, limit=None, max_duration=shadow.max_duration)


async def shadow_continuous_async(
    client: temporalio.client.Client,
    *,
    workflows: Sequence[str | type],
    query: str | None = None,
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    continuous: ContinuousOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
    on_interval: Callable[[ShadowInterval], None] | None = None,
    stop: threading.Event | None = None,
) -> ContinuousReport:
    """Keep shadowing the executions a visibility query matches as they start and grow.

    One shadow per interval (see :func:`~replaykit.shadow.shadow_cluster_async`), each
    judging only runs that are new or have grown since they were judged; a report per
    interval through ``on_interval``. Runs until ``stop`` is set or an exit condition of
    ``continuous`` (or ``shadow.max_duration``, counted from the start) holds.

    Args:
        client: A client of the cluster and namespace to shadow.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        query: Visibility list filter; None matches every execution.
        options: How to check (see :class:`~replaykit.check.CheckOptions`).
        shadow: Selection and fetching (``limit`` does not apply: see ``max_count``).
        continuous: The interval and the exit conditions.
        jobs: Replay worker processes per interval (default: CPU count).
        on_result: Called with each verdict as it arrives (from another thread).
        on_interval: Called with each interval's report when the interval ends.
        stop: Set it (from any thread or a signal handler) to end after the current
            interval's selected executions are judged.

    Returns:
        Every judgment, with why the run ended.

    Raises:
        ConfigError: An option is out of range, or the server rejected the query.
        ServerError: Listing failed (unreachable, no visibility API, no such namespace).
    """
    continuous = continuous or ContinuousOptions()
    shadow = shadow or ShadowOptions()
    _validate(continuous, shadow)
    stop = stop or threading.Event()
    started = time.monotonic()
    deadline = started + shadow.max_duration if shadow.max_duration else None
    judged: dict[str, int] = {}
    results: list[HistoryResult] = []
    totals = {"fetched": 0, "reused": 0, "unchanged": 0, "requests": 0}
    since: datetime.datetime | None = None
    source, options_seen, number, stopped = f"temporal://{client.namespace}", {}, 0, None
    while stopped is None:
        number += 1
        began = datetime.datetime.now(datetime.timezone.utc)
        interval_start = time.monotonic()
        left = max(deadline - interval_start, 1e-6) if deadline is not None else None
        state = _Shadow(dataclasses.replace(shadow, max_duration=left), None)
        state.judged = judged
        if continuous.max_count is not None:
            state.quota = continuous.max_count - len(results)
        state.on_result = _watching(state, continuous, on_result)
        watcher = asyncio.create_task(_watch(stop, state))
        try:
            report = await shadow_pass(
                state,
                client,
                workflows=workflows,
                query=query if since is None else changed_since(query, since),
                options=options,
                jobs=jobs,
            )
        finally:
            watcher.cancel()
        report = dataclasses.replace(report, query=query)
        grown = sum(1 for run_id in state.sent if run_id in judged)
        judged.update(state.sent)
        results.extend(report.check.results)
        options_seen = report.check.options
        for key in totals:
            totals[key] += getattr(report, key)
        if on_interval is not None:
            on_interval(
                ShadowInterval(
                    number=number,
                    started_at=began,
                    report=report,
                    new=len(state.sent) - grown,
                    grown=grown,
                    judged_total=len(results),
                )
            )
        since = began - datetime.timedelta(seconds=VISIBILITY_SLACK)
        stopped = _ended(stop, continuous, report, len(results), deadline)
        if stopped is None:
            wake = interval_start + continuous.interval
            await _sleep_until(wake if deadline is None else min(wake, deadline), stop)
            stopped = _ended(stop, continuous, None, len(results), deadline)
    return ContinuousReport(
        check=CheckReport(
            results=tuple(results), seconds=time.monotonic() - started, options=options_seen
        ),
        source=source,
        query=query,
        intervals=number,
        stopped=stopped,
        seconds=time.monotonic() - started,
        **totals,
    )


shadow_continuous = sync_twin(
    shadow_continuous_async,
    doc="""Keep shadowing executions as they start and grow; see
:func:`shadow_continuous_async`.""",
)


def _ended(
    stop: threading.Event,
    continuous: ContinuousOptions,
    report: ShadowReport | None,
    judgments: int,
    deadline: float | None,
) -> str | None:
    """Which exit condition holds, if any (a stop request first)."""
    if stop.is_set():
        return "request"
    if continuous.stop_on_divergence and report is not None and report.check.divergent:
        return "divergence"
    if continuous.max_count is not None and judgments >= continuous.max_count:
        return "max-count"
    if deadline is not None and time.monotonic() >= deadline:
        return "max-duration"
    return None


def _watching(
    state: _Shadow,
    continuous: ContinuousOptions,
    on_result: Callable[[HistoryResult], None] | None,
) -> Callable[[HistoryResult], None]:
    """The pass's verdict callback: stop selecting at the first divergence when asked."""

    def seen(result: HistoryResult) -> None:
        if continuous.stop_on_divergence and result.status == "divergent":
            state.selector.stopped = state.selector.stopped or "divergence"
        if on_result is not None:
            on_result(result)

    return seen


async def _watch(stop: threading.Event, state: _Shadow) -> None:
    """Stop the pass's selection once ``stop`` is set (polled: it may be set by a signal)."""
    while not stop.is_set():
        await asyncio.sleep(0.2)
    state.selector.stopped = state.selector.stopped or "request"


async def _sleep_until(when: float, stop: threading.Event) -> None:
    while not stop.is_set():
        left = when - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(0.2, left))


def run_shadow_continuous(
    spec: ServerSpec,
    *,
    workflows: Sequence[str | type],
    query: str | None = None,
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    continuous: ContinuousOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
    on_interval: Callable[[ShadowInterval], None] | None = None,
    stop: threading.Event | None = None,
    ready_timeout: float = 30,
) -> ContinuousReport:
    """Reach the server a spec names (as ``pull`` does) and shadow it continuously: the
    entry point behind ``replaykit shadow --continuous``; see
    :func:`shadow_continuous_async`.

    Raises:
        ServerError: The spec names the time-skipping test server (it has no visibility), or
            the server cannot be reached.
    """
    if spec.kind == "timeskip":
        raise ServerError(
            "the time-skipping test server has no visibility API; "
            "shadow a cluster (--server HOST:PORT) or the embedded server"
        )
    continuous = continuous or ContinuousOptions()
    _validate(continuous, shadow or ShadowOptions())  # before a server starts

    async def main() -> ContinuousReport:
        async with await start_server_async(spec, ready_timeout=ready_timeout) as server:
            client = await server.client()
            return await shadow_continuous_async(
                client,
                workflows=workflows,
                query=query,
                options=options,
                shadow=shadow,
                continuous=continuous,
                jobs=jobs,
                on_result=on_result,
                on_interval=on_interval,
                stop=stop,
            )

    return run_sync(main, thread_name="replaykit-shadow-continuous")


def write_interval_json(out: IO[str] | Path | str, record: dict[str, Any]) -> None:
    """Append one JSON line to a JSON Lines report (a file path, or an open text file),
    flushed at once so a reader sees each interval as it ends."""
    line = json.dumps(record, sort_keys=False) + "\n"
    if isinstance(out, (str, Path)):
        with open(out, "a", encoding="utf-8") as f:
            f.write(line)
    else:
        out.write(line)
        out.flush()
