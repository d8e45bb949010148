"""The coordinator of ``shadow --on-temporal``: a workflow that lists and hands out batches.

It is an ordinary Temporal workflow (deterministic, replay-safe; ``replaykit check`` replays
its histories clean) run by ``replaykit shadow-worker`` processes, which also serve its two
activities (:mod:`replaykit.shadow._distributed`):

- ``replaykit.shadow.list``: one page of the visibility query, sampled by run id;
- ``replaykit.shadow.judge``: fetch and check one batch of executions, heartbeating per
  history; a retry (the worker died) resumes from the last heartbeat on another worker.

The coordinator keeps at most ``window`` batches in flight and at most about one listing
page of selected executions queued. Each batch's verdicts are the result of its activity, so
they live in the coordinator's own history, where the CLI reads them. Once a run's history
reaches ``events_per_run`` events (or ``bytes_per_run`` bytes, or the server suggests it), it
stops handing out, lets the batches in flight finish and continues as new with its counts,
its listing position and its queue: every run stays under a fixed size at any corpus size.

This module imports nothing but the standard library and the SDK's workflow API, so the
workflow sandbox re-imports it cheaply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

__all__ = [
    "JUDGE_ACTIVITY",
    "LIST_ACTIVITY",
    "WORKFLOW_TYPE",
    "BatchVerdicts",
    "JudgeBatch",
    "JudgeSettings",
    "ListPage",
    "ListRequest",
    "ShadowCoordinator",
    "ShadowJob",
    "ShadowProgress",
]

WORKFLOW_TYPE = "ReplaykitShadow"  # _fetch.COORDINATOR_TYPE: listings leave it out
LIST_ACTIVITY = "replaykit.shadow.list"
JUDGE_ACTIVITY = "replaykit.shadow.judge"

#: One execution as listed: ``[workflow id, run id, type, task queue, status, length]``.
Execution = list[str]


@dataclass
class JudgeSettings:
    """The verdict-deciding options every worker applies (the CLI's, so all agree).

    The code-bearing ones (workflows, plugins, data converter) are each worker's own.
    """

    strict: bool = True
    fail_on: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    volatile: list[str] = field(default_factory=list)
    sandbox: bool = True
    timeout: float = 120.0
    deployment_version: str | None = None
    include_pinned: bool = False
    budget: dict[str, int] = field(default_factory=dict)


@dataclass
class ShadowProgress:
    """Counts so far, carried from run to run (the ``progress`` query's answer)."""

    listed: int = 0
    selected: int = 0
    sampled_out: int = 0
    duplicates: int = 0
    judged: int = 0
    clean: int = 0
    divergent: int = 0
    errors: int = 0
    pinned: int = 0
    batches: int = 0
    retried_batches: int = 0
    fetched: int = 0
    reused: int = 0
    requests: int = 0
    in_flight: int = 0
    queued: int = 0
    runs: int = 1
    max_run_events: int = 0
    listing_done: bool = False
    done: bool = False
    stopped: str | None = None


@dataclass
class ShadowJob:
    """What to shadow and how; also the state a continued run takes over."""

    namespace: str
    query: str | None = None
    sample: float = 1.0
    limit: int | None = None
    #: Seconds after the shadow started (workflow time) when selection stops.
    max_duration: float | None = None
    batch_size: int = 50
    window: int = 8
    page_size: int = 1000
    events_per_run: int = 2000
    bytes_per_run: int = 4 * 1024 * 1024
    heartbeat_timeout: float = 60.0
    attempts: int = 5
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    # carried from run to run
    page_token: str = ""
    queued: list[Execution] = field(default_factory=list)
    progress: ShadowProgress = field(default_factory=ShadowProgress)
    started: float | None = None


@dataclass
class ListRequest:
    """One listing page."""

    namespace: str
    query: str | None
    page_token: str
    page_size: int
    sample: float


@dataclass
class ListPage:
    """A listing page: the sampled executions and where the next page starts."""

    executions: list[Execution]
    listed: int
    sampled_out: int
    next_page_token: str
    requests: int = 1


@dataclass
class JudgeBatch:
    """A batch of executions to fetch and check."""

    namespace: str
    executions: list[Execution]
    judge: JudgeSettings
    batch: int = 0


@dataclass
class BatchVerdicts:
    """A batch's verdicts (``HistoryResult.to_json`` each) and what it took."""

    results: list[dict[str, Any]]
    fetched: int = 0
    reused: int = 0
    requests: int = 0
    attempt: int = 1
    worker: str = ""


@workflow.defn(name=WORKFLOW_TYPE, sandboxed=True)
class ShadowCoordinator:
    """Pages through the query and hands batches to the shadow workers' task queue."""

    def __init__(self) -> None:
        self._progress = ShadowProgress()

    @workflow.query(name="progress")
    def progress(self) -> ShadowProgress:
        """The counts so far (across every run of the chain)."""
        return self._progress

    @workflow.run
    async def run(self, job: ShadowJob) -> ShadowProgress:
        p = self._progress = job.progress
        if job.started is None:
            job.started = workflow.now().timestamp()
        seen: set[str] = {e[1] for e in job.queued}
        in_flight: set[asyncio.Future[None]] = set()
        listing: asyncio.Future[ListPage] | None = None
        info = workflow.info()

        def rotate() -> bool:
            return (
                info.get_current_history_length() >= job.events_per_run
                or info.get_current_history_size() >= job.bytes_per_run
                or info.is_continue_as_new_suggested()
            )

        def past_deadline() -> bool:
            return (
                job.max_duration is not None
                and job.started is not None
                and workflow.now().timestamp() - job.started >= job.max_duration
            )

        while True:
            full = rotate()
            while not full and len(in_flight) < job.window and job.queued:
                batch, job.queued = job.queued[: job.batch_size], job.queued[job.batch_size :]
                p.batches += 1
                in_flight.add(asyncio.ensure_future(self._judge(job, batch, p.batches)))
            if not p.listing_done and past_deadline():
                p.listing_done, p.stopped = True, p.stopped or "max-duration"
            want_page = (
                listing is None
                and not full
                and not p.listing_done
                and len(job.queued) < job.batch_size * job.window
            )
            if want_page:
                listing = asyncio.ensure_future(self._list(job))
            p.in_flight, p.queued = len(in_flight), len(job.queued)
            p.max_run_events = max(p.max_run_events, info.get_current_history_length())
            if not in_flight and listing is None:
                if p.listing_done and not job.queued:
                    break
                if full:
                    p.runs += 1
                    workflow.continue_as_new(job)
            waiting: list[asyncio.Future[object]] = [*in_flight]  # type: ignore[list-item]
            if listing is not None:
                waiting.append(listing)  # type: ignore[arg-type]
            await workflow.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for task in [t for t in in_flight if t.done()]:
                in_flight.discard(task)
                task.result()
            if listing is not None and listing.done():
                page = listing.result()
                listing = None
                self._take(job, page, seen)
        p.in_flight = p.queued = 0
        p.done = True
        p.max_run_events = max(p.max_run_events, info.get_current_history_length())
        return p

    def _take(self, job: ShadowJob, page: ListPage, seen: set[str]) -> None:
        p = job.progress
        p.listed += page.listed
        p.sampled_out += page.sampled_out
        p.requests += page.requests
        job.page_token = page.next_page_token
        for execution in page.executions:
            if execution[1] in seen:
                p.duplicates += 1
                continue
            if job.limit is not None and p.selected >= job.limit:
                p.stopped = "limit"
                break
            seen.add(execution[1])
            p.selected += 1
            job.queued.append(execution)
        if not page.next_page_token or p.stopped == "limit":
            p.listing_done = True
        elif job.limit is not None and p.selected >= job.limit:
            p.listing_done, p.stopped = True, "limit"

    async def _list(self, job: ShadowJob) -> ListPage:
        page: ListPage = await workflow.execute_activity(
            LIST_ACTIVITY,
            ListRequest(job.namespace, job.query, job.page_token, job.page_size, job.sample),
            result_type=ListPage,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=job.attempts),
        )
        return page

    async def _judge(self, job: ShadowJob, batch: list[Execution], number: int) -> None:
        p = job.progress
        try:
            verdicts = await workflow.execute_activity(
                JUDGE_ACTIVITY,
                JudgeBatch(job.namespace, batch, job.judge, number),
                result_type=BatchVerdicts,
                start_to_close_timeout=timedelta(
                    seconds=max(600.0, job.judge.timeout * 2 * len(batch))
                ),
                heartbeat_timeout=timedelta(seconds=job.heartbeat_timeout),
                retry_policy=RetryPolicy(maximum_attempts=job.attempts),
            )
        except ActivityError:
            # Every attempt failed: the CLI reports each of its executions as an error
            # (it reads the failure from this history); the shadow goes on.
            p.errors += len(batch)
            p.judged += len(batch)
            return
        p.judged += len(verdicts.results)
        p.fetched += verdicts.fetched
        p.reused += verdicts.reused
        p.requests += verdicts.requests
        if verdicts.attempt > 1:
            p.retried_batches += 1
        for result in verdicts.results:
            status = result.get("status")
            if status == "clean":
                p.clean += 1
            elif status == "divergent":
                p.divergent += 1
            elif status == "pinned":
                p.pinned += 1
            else:
                p.errors += 1
