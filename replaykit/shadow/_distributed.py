"""``shadow --on-temporal``: the shadow run by Temporal across many machines.

- :class:`ShadowActivities` are what a ``replaykit shadow-worker`` process serves: listing a
  page of the query and judging a batch (fetch while replaying, as the local shadow does,
  heartbeating per history so a retry on another worker resumes where the dead one stopped).
- :func:`run_shadow_worker_async` runs one such worker: the coordinator workflow
  (:mod:`~replaykit.shadow._coordinator`) and both activities on one task queue.
- :func:`start_shadow_async`, :func:`shadow_progress_async` and :func:`collect_shadow_async`
  start the coordinator, read its progress by query, and build the report from the batch
  results in its chain of runs (the verdicts live in its history: nothing else to store).
- :func:`run_shadow_on_temporal` is the whole job behind the CLI: reach the servers, start
  local workers if asked, start the coordinator, follow its progress, collect the report.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import temporalio.api.enums.v1
import temporalio.api.history.v1
import temporalio.client
import temporalio.converter
import temporalio.service
import temporalio.worker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from replaykit._internal._errors import ConfigError, ServerError
from replaykit._internal._sync import run_sync
from replaykit.check._divergence import CheckReport, HistoryResult
from replaykit.check._engine import CheckOptions, report_options
from replaykit.config._budgets import BudgetLimits
from replaykit.config._settings import SHADOW_TASK_QUEUE
from replaykit.record._pull import pull_file_name
from replaykit.servers import ServerSpec, start_server_async

from ._coordinator import (
    JUDGE_ACTIVITY,
    LIST_ACTIVITY,
    WORKFLOW_TYPE,
    BatchVerdicts,
    JudgeBatch,
    JudgeSettings,
    ListPage,
    ListRequest,
    ShadowCoordinator,
    ShadowJob,
    ShadowProgress,
)
from ._fetch import Listed, TokenBucket, list_page
from ._select import in_sample, validate_selection
from ._shadow import ShadowOptions, ShadowReport, judge_executions_async

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "OnTemporalOptions",
    "ShadowActivities",
    "collect_shadow_async",
    "judge_settings",
    "run_shadow_on_temporal",
    "run_shadow_worker_async",
    "serve_shadow_worker",
    "shadow_progress_async",
    "shadow_status",
    "start_shadow_async",
]

DEFAULT_TASK_QUEUE = SHADOW_TASK_QUEUE

_EventType = temporalio.api.enums.v1.EventType


# ----------------------------------------------------------------------------- options


def judge_settings(options: CheckOptions) -> JudgeSettings:
    """The verdict-deciding part of ``options``, as the coordinator hands it to workers."""
    return JudgeSettings(
        strict=options.strict,
        fail_on=sorted(options.fail_on),
        allow=list(options.allow),
        volatile=list(options.volatile),
        sandbox=options.sandbox,
        timeout=options.timeout,
        deployment_version=options.deployment_version,
        include_pinned=options.include_pinned,
        budget=dataclasses.asdict(options.budget),
    )


def _check_options(settings: JudgeSettings, base: CheckOptions) -> CheckOptions:
    """The worker's own options (plugins, converter) with the coordinator's judgement."""
    return dataclasses.replace(
        base,
        strict=settings.strict,
        fail_on=frozenset(settings.fail_on),
        allow=tuple(settings.allow),
        volatile=tuple(settings.volatile),
        sandbox=settings.sandbox,
        timeout=settings.timeout,
        deployment_version=settings.deployment_version,
        include_pinned=settings.include_pinned,
        budget=BudgetLimits(**settings.budget) if settings.budget else BudgetLimits(),
        verdict_cache=None,
    )


def _compact(result: HistoryResult) -> dict[str, Any]:
    """``result.to_json()`` without empty keys, the budget only when it flags something: a
    clean verdict is about 200 bytes of the coordinator's history."""
    data = result.to_json()
    if result.budget is None or not result.budget.flagged:
        data.pop("budget", None)
    return {k: v for k, v in data.items() if v not in (None, [], False, "")}


