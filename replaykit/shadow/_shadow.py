"""``replaykit shadow``: check a cluster's executions against the current code, no files needed.

A producer lists the executions a visibility query matches, selects them (a deterministic
sample by run id, a limit, a deadline, each run id once) and fetches their histories with
bounded concurrency, every request through one token bucket; the check engine's worker pool
replays them while later ones are still being fetched
(:func:`~replaykit.check._engine.check_history_stream`). Each execution is judged exactly as
``check`` judges a file: same options, same verdicts, same reports and exit codes.

A local :class:`~replaykit.shadow._store.HistoryStore` keeps what was fetched: a next shadow
fetches only executions that are new or have grown (closed histories never change).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import temporalio.client
import temporalio.service

from replaykit._internal._errors import ConfigError, HistoryError, ServerError
from replaykit._internal._sync import run_sync, sync_twin
from replaykit.check._divergence import CheckReport, HistoryResult
from replaykit.check._engine import CheckOptions, check_history_stream
from replaykit.config._settings import SHADOW_FETCH_CONCURRENCY, SHADOW_MAX_RPS
from replaykit.history._cache import HistoryCache
from replaykit.history._files import (
    HistoryFile,
    atomic_write_text,
    find_history_files,
    history_from_proto,
    load_history,
    make_meta,
)
from replaykit.record._pull import pull_file_name
from replaykit.servers import ServerSpec, start_server_async

from ._fetch import Listed, TokenBucket, describe_length, fetch_history, list_executions
from ._select import Selector, validate_selection
from ._store import HistoryStore

__all__ = [
    "ShadowOptions",
    "ShadowReport",
    "run_shadow",
    "shadow_cluster",
    "shadow_cluster_async",
    "shadow_export",
    "shadow_folder",
    "judge_executions_async",
    "write_shadow_json",
]


@dataclass(frozen=True)
class ShadowOptions:
    """Which executions a shadow judges, and how gently it fetches them.

    Attributes:
        sample: Judge only runs whose run id hashes below this rate (0 < rate <= 1): the same
            runs on every rerun, wherever it runs.
        limit: Judge at most this many executions (in listing order, after the sample).
        max_duration: Seconds after which no further execution is selected; what was
            selected is still judged.
        fetch_concurrency: Histories fetched at once.
        max_rps: Requests per second to the cluster at most (listing pages, history pages,
            describes); None for no limit.
        store: Folder of the local history store (see :class:`HistoryStore`); None keeps
            fetched histories in memory only and fetches everything.
        page_size: Executions per listing page.
    """

    sample: float = 1.0
    limit: int | None = None
    max_duration: float | None = None
    fetch_concurrency: int = SHADOW_FETCH_CONCURRENCY
    max_rps: float | None = SHADOW_MAX_RPS
    store: Path | str | None = None
    page_size: int = 1000


@dataclass(frozen=True)
class ShadowReport:
    """What a shadow judged, and what it took to get there.

    Attributes:
        check: The verdicts, one per selected execution (or history file), exactly as
            ``check`` reports them; results are named ``<workflow id>__<run id>.json`` (the
            file ``pull`` would write) for a cluster, by their path for a folder.
        source: ``temporal://<namespace>`` or the folder.
        query: The visibility query (None for a folder or every execution).
        listed: Executions (or files) seen.
        selected: Executions judged.
        sampled_out: Executions left out by the sample.
        duplicates: Executions seen again under a run id already judged.
        fetched: Histories fetched from the cluster.
        reused: Histories taken from the store, unchanged since it fetched them.
        requests: Requests made to the cluster.
        unchanged: Executions skipped because they were already judged at their current
            length (continuous shadowing: judged in an earlier interval and not grown since).
        stopped: Why selection stopped early: ``"limit"``, ``"max-duration"`` or None
            (continuous shadowing adds ``"max-count"``, ``"divergence"`` and ``"request"``).
        seconds: Wall time of the whole shadow.
        workflow_id: ``--on-temporal``: the coordinator's workflow id.
        coordinator_runs: ``--on-temporal``: runs in the coordinator's continue-as-new chain.
        coordinator_max_events: ``--on-temporal``: events of its largest run.
        coordinator_events: ``--on-temporal``: events of all its runs.
        retried_batches: ``--on-temporal``: batches judged on a later attempt (a worker died
            or failed while judging them).
    """

    check: CheckReport
    source: str
    query: str | None = None
    listed: int = 0
    selected: int = 0
    sampled_out: int = 0
    duplicates: int = 0
    fetched: int = 0
    reused: int = 0
    requests: int = 0
    unchanged: int = 0
    stopped: str | None = None
    seconds: float = 0.0
    workflow_id: str | None = None
    coordinator_runs: int = 0
    coordinator_max_events: int = 0
    coordinator_events: int = 0
    retried_batches: int = 0

    @property
    def exit_code(self) -> int:
        """``check``'s: 2 if any execution could not be checked, else 1 if any diverged, else 0."""
        return self.check.exit_code

    @property
    def histories_per_second(self) -> float:
        """Executions judged per second of wall time, fetching included."""
        return len(self.check.results) / self.seconds if self.seconds > 0 else 0.0

    def stats(self) -> dict[str, Any]:
        """The shadow's own counts, JSON-ready."""
        return {
            "source": self.source,
            "query": self.query,
            "listed": self.listed,
            "selected": self.selected,
            "sampled_out": self.sampled_out,
            "duplicates": self.duplicates,
            "fetched": self.fetched,
            "reused": self.reused,
            "requests": self.requests,
            "unchanged": self.unchanged,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
            **(
                {
                    "workflow_id": self.workflow_id,
                    "coordinator_runs": self.coordinator_runs,
                    "coordinator_max_events": self.coordinator_max_events,
                    "coordinator_events": self.coordinator_events,
                    "retried_batches": self.retried_batches,
                }
                if self.workflow_id
                else {}
            ),
        }

    def describe(self) -> str:
        """One line: what was seen, judged, fetched and reused."""
        parts = [f"shadow {self.source}: {self.listed} listed, {self.selected} selected"]
        if self.sampled_out:
            parts.append(f"{self.sampled_out} sampled out")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}")
        if not self.source.startswith("temporal://"):
            text = ", ".join(parts)
        else:
            parts.append(f"{self.fetched} fetched, {self.reused} reused from the store")
            if self.unchanged:
                parts.append(f"{self.unchanged} unchanged since judged")
            text = ", ".join(parts) + f" ({self.requests} requests)"
        if self.stopped:
            text += f"; stopped by {self.stopped}"
        if self.workflow_id:
            text += (
                f"\non Temporal: coordinator {self.workflow_id}, {self.coordinator_runs} "
                f"run{'s' if self.coordinator_runs != 1 else ''}, the largest "
                f"{self.coordinator_max_events} events"
            )
        return text

    def to_json(self) -> dict[str, Any]:
        """``check``'s JSON report with the shadow's counts under ``"shadow"``."""
        return {**self.check.to_json(), "shadow": self.stats()}


