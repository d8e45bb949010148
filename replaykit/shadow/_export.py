"""Temporal Cloud's Workflow History Export files, read as histories.

An export file is one binary protobuf message: the legacy
``temporal.api.export.v1.WorkflowExecutions`` (``items``, each with a ``history``) or its
successor ``ExportedExecutions`` (``workflows``, same items, plus activity executions, which
have no history to replay). A history carries no workflow id beside its events; newer
servers write it into the started event, which is where it is taken from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import google.protobuf.message
import temporalio.api.export.v1

from replaykit._internal._errors import HistoryError
from replaykit.history._files import MAX_FILE_BYTES, HistoryFile, history_from_proto, make_meta
from replaykit.record._pull import pull_file_name

__all__ = ["export_files", "export_histories"]


def export_files(paths: Sequence[Path]) -> list[Path]:
    """Every file below ``paths`` (hidden ones aside), sorted, each once.

    Raises:
        HistoryError: A path does not exist.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in rel):
                    found[child] = None
        elif path.is_file():
            found[path] = None
        else:
            raise HistoryError(path, "no such file or folder")
    return list(found)


def export_histories(path: Path) -> Iterator[HistoryFile | tuple[Path | None, str]]:
    """The histories of one export file; ``(path, reason)`` for what cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield (path, f"file is {size} bytes; larger than any export file")
            return
        data = path.read_bytes()
    except OSError as err:
        yield (path, f"cannot read: {err.strerror or err}")
        return
    if not data:
        yield (path, "file is empty")
        return
    if data.lstrip()[:1] in (b"{", b"["):
        yield (path, "a JSON file, not a Cloud Export file (shadow it with --from)")
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
            path,
            "not a Cloud Export file (no temporal.api.export.v1.WorkflowExecutions or "
            "ExportedExecutions with histories)",
        )
        return
    for index, history in enumerate(histories):
        where = f"{path} (execution {index + 1})"
        if not history.events:
            yield (Path(where), "the export holds an execution without events")
            continue
        started = history.events[0].workflow_execution_started_event_attributes
        workflow_id = started.workflow_id
        run_id = started.original_execution_run_id
        if not workflow_id or not run_id:
            yield (
                Path(where),
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
            extra={"source": "cloud-export", "file": str(path)},
        )
        try:
            yield history_from_proto(
                history,
                workflow_id=workflow_id,
                meta=meta,
                path=Path(pull_file_name(workflow_id, run_id)),
            )
        except HistoryError as err:
            yield (Path(where), err.reason)
