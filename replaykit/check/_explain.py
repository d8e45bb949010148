"""Turning the SDK's replay failures (Rust debug text, bare ``4: ...``) into divergences."""

from __future__ import annotations

import re

import temporalio.workflow

from replaykit._internal._sdk_compat import (
    core_failure_in_text,
    error_event_id,
    is_deadlock_text,
    is_unregistered_workflow_type_text,
    removed_patch_in_text,
    strip_sdk_error_codes,
)
from replaykit.history._files import HistoryFile
from replaykit.history._patch_markers import history_patch_markers

from ._capture import RunCapture
from ._divergence import Divergence
from ._format import event_type_name
from ._report import display_path

__all__ = ["explain_replay_failure"]


def _clean(text: str) -> str:
    text = strip_sdk_error_codes(text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 400 else text[:399] + "…"


def explain_replay_failure(
    failure: Exception, hf: HistoryFile, capture: RunCapture | None
) -> Divergence:
    """A divergence for a replay the SDK itself failed, with named causes."""
    text = str(failure)
    event_id = error_event_id(text)
    event = hf.view.by_id.get(event_id) if event_id is not None else None
    event_type = event_type_name(event.event_type) if event is not None else None
    source = None
    core = core_failure_in_text(text)
    # the raised exception and its causes, not the core's Debug dump
    shown = core.describe() if core is not None else text
    if core is not None and core.frame is not None:  # where the workflow code raised
        file, line, func = core.frame
        source = f"{display_path(file)}:{line} (in {func})"
    elif capture is not None and capture.commands and capture.commands[-1].source:
        file, line, func = capture.commands[-1].source
        source = f"{file}:{line} (in {func})"
    removed = removed_patch_in_text(text)
    if removed:
        return _removed_patch(removed[0], hf, removed[1])
    if isinstance(failure, temporalio.workflow.NondeterminismError):
        return Divergence(
            kind="nondeterminism",
            cause="stock-nondeterminism",
            message=f"the SDK's replayer rejects this history: {_clean(shown)}",
            event_id=event_id,
            event_type=event_type,
            source=source,
            hint="the code issues different commands than the history recorded; guard the "
            'change with `workflow.patched("<change-id>")`',
        )
    if is_unregistered_workflow_type_text(text):
        return Divergence(
            kind="nondeterminism",
            cause="unregistered-workflow-type",
            message=f"workflow type {hf.workflow_type!r} is not among the --workflows given "
            f"({_clean(shown)})",
            hint="pass the module that defines it with --workflows (or [tool.replaykit] "
            "workflows); a renamed workflow type breaks every running execution",
        )
    if is_deadlock_text(text):
        return Divergence(
            kind="nondeterminism",
            cause="deadlock",
            message=f"the workflow blocked the event loop during replay: {_clean(shown)}",
            source=source,
            hint="workflow code must not block (no time.sleep, no blocking I/O); use "
            "workflow.sleep and activities",
        )
    return Divergence(
        kind="nondeterminism",
        cause="workflow-raised",
        message=f"the workflow task failed during replay: {_clean(shown)}",
        event_id=event_id,
        event_type=event_type,
        source=source,
        hint="the current code raises where the recorded run did not",
    )


def _removed_patch(patch_id: str, hf: HistoryFile, text: str) -> Divergence:
    markers, _ = history_patch_markers(hf)
    marker = next((m for m in markers if m.patch_id == patch_id), None)
    where = f" (its marker is event {marker.event_id})" if marker is not None else ""
    return Divergence(
        kind="nondeterminism",
        cause="patch-removed",
        message=f"this execution took the `workflow.patched({patch_id!r})` branch{where}, but "
        f"the code no longer calls it (the SDK: {text})",
        event_id=marker.event_id if marker is not None else None,
        event_type="MarkerRecorded" if marker is not None else None,
        hint=f"put `workflow.deprecate_patch({patch_id!r})` where the `patched` call was "
        "(keeping only the new branch) until every execution that recorded the patch has "
        "closed; `replaykit patches` says when it can be removed",
    )