@dataclass
class _Counts:
    fetched: int = 0
    reused: int = 0
    listed: int = 0
    unchanged: int = 0
    errors: list[HistoryResult] = field(default_factory=list)


class _Channel:
    """From the producer's event loop to the check's feeder thread, bounded.

    The producer's loop must outlive the reading: it waits for :attr:`drained` (set once
    the reader has taken the end marker) before it ends.
    """

    _END = object()

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self.drained = asyncio.Event()

    async def put(self, item: HistoryFile | Path) -> None:
        await self.queue.put(item)

    async def close(self) -> None:
        await self.queue.put(self._END)

    def __iter__(self) -> Iterator[HistoryFile | Path]:
        while True:
            item = asyncio.run_coroutine_threadsafe(self.queue.get(), self.loop).result()
            if item is self._END:
                self.loop.call_soon_threadsafe(self.drained.set)
                return
            yield item


def _error(name: str, listed: Listed, message: str) -> HistoryResult:
    return HistoryResult(
        path=name,
        workflow_id=listed.workflow_id,
        workflow_type=listed.workflow_type,
        status="error",
        error=message,
    )


class _Shadow:
    """One cluster shadow's state: the selection, the rate limit, the store, the counts."""

    def __init__(
        self,
        shadow: ShadowOptions | None,
        on_result: Callable[[HistoryResult], None] | None,
    ) -> None:
        self.shadow = shadow = shadow or ShadowOptions()
        validate_selection(
            sample=shadow.sample, limit=shadow.limit, max_duration=shadow.max_duration
        )
        if shadow.fetch_concurrency < 1:
            raise ConfigError(
                f"fetch concurrency must be at least 1, got {shadow.fetch_concurrency}"
            )
        self.bucket = TokenBucket(shadow.max_rps)
        self.started = time.monotonic()
        self.selector = Selector(
            sample=shadow.sample,
            limit=shadow.limit,
            deadline=self.started + shadow.max_duration if shadow.max_duration else None,
        )
        self.store = HistoryStore(shadow.store) if shadow.store is not None else None
        self.namespace = "?"
        self.counts = _Counts()
        self.names: dict[str, str] = {}  # stored file -> the name its result carries
        self.lock = threading.Lock()
        self.on_result = on_result
        # Continuous shadowing: the last event id each run was judged at (a run judged at
        # its current length is skipped), the histories this pass may still send (None: no
        # bound), and the last event id of each history sent (kept when ``judged`` is set).
        self.judged: dict[str, int] | None = None
        self.quota: int | None = None
        self.sent: dict[str, int] = {}

    def emit(self, result: HistoryResult) -> None:
        if self.on_result is not None:
            with self.lock:  # verdicts come from the check's thread, fetch errors from another
                self.on_result(result)

    def renamed(self, result: HistoryResult) -> HistoryResult:
        # A history reused from the store was replayed from its file; name it as if fetched.
        name = self.names.get(result.path or "")
        return dataclasses.replace(result, path=name) if name is not None else result

    def on_verdict(self, result: HistoryResult) -> None:
        self.emit(self.renamed(result))

    def listing(self, client: temporalio.client.Client, query: str | None) -> AsyncIterator[Listed]:
        """The executions the query matches, through this shadow's rate limit."""
        return list_executions(client, query, self.bucket, page_size=self.shadow.page_size)

    async def produce(
        self,
        client: temporalio.client.Client,
        listing: AsyncIterator[Listed],
        channel: _Channel,
    ) -> None:
        """Select and fetch what ``listing`` yields into ``channel``; close it when done (or
        on an error)."""
        self.namespace = client.namespace
        slots = asyncio.Semaphore(self.shadow.fetch_concurrency)
        running: set[asyncio.Task[None]] = set()

        def done(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()

        try:
            async for listed in listing:
                self.counts.listed += 1
                verdict = self.selector.admit(listed.run_id)
                if verdict == "stop":
                    self.counts.listed -= 1  # seen only to learn that nothing more is wanted
                    break
                if verdict != "selected":
                    continue
                await slots.acquire()
                if self.quota is not None and self.quota <= 0:
                    slots.release()  # judged enough meanwhile: this one is not taken
                    self.selector.stopped = self.selector.stopped or "max-count"
                    self.selector.selected -= 1
                    self.counts.listed -= 1
                    break
                task = asyncio.create_task(self._one(client, listed, channel))
                running.add(task)
                task.add_done_callback(done)
            if running:
                await asyncio.gather(*running)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            raise  # the check is gone: nobody reads the channel any more
        except BaseException:
            for task in running:
                task.cancel()
            await channel.close()
            raise
        await channel.close()

    async def _one(
        self, client: temporalio.client.Client, listed: Listed, channel: _Channel
    ) -> None:
        name = pull_file_name(listed.workflow_id, listed.run_id)
        namespace, store, bucket = client.namespace, self.store, self.bucket
        try:
            stored = store.get(namespace, listed.run_id) if store is not None else None
            if stored is not None and await _unchanged(
                client, listed, stored.last_event_id, stored.closed, bucket
            ):
                if not self._send(listed.run_id, stored.last_event_id):
                    return
                self.names[str(stored.path)] = name
                self.counts.reused += 1
                await channel.put(stored.path)
                return
            history = await fetch_history(client, listed, bucket)
            meta = make_meta(
                workflow_id=listed.workflow_id,
                run_id=listed.run_id,
                workflow_type=listed.workflow_type,
                task_queue=listed.task_queue,
                namespace=namespace,
                extra={"source": "shadow", "status": listed.status},
            )
            hf = history_from_proto(
                history, workflow_id=listed.workflow_id, meta=meta, path=Path(name)
            )
            if store is not None:
                await asyncio.to_thread(
                    store.put, namespace, history, meta=meta, closed=hf.is_closed
                )
            self.counts.fetched += 1
            if not self._send(listed.run_id, history.events[-1].event_id if history.events else 0):
                return
            await channel.put(hf)
        except temporalio.service.RPCError as exc:
            self._failed(_error(name, listed, f"cannot fetch the history: {exc.message}"))
        except HistoryError as err:
            self._failed(_error(name, listed, err.reason))

    def _send(self, run_id: str, last_event_id: int) -> bool:
        """Whether to judge this history now (continuous shadowing skips a run already
        judged at this length, and sends at most :attr:`quota`); counts what it skips."""
        if self.judged is not None and self.judged.get(run_id) == last_event_id:
            self.counts.unchanged += 1
            return False
        if self.quota is not None:
            if self.quota <= 0:
                return False
            self.quota -= 1
            if self.quota == 0:
                self.selector.stopped = self.selector.stopped or "max-count"
        if self.judged is not None:
            self.sent[run_id] = last_event_id
        return True

    def _failed(self, result: HistoryResult) -> None:
        self.counts.errors.append(result)
        self.emit(result)

    def report(self, check: CheckReport, query: str | None) -> ShadowReport:
        results = [self.renamed(r) for r in check.results]
        return ShadowReport(
            check=_merged(check, results, self.counts.errors),
            source=f"temporal://{self.namespace}",
            query=query,
            listed=self.counts.listed,
            selected=self.selector.selected,
            sampled_out=self.selector.sampled_out,
            duplicates=self.selector.duplicates,
            fetched=self.counts.fetched,
            reused=self.counts.reused,
            requests=self.bucket.taken,
            unchanged=self.counts.unchanged,
            stopped=self.selector.stopped,
            seconds=time.monotonic() - self.started,
        )


async def shadow_cluster_async(
    client: temporalio.client.Client,
    *,
    workflows: Sequence[str | type],
    query: str | None = None,
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
) -> ShadowReport:
    """Check the executions a visibility query matches against the current code.

    Histories are fetched while earlier ones replay; each is judged as ``check`` judges a
    file (running executions as the partial histories they are). The replay workers start
    from a fork server (this process runs the client's runtime, which must not be forked);
    :func:`run_shadow`, which connects by itself, forks them before connecting.

    Args:
        client: A client of the cluster and namespace to shadow.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        query: Visibility list filter; None matches every execution.
        options: How to check (see :class:`~replaykit.check.CheckOptions`).
        shadow: What to select and how to fetch (see :class:`ShadowOptions`).
        jobs: Replay worker processes (default: CPU count; 0 replays in this process once
            every history is fetched).
        on_result: Called with each verdict as it arrives (from another thread).

    Returns:
        The report; an execution whose history cannot be fetched is an ``error`` result.

    Raises:
        ConfigError: The server rejected the query, or an option is out of range.
        ServerError: Listing failed (unreachable, no visibility API, no such namespace).
    """
    return await shadow_pass(
        _Shadow(shadow, on_result),
        client,
        workflows=workflows,
        query=query,
        options=options,
        jobs=jobs,
    )


async def judge_executions_async(
    client: temporalio.client.Client,
    executions: Sequence[Listed],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
) -> ShadowReport:
    """Fetch and check the given executions, as :func:`shadow_cluster_async` checks what a
    query lists (a shadow worker's batch: the coordinator already listed and selected them).

    Each run id is judged once; the store and the rate limit of ``shadow`` apply.
    """
    state = _Shadow(shadow, on_result)

    async def given() -> AsyncIterator[Listed]:
        for listed in executions:
            yield listed

    return await shadow_pass(
        state,
        client,
        workflows=workflows,
        query=None,
        options=options,
        jobs=jobs,
        listing=given(),
    )


async def shadow_pass(
    state: _Shadow,
    client: temporalio.client.Client,
    *,
    workflows: Sequence[str | type],
    query: str | None,
    options: CheckOptions | None,
    jobs: int | None,
    listing: AsyncIterator[Listed] | None = None,
) -> ShadowReport:
    """One shadow of a cluster with ``state`` (see :func:`shadow_cluster_async`): of what
    ``query`` lists, or of the executions ``listing`` yields."""
    if listing is None:
        listing = state.listing(client, query)
    channel = _Channel(asyncio.get_running_loop(), size=max(2, state.shadow.fetch_concurrency))
    checking = asyncio.ensure_future(
        asyncio.to_thread(
            check_history_stream,
            channel,
            workflows=workflows,
            options=options,
            jobs=jobs,
            # names are filled in before a history is sent, so they are there when it returns
            on_result=state.on_verdict,
        )
    )
    producer = asyncio.ensure_future(state.produce(client, listing, channel))
    try:
        done, _ = await asyncio.wait({checking, producer}, return_when=asyncio.FIRST_EXCEPTION)
        if checking in done:
            failure = checking.exception()
            if failure is not None:
                producer.cancel()
                await asyncio.wait({producer})
                raise failure
        await producer
        report = await checking
    finally:
        if not producer.done():
            producer.cancel()
        if not checking.done():
            await asyncio.wait({checking})  # the channel is closed: the pool winds down
        if state.store is not None:
            await asyncio.to_thread(state.store.save)
    return state.report(report, query)


shadow_cluster = sync_twin(
    shadow_cluster_async,
    doc="""Check the executions a visibility query matches; see :func:`shadow_cluster_async`.""",
)


async def _unchanged(
    client: temporalio.client.Client,
    listed: Listed,
    stored_last: int,
    stored_closed: bool,
    bucket: TokenBucket,
) -> bool:
    """Whether the stored history is the whole history as it is now."""
    if stored_closed:
        return True  # a closed history never changes
    if listed.history_length and listed.history_length != stored_last:
        return False  # visibility already knows it grew (or was closed)
    length, _ = await describe_length(client, listed, bucket)
    return length == stored_last


def _merged(
    report: CheckReport, results: Iterable[HistoryResult], errors: Iterable[HistoryResult]
) -> CheckReport:
    ordered = sorted([*results, *errors], key=lambda r: (r.path or "", r.workflow_id or ""))
    return dataclasses.replace(report, results=tuple(ordered))


#: What a file source yields: a loaded history, or ``(path, reason)`` for one it cannot read.
_Read = HistoryFile | tuple[Path | str | None, str]


def shadow_folder(
    paths: Iterable[Path | str],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    jobs: int | None = None,
    workflow_id: str | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
) -> ShadowReport:
    """Shadow a folder of history files: the same selection and check as a cluster's.

    Files are read while earlier ones replay; the sample, limit, deadline and run-id
    deduplication of ``shadow`` apply (a run exported twice is judged once, as first found
    in sorted path order). Fetch and store options do not apply.

    Args:
        paths: Files and folders (searched for ``*.json``).
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        options: How to check (see :class:`~replaykit.check.CheckOptions`).
        shadow: The selection (``sample``, ``limit``, ``max_duration``).
        jobs: Replay worker processes (default: CPU count).
        workflow_id: Workflow id for plain exports without metadata.
        on_result: Called with each verdict as it arrives (from another thread).

    Returns:
        The report; unreadable files are ``error`` results, as in ``check``.
    """
    options = options or CheckOptions()
    folders = [Path(p) for p in paths]

    def read() -> Iterator[_Read]:
        cache = HistoryCache(options.cache_dir) if options.cache else None
        try:
            found = find_history_files(folders)
        except HistoryError as err:
            yield (err.path, err.reason)
            return
        for path in found:
            try:
                yield (
                    cache.load(path, workflow_id=workflow_id)
                    if cache is not None
                    else load_history(path, workflow_id=workflow_id)
                )
            except HistoryError as err:
                yield (err.path, err.reason)

    return _shadow_source(
        ", ".join(str(f) for f in folders),
        read(),
        workflows=workflows,
        options=options,
        shadow=shadow,
        jobs=jobs,
        on_result=on_result,
    )


def shadow_export(
    paths: Iterable[Path | str],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ShadowReport:
    """Shadow Temporal Cloud Workflow History Export files from a folder or an object store.

    Each file is a binary ``temporal.api.export.v1.WorkflowExecutions`` (the items'
    histories) or ``ExportedExecutions`` (its ``workflows``). Export delivers at least once,
    so a run found in several files (or twice in one) is judged once. Each history's
    workflow id comes from its started event; results are named
    ``<workflow id>__<run id>.json`` as for a cluster.

    A path given as a URL (``s3://bucket/prefix``, ``gs://...``: any fsspec protocol) is
    read through fsspec (``pip install 'replaykit[s3]'``); credentials and endpoint come
    from the store's usual environment (for S3: ``AWS_*`` variables, profiles,
    ``AWS_ENDPOINT_URL``). The prefix is listed once, and its objects are read a few at a
    time (``shadow.fetch_concurrency``) while earlier ones replay.

    Args:
        paths: Export files and folders (every file below them, hidden ones aside), or URLs
            of objects and prefixes.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        options: How to check (see :class:`~replaykit.check.CheckOptions`).
        shadow: The selection (``sample``, ``limit``, ``max_duration``) and how many files
            are read at once (``fetch_concurrency``).
        jobs: Replay worker processes (default: CPU count).
        on_result: Called with each verdict as it arrives (from another thread).
        storage_options: Passed to the fsspec filesystem of every URL (for S3, e.g.
            ``{"endpoint_url": ..., "anon": True}``).

    Returns:
        The report; unreadable files and histories are ``error`` results.

    Raises:
        ConfigError: A URL needs a library that is not installed (the message names it).
    """
    from ._export import read_export_files

    sources = [p if isinstance(p, str) else Path(p) for p in paths]
    shadow = shadow or ShadowOptions()
    return _shadow_source(
        ", ".join(str(f) for f in sources),
        read_export_files(sources, storage_options=storage_options, ahead=shadow.fetch_concurrency),
        workflows=workflows,
        options=options,
        shadow=shadow,
        jobs=jobs,
        on_result=on_result,
    )


def _shadow_source(
    source: str,
    items: Iterator[_Read],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None,
    shadow: ShadowOptions | None,
    jobs: int | None,
    on_result: Callable[[HistoryResult], None] | None,
) -> ShadowReport:
    """Select and check what a file source yields, reading while earlier ones replay."""
    options = options or CheckOptions()
    shadow = shadow or ShadowOptions()
    validate_selection(sample=shadow.sample, limit=shadow.limit, max_duration=shadow.max_duration)
    started = time.monotonic()
    selector = Selector(
        sample=shadow.sample,
        limit=shadow.limit,
        deadline=started + shadow.max_duration if shadow.max_duration else None,
    )
    counts = _Counts()
    lock = threading.Lock()

    def emit(result: HistoryResult) -> None:
        if on_result is not None:
            with lock:
                on_result(result)

    def selected() -> Iterator[HistoryFile]:
        for item in items:
            counts.listed += 1
            if not isinstance(item, HistoryFile):
                path, reason = item
                result = HistoryResult(
                    path=str(path) if path is not None else None,
                    workflow_id=None,
                    workflow_type=None,
                    status="error",
                    error=reason,
                )
                counts.errors.append(result)
                emit(result)
                continue
            key = item.run_id or f"{item.workflow_id}\0{item.digest or item.display_name}"
            verdict = selector.admit(key)
            if verdict == "stop":
                counts.listed -= 1
                return
            if verdict == "selected":
                yield item

    report = check_history_stream(
        selected(), workflows=workflows, options=options, jobs=jobs, on_result=emit
    )
    return ShadowReport(
        check=_merged(report, report.results, counts.errors),
        source=source,
        listed=counts.listed,
        selected=selector.selected,
        sampled_out=selector.sampled_out,
        duplicates=selector.duplicates,
        stopped=selector.stopped,
        seconds=time.monotonic() - started,
    )


def run_shadow(
    spec: ServerSpec,
    *,
    workflows: Sequence[str | type],
    query: str | None = None,
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    jobs: int | None = None,
    on_result: Callable[[HistoryResult], None] | None = None,
    ready_timeout: float = 30,
) -> ShadowReport:
    """Reach the server a spec names (as ``pull`` does: address, namespace, Temporal's
    environment configuration for TLS, API key and profiles), shadow it, and stop what was
    started. The synchronous entry point behind ``replaykit shadow``; see
    :func:`shadow_cluster_async`.

    The check's worker processes are forked first, while this process runs no thread and no
    SDK runtime (forking is cheap and safe then); the connection and the fetching start in a
    thread of their own when the check asks for its first history.

    Raises:
        ServerError: The spec names the time-skipping test server (it has no visibility), or
            the server cannot be reached.
    """
    if spec.kind == "timeskip":
        raise ServerError(
            "the time-skipping test server has no visibility API; "
            "shadow a cluster (--server HOST:PORT) or the embedded server"
        )
    state = _Shadow(shadow, on_result)
    link = _Link()

    async def main() -> None:
        link.task = asyncio.current_task()
        try:
            async with await start_server_async(spec, ready_timeout=ready_timeout) as server:
                client = await server.client()
                channel = _Channel(
                    asyncio.get_running_loop(), size=max(2, state.shadow.fetch_concurrency)
                )
                link.channel = channel
                link.ready.set()
                try:
                    await state.produce(client, state.listing(client, query), channel)
                except asyncio.CancelledError:
                    raise
                except BaseException:
                    await channel.drained.wait()  # the reader takes what is queued, then ends
                    raise
                await channel.drained.wait()  # the reader needs this loop until the end
        finally:
            link.ready.set()

    def produce() -> None:
        try:
            run_sync(main, thread_name="replaykit-shadow-fetch")
        except BaseException as err:  # noqa: BLE001 - re-raised by the calling thread
            link.error = err

    thread = threading.Thread(target=produce, name="replaykit-shadow", daemon=True)

    def source() -> Iterator[HistoryFile | Path]:
        thread.start()
        link.ready.wait()
        if link.channel is None:
            thread.join()
            raise link.error or ServerError("the shadow's producer ended before it connected")
        yield from link.channel

    try:
        report = check_history_stream(
            source(), workflows=workflows, options=options, jobs=jobs, on_result=state.on_verdict
        )
    finally:
        if thread.is_alive() and link.task is not None and link.channel is not None:
            # The check ended early: nobody reads the channel; stop fetching.
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                link.channel.loop.call_soon_threadsafe(link.task.cancel)
        if thread.ident is not None:
            thread.join()
        if state.store is not None:
            state.store.save()
    if link.error is not None and not isinstance(link.error, asyncio.CancelledError):
        raise link.error
    return state.report(report, query)


@dataclass
class _Link:
    """Between :func:`run_shadow`'s check and its producer thread."""

    ready: threading.Event = field(default_factory=threading.Event)
    channel: _Channel | None = None
    task: asyncio.Task[Any] | None = None
    error: BaseException | None = None


def write_shadow_json(report: ShadowReport, path: Path | str) -> None:
    """``check``'s JSON report with the shadow's counts under ``"shadow"`` (atomically)."""
    atomic_write_text(Path(path), json.dumps(report.to_json(), indent=2) + "\n")
