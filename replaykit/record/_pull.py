"""Pulling histories of a cluster's executions into history files (``replaykit pull``).

The executions a visibility query matches are listed first (so progress has a total), then their
histories are fetched with bounded concurrency and written atomically, one file per run:
``<workflow id>__<run id>.json``. A file that already exists is skipped, so an interrupted pull
resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import temporalio.client
import temporalio.service

from replaykit._internal._errors import ConfigError, ServerError
from replaykit._internal._sync import run_sync, sync_twin
from replaykit.history._files import make_meta, write_history
from replaykit.servers import ServerSpec, start_server_async

__all__ = [
    "PullItem",
    "PullProgress",
    "PullReport",
    "list_error",
    "pull_file_name",
    "pull_histories",
    "pull_histories_async",
    "run_pull",
]

PullStatus = Literal["fetched", "skipped", "failed"]

#: Called after each execution is handled: ``(item, done, total)``.
PullProgress = Callable[["PullItem", int, int], None]

# Characters kept as they are in file names; everything else is %XX-escaped, so two different
# ids never share a file name.
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=-")
_MAX_NAME = 200  # bytes; file systems allow 255


@dataclass(frozen=True)
class PullItem:
    """One execution that ``pull`` handled.

    Attributes:
        workflow_id: The execution's workflow id.
        run_id: Its run id.
        workflow_type: Its workflow type name.
        path: The history file (written now, or already there when skipped).
        status: ``"fetched"``, ``"skipped"`` (file already present) or ``"failed"``.
        events: Number of events written (0 unless fetched).
        error: Why it failed, one line.
    """

    workflow_id: str
    run_id: str
    workflow_type: str
    path: Path
    status: PullStatus
    events: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PullReport:
    """What a pull did.

    Attributes:
        out_dir: Where the files are.
        query: The visibility query used.
        items: Every matched execution, in listing order.
    """

    out_dir: Path
    query: str | None
    items: tuple[PullItem, ...]

    @property
    def fetched(self) -> list[PullItem]:
        """Executions whose history was written by this pull."""
        return [i for i in self.items if i.status == "fetched"]

    @property
    def skipped(self) -> list[PullItem]:
        """Executions whose file was already present."""
        return [i for i in self.items if i.status == "skipped"]

    @property
    def failed(self) -> list[PullItem]:
        """Executions whose history could not be fetched or written."""
        return [i for i in self.items if i.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed


def _escape(text: str) -> str:
    out = "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
    # A leading dot would hide the file from folder scans.
    return "%2E" + out[1:] if out.startswith(".") else out


_BEHAVIOR_VALUES = {"pinned": "Pinned", "auto-upgrade": "AutoUpgrade"}


def versioning_query(
    query: str | None,
    *,
    deployment_version: str | None = None,
    versioning_behavior: str | None = None,
) -> str | None:
    """``query`` narrowed to one Worker Deployment version and/or versioning behaviour.

    The server stores ``TemporalWorkerDeploymentVersion`` as ``NAME:BUILD_ID`` (dev server
    1.32) while the SDK and CLI spell versions ``NAME.BUILD_ID``: both spellings are matched.
    ``TemporalWorkflowVersioningBehavior`` is the effective behaviour (an override counts).

    Raises:
        ConfigError: A malformed version or an unknown behaviour.
    """
    clauses: list[str] = []
    if deployment_version is not None:
        from replaykit.history._versioning import parse_deployment_version

        try:
            version = parse_deployment_version(deployment_version)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        name, _, build = version.partition(".")
        forms = ", ".join(f"'{v}'" for v in (f"{name}:{build}", version))
        clauses.append(f"TemporalWorkerDeploymentVersion IN ({forms})")
    if versioning_behavior is not None:
        value = _BEHAVIOR_VALUES.get(versioning_behavior)
        if value is None:
            raise ConfigError(
                f"--versioning-behavior {versioning_behavior!r}: choose from "
                f"{', '.join(_BEHAVIOR_VALUES)}"
            )
        clauses.append(f"TemporalWorkflowVersioningBehavior = '{value}'")
    if not clauses:
        return query
    if query and query.strip():
        clauses.insert(0, f"({query})")
    return " AND ".join(clauses)


def pull_file_name(workflow_id: str, run_id: str) -> str:
    """``<workflow id>__<run id>.json`` with both ids made safe for any file system.

    Unsafe characters are %XX-escaped (so distinct ids give distinct names); very long ids are
    shortened and suffixed with a hash of the full name.
    """
    stem = f"{_escape(workflow_id)}__{_escape(run_id)}"
    if len(stem.encode()) + len(".json") > _MAX_NAME:
        digest = hashlib.sha256(f"{workflow_id}\0{run_id}".encode()).hexdigest()[:16]
        stem = f"{stem[: _MAX_NAME - len(digest) - 8]}~{digest}"
    return f"{stem}.json"


async def pull_histories_async(
    client: temporalio.client.Client,
    *,
    query: str | None,
    out_dir: Path | str,
    limit: int | None = None,
    concurrency: int = 8,
    progress: PullProgress | None = None,
) -> PullReport:
    """Fetch the histories of the executions a visibility query matches into ``out_dir``.

    Files already present are skipped (resumable); each new file is written atomically with
    replaykit metadata (workflow id, run id, type, task queue, namespace, status).

    Args:
        client: A client of the cluster (and namespace) to pull from.
        query: Visibility list filter, e.g. ``"WorkflowType='Agent' AND
            ExecutionStatus='Completed'"``; ``None`` matches every execution.
        out_dir: Folder for the history files; created when missing.
        limit: Pull at most this many executions.
        concurrency: Histories fetched at once.
        progress: Called after each execution as ``progress(item, done, total)``.

    Returns:
        The report; a failed fetch does not stop the others.

    Raises:
        ConfigError: The server rejected the query, or an option is out of range.
        ServerError: Listing failed (server unreachable, no visibility API, ...).
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    out = Path(out_dir)
    executions = await _list(client, query, limit)
    out.mkdir(parents=True, exist_ok=True)

    total = len(executions)
    results: list[PullItem | None] = [None] * total
    done = 0
    semaphore = asyncio.Semaphore(concurrency)

    async def handle(index: int, execution: temporalio.client.WorkflowExecution) -> None:
        nonlocal done
        async with semaphore:
            item = await _pull_one(client, execution, out, query)
        results[index] = item
        done += 1
        if progress is not None:
            progress(item, done, total)

    await asyncio.gather(*(handle(i, e) for i, e in enumerate(executions)))
    return PullReport(out_dir=out, query=query, items=tuple(r for r in results if r is not None))


