"""Temporal Cloud's Workflow History Export files, read as histories, from a folder or an
object store.

An export file is one binary protobuf message: the legacy
``temporal.api.export.v1.WorkflowExecutions`` (``items``, each with a ``history``) or its
successor ``ExportedExecutions`` (``workflows``, same items, plus activity executions, which
have no history to replay). A history carries no workflow id beside its events; newer
servers write it into the started event, which is where it is taken from.

A source is a local file or folder, or an fsspec URL (``s3://bucket/prefix``,
``gs://...``, any protocol an installed fsspec implementation serves). An object-store
prefix is listed once (object names and sizes only); the objects themselves are read a few
at a time, ahead of the replay that consumes them, never the whole bucket first.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google.protobuf.message
import temporalio.api.export.v1

from replaykit._internal._errors import ConfigError, HistoryError
from replaykit.history._files import MAX_FILE_BYTES, HistoryFile, history_from_proto, make_meta
from replaykit.record._pull import pull_file_name

__all__ = [
    "ExportFile",
    "ExportRead",
    "export_files",
    "export_histories",
    "is_url",
    "read_export_files",
]

#: What reading yields: a history, or ``(file or URL, reason)`` for what cannot be read.
ExportRead = HistoryFile | tuple[Path | str | None, str]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: Path | str) -> bool:
    """Whether a source names an object store (``scheme://...``) rather than a local path."""
    return isinstance(source, str) and bool(_URL.match(source)) and not source.startswith("file://")


@dataclass(frozen=True)
class ExportFile:
    """One export file, local or in an object store, not yet read.

    Attributes:
        name: Its path or URL (what results and errors name).
        size: Its size in bytes, when the listing gave it.
    """

    name: str
    size: int | None
    _read: Callable[[], bytes] = field(repr=False, compare=False)

    def read(self) -> bytes:
        """The file's bytes.

        Raises:
            OSError: It cannot be read (gone, no permission, the store unreachable).
        """
        return self._read()


def export_files(
    sources: Sequence[Path | str], *, storage_options: Mapping[str, Any] | None = None
) -> Iterator[ExportFile | tuple[str, str]]:
    """Every file below each source (hidden ones aside), sorted within a source, each once;
    ``(source, reason)`` for a source that cannot be listed.

    Raises:
        ConfigError: A URL's protocol needs a library that is not installed (the message
            names the extra to install), or no fsspec implementation knows it.
    """
    seen: set[str] = set()
    for source in sources:
        listed = (
            _remote_files(str(source), storage_options or {})
            if is_url(source)
            else _local_files(Path(str(source).removeprefix("file://")))
        )
        for item in listed:
            if isinstance(item, ExportFile):
                if item.name in seen:
                    continue
                seen.add(item.name)
            yield item


def _local_files(path: Path) -> list[ExportFile | tuple[str, str]]:
    if path.is_dir():
        files = []
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path).parts
            if child.is_file() and not any(p.startswith(".") for p in rel):
                files.append(child)
    elif path.is_file():
        files = [path]
    else:
        return [(str(path), "no such file or folder")]
    return [ExportFile(str(f), None, f.read_bytes) for f in files]