def _listed(execution: Sequence[str]) -> Listed:
    wid, rid, wtype, queue, status, length = execution
    return Listed(wid, rid, wtype, queue, status, int(length or 0))


def _row(listed: Listed) -> list[str]:
    return [
        listed.workflow_id,
        listed.run_id,
        listed.workflow_type,
        listed.task_queue,
        listed.status,
        str(listed.history_length),
    ]


# ----------------------------------------------------------------------------- the worker


class ShadowActivities:
    """The two activities a shadow worker serves, over its connection to the shadowed cluster.

    Args:
        client: A client of the shadowed cluster and namespace.
        workflows: The candidate code: module names, ``module:Class`` names or classes.
        options: The worker's own check options (plugins, data converter); the verdict-
            deciding ones come with each batch from the coordinator.
        shadow: Fetch settings (concurrency, requests per second, store) of this worker.
    """

    def __init__(
        self,
        client: temporalio.client.Client,
        *,
        workflows: Sequence[str | type],
        options: CheckOptions | None = None,
        shadow: ShadowOptions | None = None,
    ) -> None:
        self.client = client
        self.workflows = list(workflows)
        self.options = options or CheckOptions()
        self.shadow = shadow or ShadowOptions()
        self.bucket = TokenBucket(self.shadow.max_rps)
        self.identity = f"{os.getpid()}@{os.uname().nodename}"

    def _namespace(self, namespace: str) -> None:
        if namespace != self.client.namespace:
            raise ApplicationError(
                f"this shadow worker shadows namespace {self.client.namespace!r}, the "
                f"coordinator asks for {namespace!r}: start the workers with --namespace "
                f"{namespace}",
                non_retryable=True,
            )

    @activity.defn(name=LIST_ACTIVITY)
    async def list_page(self, request: ListRequest) -> ListPage:
        """One page of the query, sampled by run id."""
        self._namespace(request.namespace)
        taken = self.bucket.taken
        try:
            page, token = await list_page(
                self.client,
                request.query,
                self.bucket,
                token=base64.b64decode(request.page_token),
                page_size=request.page_size,
            )
        except ConfigError as err:  # the query is wrong: no retry helps
            raise ApplicationError(str(err), non_retryable=True) from None
        kept = [_row(x) for x in page if in_sample(x.run_id, request.sample)]
        return ListPage(
            executions=kept,
            listed=len(page),
            sampled_out=len(page) - len(kept),
            next_page_token=base64.b64encode(token).decode("ascii"),
            requests=self.bucket.taken - taken,
        )

    @activity.defn(name=JUDGE_ACTIVITY)
    async def judge(self, batch: JudgeBatch) -> BatchVerdicts:
        """Fetch and check a batch; resume from the last heartbeat of a dead attempt."""
        self._namespace(batch.namespace)
        info = activity.info()
        done: list[dict[str, Any]] = []
        if info.heartbeat_details:
            done = list(info.heartbeat_details[0] or [])
        judged = {str(r.get("path")) for r in done}
        todo = [
            listed
            for listed in map(_listed, batch.executions)
            if pull_file_name(listed.workflow_id, listed.run_id) not in judged
        ]
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()

        def beat() -> None:
            context.run(activity.heartbeat, list(done))

        def on_result(result: HistoryResult) -> None:
            compact = _compact(result)

            def keep() -> None:
                done.append(compact)
                beat()

            loop.call_soon_threadsafe(keep)

        async def keep_beating() -> None:
            while True:
                beat()
                await asyncio.sleep(1.0)

        beating = asyncio.ensure_future(keep_beating())
        try:
            report = await judge_executions_async(
                self.client,
                todo,
                workflows=self.workflows,
                options=_check_options(batch.judge, self.options),
                shadow=self.shadow,
                jobs=0,
                on_result=on_result,
            )
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        await asyncio.sleep(0)  # the last on_result callbacks run before the results are read
        ordered = {str(r.get("path")): r for r in done}
        for result in report.check.results:  # fetch errors are reported, not called back
            ordered.setdefault(result.path or "", _compact(result))
        return BatchVerdicts(
            results=list(ordered.values()),
            fetched=report.fetched,
            reused=report.reused,
            requests=report.requests,
            attempt=info.attempt,
            worker=self.identity,
        )