async def _list(
    client: temporalio.client.Client, query: str | None, limit: int | None
) -> list[temporalio.client.WorkflowExecution]:
    try:
        return [e async for e in client.list_workflows(query or None, limit=limit)]
    except temporalio.service.RPCError as exc:
        raise list_error(exc, query=query, namespace=client.namespace) from None


def list_error(
    exc: temporalio.service.RPCError, *, query: str | None, namespace: str
) -> ConfigError | ServerError:
    """The error to raise for a failed listing (``pull`` and ``shadow`` say the same)."""
    code = temporalio.service.RPCStatusCode
    if exc.status == code.INVALID_ARGUMENT:
        return ConfigError(f"invalid visibility query {query!r}: {exc.message}")
    if exc.status == code.UNIMPLEMENTED:
        return ServerError(
            "this server has no visibility API (the time-skipping test server has none); "
            "list from the embedded server or a cluster"
        )
    if exc.status == code.NOT_FOUND:
        return ServerError(f"namespace {namespace!r}: {exc.message}")
    return ServerError(f"cannot list executions: {exc.message}")


async def _pull_one(
    client: temporalio.client.Client,
    execution: temporalio.client.WorkflowExecution,
    out: Path,
    query: str | None,
) -> PullItem:
    path = out / pull_file_name(execution.id, execution.run_id)
    base = PullItem(
        workflow_id=execution.id,
        run_id=execution.run_id,
        workflow_type=execution.workflow_type,
        path=path,
        status="skipped",
    )
    if path.exists():
        return base
    try:
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        if not history.events:
            raise ServerError("the server returned an empty history")
        status = execution.status.name if execution.status is not None else None
        meta = make_meta(
            workflow_id=execution.id,
            run_id=execution.run_id,
            workflow_type=execution.workflow_type,
            task_queue=execution.task_queue,
            namespace=client.namespace,
            extra={"source": "pull", "status": status, "query": query},
        )
        # Serialising a long history is CPU work; keep the other fetches flowing meanwhile.
        await asyncio.to_thread(write_history, path, history, meta=meta)
    except Exception as exc:  # one execution's failure must not stop the pull
        message = exc.message if isinstance(exc, temporalio.service.RPCError) else str(exc)
        return dataclasses.replace(base, status="failed", error=f"{type(exc).__name__}: {message}")
    return dataclasses.replace(base, status="fetched", events=len(history.events))


def run_pull(
    spec: ServerSpec,
    *,
    query: str | None,
    out_dir: Path | str,
    limit: int | None = None,
    concurrency: int = 8,
    progress: PullProgress | None = None,
    ready_timeout: float = 30,
) -> PullReport:
    """Reach (or start) the server a spec names, pull, and stop what was started.

    The synchronous entry point behind ``replaykit pull``; see :func:`pull_histories_async`.
    """
    if spec.kind == "timeskip":
        raise ServerError(
            "the time-skipping test server has no visibility API; "
            "pull from a cluster (--server HOST:PORT) or the embedded server"
        )

    async def main() -> PullReport:
        async with await start_server_async(spec, ready_timeout=ready_timeout) as server:
            client = await server.client()
            return await pull_histories_async(
                client,
                query=query,
                out_dir=out_dir,
                limit=limit,
                concurrency=concurrency,
                progress=progress,
            )

    return run_sync(main)


pull_histories = sync_twin(
    pull_histories_async,
    doc=":func:`pull_histories_async` from sync code (via ``run_sync``).",
)