def _filesystem(url: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem serving ``url``, and the path within it."""
    scheme = url.split("://", 1)[0].lower()
    extra = {"s3": "replaykit[s3]", "s3a": "replaykit[s3]", "gs": "gcsfs", "gcs": "gcsfs"}
    hint = extra.get(scheme)
    try:
        import fsspec.core
    except ImportError:
        raise ConfigError(
            f"reading {scheme}:// export files needs fsspec: "
            f"pip install '{hint or 'replaykit[s3]'}'"
            + ("" if hint else f" and the fsspec implementation of {scheme}://")
        ) from None
    try:
        # a fresh instance: the process's environment (credentials, endpoint) as it is now
        fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True, **storage_options)
    except ImportError as err:
        raise ConfigError(
            f"reading {scheme}:// export files needs "
            + (f"pip install '{hint}'" if hint else f"the fsspec implementation of {scheme}://")
            + f" ({err})"
        ) from None
    except ValueError as err:
        raise ConfigError(f"cannot read {url}: {err}") from None
    return fs, str(root)


def _remote_files(
    url: str, storage_options: Mapping[str, Any]
) -> list[ExportFile | tuple[str, str]]:
    fs, root = _filesystem(url, storage_options)
    try:
        found: dict[str, dict[str, Any]] = fs.find(root, detail=True)
    except Exception as err:  # noqa: BLE001 - any store error is this source's input error
        return [(url, f"cannot list: {_reason(err)}")]
    if not found:
        return [(url, "no export files there (no such bucket, prefix or object)")]
    files: list[ExportFile | tuple[str, str]] = []
    base = root.rstrip("/")
    for name in sorted(found):
        rel = name[len(base) :].lstrip("/") if name.startswith(base) else name
        if rel and any(p.startswith(".") for p in rel.split("/")):
            continue
        size = found[name].get("size")

        def read(name: str = name) -> bytes:
            try:
                data: bytes = fs.cat_file(name)
            except OSError:
                raise
            except Exception as err:  # noqa: BLE001 - the store's own errors, as OSError
                raise OSError(_reason(err)) from err
            return data

        files.append(ExportFile(fs.unstrip_protocol(name), size, read))
    return files


def _reason(err: BaseException) -> str:
    return str(getattr(err, "strerror", None) or err) or type(err).__name__


def read_export_files(
    sources: Sequence[Path | str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    ahead: int = 8,
) -> Iterator[ExportRead]:
    """The histories in export files: sources in order, each one's files sorted, each
    file's executions in order. Up to ``ahead`` files are read at once, ahead of what is
    consumed (a consumer that stops early leaves the rest unread).

    Raises:
        ConfigError: See :func:`export_files` (raised by this call, before any reading).
    """
    for source in sources:
        if is_url(source):
            _filesystem(str(source), storage_options or {})  # a missing library fails now
    return _read_export_files(export_files(sources, storage_options=storage_options), max(1, ahead))


def _read_export_files(
    listing: Iterable[ExportFile | tuple[str, str]], ahead: int
) -> Iterator[ExportRead]:
    for item in _read_ahead(listing, ahead):
        if isinstance(item[0], ExportFile):
            file, data = item
            assert isinstance(file, ExportFile)
            yield from export_histories(file.name, data)
        else:
            yield item


def _read_ahead(
    items: Iterable[ExportFile | tuple[str, str]], ahead: int
) -> Iterator[tuple[str, str] | tuple[ExportFile, bytes | str]]:
    """Each file with its bytes (or why they cannot be read), reading ``ahead`` at once."""
    pool = concurrent.futures.ThreadPoolExecutor(ahead, thread_name_prefix="replaykit-export")
    pending: deque[tuple[str, str] | tuple[ExportFile, concurrent.futures.Future[bytes | str]]]
    pending = deque()
    source = iter(items)
    try:
        while True:
            while len(pending) < ahead:
                item = next(source, None)
                if item is None:
                    break
                pending.append(
                    item if isinstance(item, tuple) else (item, pool.submit(_load, item))
                )
            if not pending:
                return
            head = pending.popleft()
            if isinstance(head[0], ExportFile):
                file, future = head
                assert isinstance(future, concurrent.futures.Future)
                yield (file, future.result())
            else:
                yield head
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _load(file: ExportFile) -> bytes | str:
    """The file's bytes, or why they cannot be read."""
    if file.size is not None and file.size > MAX_FILE_BYTES:
        return f"file is {file.size} bytes; larger than any export file"
    try:
        data = file.read()
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    if len(data) > MAX_FILE_BYTES:
        return f"file is {len(data)} bytes; larger than any export file"
    return data


def export_histories(name: str, data: bytes | str) -> Iterator[ExportRead]:
    """The histories of one export file's bytes; ``(name, reason)`` for what cannot be read
    (``data`` is that reason when the file itself could not be read)."""
    if isinstance(data, str):
        yield (name, data)
        return
    if not data:
        yield (name, "file is empty")
        return
    if data.lstrip()[:1] in (b"{", b"["):
        yield (name, "a JSON file, not a Cloud Export file (shadow it with --from)")
        return
    histories = []
    try:
        legacy = temporalio.api.export.v1.WorkflowExecutions.FromString(data)
        histories = [item.history for item in legacy.items]
    except google.protobuf.message.DecodeError:
        pass
    if not any(h.events for h in histories):
        try:
            current = temporalio.api.export.v1.ExportedExecutions.FromString(data)
            histories = [item.history for item in current.workflows]
        except google.protobuf.message.DecodeError:
            histories = []
    if not any(h.events for h in histories):
        yield (
            name,
            "not a Cloud Export file (no temporal.api.export.v1.WorkflowExecutions or "
            "ExportedExecutions with histories)",
        )
        return
    for index, history in enumerate(histories):
        where = f"{name} (execution {index + 1})"
        if not history.events:
            yield (where, "the export holds an execution without events")
            continue
        started = history.events[0].workflow_execution_started_event_attributes
        workflow_id = started.workflow_id
        run_id = started.original_execution_run_id
        if not workflow_id or not run_id:
            yield (
                where,
                "the started event carries no workflow id or run id (an older server "
                "wrote it); replay needs the workflow id",
            )
            continue
        meta = make_meta(
            workflow_id=workflow_id,
            run_id=run_id,
            workflow_type=started.workflow_type.name or None,
            task_queue=started.task_queue.name or None,
            namespace=None,
            extra={"source": "cloud-export", "file": name},
        )
        try:
            yield history_from_proto(
                history,
                workflow_id=workflow_id,
                meta=meta,
                path=Path(pull_file_name(workflow_id, run_id)),
            )
        except HistoryError as err:
            yield (where, err.reason)