async def run_shadow_worker_async(
    client: temporalio.client.Client,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    coordinator: temporalio.client.Client | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve the shadow's task queue until ``stop`` is set (or the task is cancelled).

    One batch at a time: start one worker per core, on as many machines as you like.

    Args:
        client: A client of the shadowed cluster and namespace (fetching).
        task_queue: The task queue the coordinator hands batches to.
        workflows: The candidate code to check against.
        options: This worker's plugins and data converter (see :class:`ShadowActivities`).
        shadow: This worker's fetch settings (concurrency, requests per second, store).
        coordinator: A client of where the coordinator runs (default: ``client``).
        stop: Set it to stop after the batch in flight.
        on_ready: Called once the worker polls.
    """
    acts = ShadowActivities(client, workflows=workflows, options=options, shadow=shadow)
    worker = temporalio.worker.Worker(
        coordinator or client,
        task_queue=task_queue,
        workflows=[ShadowCoordinator],
        activities=[acts.list_page, acts.judge],
        max_concurrent_activities=1,
        identity=acts.identity,
    )
    async with worker:
        if on_ready is not None:
            on_ready()
        await (stop or asyncio.Event()).wait()


# ----------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class OnTemporalOptions:
    """How ``shadow --on-temporal`` hands out the work.

    Attributes:
        task_queue: The shadow workers' task queue.
        batch_size: Executions per batch (one activity).
        window: Batches in flight at most.
        events_per_run: The coordinator continues as new past this many events.
        heartbeat_timeout: Seconds without a heartbeat before a batch moves elsewhere.
        attempts: Attempts per batch (and per listing page) before its executions are
            reported as errors.
        workflow_id: The coordinator's workflow id (default: ``replaykit-shadow-<uuid>``).
    """

    task_queue: str = DEFAULT_TASK_QUEUE
    batch_size: int = 50
    window: int = 8
    events_per_run: int = 2000
    heartbeat_timeout: float = 60.0
    attempts: int = 5
    workflow_id: str | None = None


async def start_shadow_async(
    coordinator: temporalio.client.Client,
    *,
    namespace: str,
    query: str | None,
    options: CheckOptions,
    shadow: ShadowOptions,
    on_temporal: OnTemporalOptions,
) -> temporalio.client.WorkflowHandle[Any, Any]:
    """Start the coordinator workflow; the handle's id is what ``shadow status`` takes."""
    validate_selection(sample=shadow.sample, limit=shadow.limit, max_duration=shadow.max_duration)
    for name, value, low in (
        ("batch size", on_temporal.batch_size, 1),
        ("window", on_temporal.window, 1),
        ("events per run", on_temporal.events_per_run, 200),
        ("attempts", on_temporal.attempts, 1),
    ):
        if value < low:
            raise ConfigError(f"{name} must be at least {low}, got {value}")
    job = ShadowJob(
        namespace=namespace,
        query=query,
        sample=shadow.sample,
        limit=shadow.limit,
        max_duration=shadow.max_duration,
        batch_size=on_temporal.batch_size,
        window=on_temporal.window,
        page_size=shadow.page_size,
        events_per_run=on_temporal.events_per_run,
        heartbeat_timeout=on_temporal.heartbeat_timeout,
        attempts=on_temporal.attempts,
        judge=judge_settings(options),
    )
    workflow_id = on_temporal.workflow_id or f"replaykit-shadow-{uuid.uuid4().hex[:12]}"
    return await coordinator.start_workflow(
        WORKFLOW_TYPE,
        job,
        id=workflow_id,
        task_queue=on_temporal.task_queue,
        result_type=ShadowProgress,
    )


async def shadow_progress_async(
    coordinator: temporalio.client.Client, workflow_id: str
) -> tuple[ShadowProgress, bool]:
    """``(progress, finished)`` of a shadow (the latest run of its chain)."""
    handle = coordinator.get_workflow_handle(workflow_id, result_type=ShadowProgress)
    description = await handle.describe()
    status = description.status
    if status == temporalio.client.WorkflowExecutionStatus.RUNNING:
        try:
            progress = await handle.query(
                "progress", result_type=ShadowProgress, rpc_timeout=timedelta(seconds=5)
            )
        except (temporalio.service.RPCError, temporalio.client.WorkflowQueryFailedError):
            return ShadowProgress(), False  # no worker has taken its first task yet
        return progress, False
    if status == temporalio.client.WorkflowExecutionStatus.COMPLETED:
        return await handle.result(), True
    reason = ""
    try:
        await handle.result()
    except temporalio.client.WorkflowFailureError as err:
        cause = err.cause
        while cause.__cause__ is not None:
            cause = cause.__cause__
        reason = f": {cause}"
    raise ServerError(
        f"shadow {workflow_id} ended {status.name if status else 'in an unknown state'}"
        f"{reason}; its verdicts so far are in its history"
    )


@dataclass(frozen=True)
class _Collected:
    results: list[HistoryResult]
    runs: list[int]  # events of each run of the chain
    duplicates: int


async def collect_shadow_async(
    coordinator: temporalio.client.Client, workflow_id: str
) -> _Collected:
    """Every verdict in the coordinator's chain of runs, first run first.

    Each batch's completed activity holds its verdicts; a batch whose every attempt failed
    gives an ``error`` verdict per execution with the failure. A run id judged twice (the
    listing may return a run on two pages of different runs) is reported once.
    """
    converter = temporalio.converter.DataConverter.default
    handle = coordinator.get_workflow_handle(workflow_id)
    description = await handle.describe()
    first = description.raw_description.workflow_execution_info.first_run_id
    run_id: str | None = first or description.run_id
    results: dict[str, HistoryResult] = {}
    runs: list[int] = []
    duplicates = 0
    while run_id:
        history = await coordinator.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(len(history.events))
        scheduled: dict[int, JudgeBatch] = {}
        run_id = None
        for event in history.events:
            if event.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                sched = event.activity_task_scheduled_event_attributes
                if sched.activity_type.name == "replaykit.shadow.judge":
                    (batch,) = await converter.decode(sched.input.payloads, [JudgeBatch])
                    scheduled[event.event_id] = batch
            elif event.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed = event.activity_task_completed_event_attributes
                if completed.scheduled_event_id in scheduled:
                    (verdicts,) = await converter.decode(completed.result.payloads, [BatchVerdicts])
                    for data in verdicts.results:
                        result = HistoryResult.from_json(data)
                        if result.path in results:
                            duplicates += 1
                        results.setdefault(result.path or "", result)
            elif event.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                failed = event.activity_task_failed_event_attributes
                batch = scheduled.get(failed.scheduled_event_id)
                if batch is not None:
                    reason = f"every attempt to judge its batch failed: {failed.failure.message}"
                    for execution in batch.executions:
                        listed = _listed(execution)
                        name = pull_file_name(listed.workflow_id, listed.run_id)
                        results.setdefault(
                            name,
                            HistoryResult(
                                path=name,
                                workflow_id=listed.workflow_id,
                                workflow_type=listed.workflow_type,
                                status="error",
                                error=reason,
                            ),
                        )
            elif event.event_type == _EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                run_id = (
                    event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                )
    ordered = sorted(results.values(), key=lambda r: (r.path or "", r.workflow_id or ""))
    return _Collected(ordered, runs, duplicates)


def _report(
    collected: _Collected,
    progress: ShadowProgress,
    *,
    workflow_id: str,
    namespace: str,
    query: str | None,
    seconds: float,
    options: CheckOptions,
) -> ShadowReport:
    check = CheckReport(
        results=tuple(collected.results),
        seconds=seconds,
        options=report_options(options, 0, on_temporal=True),
    )
    return ShadowReport(
        check=check,
        source=f"temporal://{namespace}",
        query=query,
        listed=progress.listed,
        selected=progress.selected,
        sampled_out=progress.sampled_out,
        duplicates=progress.duplicates + collected.duplicates,
        fetched=progress.fetched,
        reused=progress.reused,
        requests=progress.requests,
        stopped=progress.stopped,
        seconds=seconds,
        workflow_id=workflow_id,
        coordinator_runs=len(collected.runs),
        coordinator_max_events=max(collected.runs, default=0),
        coordinator_events=sum(collected.runs),
        retried_batches=progress.retried_batches,
    )


# ----------------------------------------------------------------------------- the job


def serve_shadow_worker(
    spec: ServerSpec,
    *,
    coordinator_spec: ServerSpec | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    on_ready: Callable[[], None] | None = None,
    ready_timeout: float = 30,
) -> None:
    """Reach the shadowed cluster (and the coordinator's, when elsewhere) and serve the
    shadow's task queue until SIGINT or SIGTERM: ``replaykit shadow-worker``."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(
                await start_server_async(spec, ready_timeout=ready_timeout)
            )
            client = await server.client()
            coordinator = client
            if coordinator_spec is not None and coordinator_spec != spec:
                other = await stack.enter_async_context(
                    await start_server_async(coordinator_spec, ready_timeout=ready_timeout)
                )
                coordinator = await other.client()
            await run_shadow_worker_async(
                client,
                task_queue=task_queue,
                workflows=workflows,
                options=options,
                shadow=shadow,
                coordinator=coordinator,
                stop=stop,
                on_ready=on_ready,
            )

    run_sync(main)


@dataclass
class _LocalWorkers:
    """``--local-workers N``: shadow-worker processes on this machine, stopped at the end."""

    argv: list[str]
    count: int
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for n in range(self.count):
            with (self.log_dir / f"shadow-worker-{n}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "replaykit", "shadow-worker", *self.argv],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    def check_alive(self) -> None:
        if self.processes and all(p.poll() is not None for p in self.processes):
            tail = (self.log_dir / "shadow-worker-0.log").read_text(errors="replace")[-2000:]
            raise ServerError(
                f"every local shadow worker exited (logs in {self.log_dir}); the first said:\n"
                + tail
            )

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 10
        for p in self.processes:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_shadow_on_temporal(
    spec: ServerSpec,
    *,
    workflows: Sequence[str | type],
    query: str | None = None,
    options: CheckOptions | None = None,
    shadow: ShadowOptions | None = None,
    on_temporal: OnTemporalOptions | None = None,
    coordinator_spec: ServerSpec | None = None,
    local_workers: int = 0,
    worker_args: Sequence[str] = (),
    detach: bool = False,
    on_progress: Callable[[ShadowProgress], None] | None = None,
    on_started: Callable[[str], None] | None = None,
    log_dir: Path | None = None,
    ready_timeout: float = 30,
) -> ShadowReport | str:
    """Shadow a cluster with Temporal handing out the work: ``shadow --on-temporal``.

    Starts the coordinator workflow (on the shadowed namespace, or where
    ``coordinator_spec`` says), starts ``local_workers`` shadow workers on this machine if
    asked, follows the progress, and builds the report from the verdicts in the
    coordinator's history: the same report as the local shadow.

    Args:
        spec: The shadowed cluster (as ``pull`` reaches it).
        workflows: The candidate code (the local workers get it as ``--workflows``).
        query: Visibility query (None: every execution).
        options: The verdict-deciding options every worker applies.
        shadow: Selection (sample, limit, max duration, page size).
        on_temporal: Task queue, batch size, window, continue-as-new threshold, timeouts.
        coordinator_spec: Where the coordinator runs (default: ``spec``).
        local_workers: Shadow workers to start here (they get ``worker_args`` too).
        worker_args: Extra ``shadow-worker`` arguments (``--plugin``, ``--data-converter``).
        detach: Start the coordinator and return its workflow id at once.
        on_progress: Called with the progress about twice a second.
        on_started: Called with the coordinator's workflow id once it has started (a run
            interrupted here goes on; ``shadow status ID`` follows it).
        log_dir: Where local workers write their logs (default: a temporary folder).

    Returns:
        The report, or (``detach``) the coordinator's workflow id.

    Raises:
        ServerError: A server cannot be reached, the coordinator failed, or every local
            worker exited.
        ConfigError: An option is out of range, or no worker could ever serve the queue.
    """
    options = options or CheckOptions()
    shadow = shadow or ShadowOptions()
    on_temporal = on_temporal or OnTemporalOptions()
    where = coordinator_spec or spec
    if where.kind != "external" and local_workers < 1:
        raise ConfigError(
            "the coordinator would run on a server this command starts, which no other "
            "worker can reach: pass --local-workers N, or --coordinator-server HOST:PORT"
        )
    if detach and (spec.kind != "external" or where.kind != "external"):
        raise ConfigError("--detach needs servers that outlive this command (HOST:PORT)")
    if spec.kind == "timeskip" or where.kind == "timeskip":
        raise ServerError("the time-skipping test server has no visibility API")

    async def main() -> ShadowReport | str:
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(
                await start_server_async(spec, ready_timeout=ready_timeout)
            )
            client = await server.client()
            coordinator, coord_server = client, server
            if coordinator_spec is not None and coordinator_spec != spec:
                coord_server = await stack.enter_async_context(
                    await start_server_async(coordinator_spec, ready_timeout=ready_timeout)
                )
                coordinator = await coord_server.client()
            workers = _LocalWorkers(
                argv=[
                    "--server",
                    server.address,
                    "--namespace",
                    client.namespace,
                    "--coordinator-server",
                    coord_server.address,
                    "--coordinator-namespace",
                    coordinator.namespace,
                    "--task-queue",
                    on_temporal.task_queue,
                    *(a for w in workflows if isinstance(w, str) for a in ("--workflows", w)),
                    *worker_args,
                ],
                count=local_workers,
                log_dir=log_dir or Path(tempfile.mkdtemp(prefix="replaykit-shadow-workers-")),
            )
            stack.callback(workers.stop)
            workers.start()
            handle = await start_shadow_async(
                coordinator,
                namespace=client.namespace,
                query=query,
                options=options,
                shadow=shadow,
                on_temporal=on_temporal,
            )
            if on_started is not None:
                on_started(handle.id)
            if detach:
                return handle.id
            while True:
                progress, finished = await shadow_progress_async(coordinator, handle.id)
                if on_progress is not None:
                    on_progress(progress)
                if finished:
                    break
                workers.check_alive()
                await asyncio.sleep(0.5)
            collected = await collect_shadow_async(coordinator, handle.id)
            return _report(
                collected,
                progress,
                workflow_id=handle.id,
                namespace=client.namespace,
                query=query,
                seconds=time.monotonic() - started,
                options=options,
            )

    return run_sync(main)


def shadow_status(
    spec: ServerSpec,
    workflow_id: str,
    *,
    wait: bool = False,
    options: CheckOptions | None = None,
    on_progress: Callable[[ShadowProgress], None] | None = None,
    ready_timeout: float = 30,
) -> tuple[ShadowProgress, ShadowReport | None]:
    """A detached shadow's progress, and its report once it has finished (``shadow status``).

    Args:
        spec: Where the coordinator runs.
        workflow_id: The id ``shadow --on-temporal --detach`` printed.
        wait: Follow the progress until it finishes.
    """
    if spec.kind != "external":
        raise ConfigError("shadow status reads a coordinator on a cluster: pass --server HOST:PORT")

    async def main() -> tuple[ShadowProgress, ShadowReport | None]:
        started = time.monotonic()
        async with await start_server_async(spec, ready_timeout=ready_timeout) as server:
            coordinator = await server.client()
            while True:
                progress, finished = await shadow_progress_async(coordinator, workflow_id)
                if on_progress is not None:
                    on_progress(progress)
                if finished or not wait:
                    break
                await asyncio.sleep(0.5)
            if not finished:
                return progress, None
            collected = await collect_shadow_async(coordinator, workflow_id)
            description = await coordinator.get_workflow_handle(workflow_id).describe()
            return progress, _report(
                collected,
                progress,
                workflow_id=workflow_id,
                namespace=_job_namespace(description) or coordinator.namespace,
                query=None,
                seconds=time.monotonic() - started,
                options=options or CheckOptions(),
            )

    return run_sync(main)


def _job_namespace(description: temporalio.client.WorkflowExecutionDescription) -> str | None:
    return None
