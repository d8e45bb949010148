"""Histories the SDK core rejects as malformed: an input error at once, never a hang.

The validator (``replaykit.history._references``) rejects the malformed histories we know
of before any replay. Should the core still find one it misses, it either fails the replay
with a text naming the history's own fault, or panics and never returns; both come here and
become the same per-file input error (exit 2) the validator gives, with no hint that blames
the code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from replaykit._internal._runtime import core_rejections, wait_core_rejection
from replaykit._internal._sdk_compat import malformed_history_text

__all__ = [
    "NO_WORKFLOW_TASK",
    "malformed_failure",
    "malformed_message",
    "watch_worker_for_core_rejections",
]

#: A history without a workflow task (a start delay not yet over, or an export cut after
#: the first event): the stock replayer waits forever for a task, so it is not replayed.
NO_WORKFLOW_TASK = (
    "nothing to replay: the history has no WorkflowTaskScheduled event, so no workflow task "
    "ever ran (the SDK's replayer would wait for one forever)"
)


def malformed_message(core_text: str) -> str:
    """The error a check reports for a history the SDK core rejects as malformed."""
    return (
        f"malformed history: the SDK core rejects it ({core_text}); the history is not one a "
        "Temporal server writes (edited, truncated or spliced), not a problem in the code"
    )


def malformed_failure(failure: BaseException | None) -> str | None:
    """The error message when a replay failure is the core rejecting the history; else None."""
    if failure is None:
        return None
    text = malformed_history_text(str(failure))
    return malformed_message(text) if text is not None else None


def watch_worker_for_core_rejections(
    in_flight: Callable[[], list[tuple[int, str]]],
    report: Callable[[int, str, str], None],
    requeue: Callable[[int, str], None],
    leave: Callable[[], Any],
) -> threading.Thread:
    """In a check worker process: on a core panic, report the history and leave.

    The replay that panicked never returns, so the worker cannot go on. The oldest history
    in flight (``in_flight()``: ``(index, path)`` in start order) is the one being replayed:
    it is reported as malformed (``report(index, path, message)``), any others are handed
    back (``requeue``), and ``leave()`` ends the process (it must not return); the parent
    starts a fresh worker for what is left.
    """
    seen = core_rejections()

    def watch() -> None:
        text = wait_core_rejection(seen)
        if text is None:  # pragma: no cover - waits without a timeout
            return
        flight = in_flight()
        if flight:
            index, path = flight[0]
            report(index, path, malformed_message(text))
            for other, other_path in flight[1:]:
                requeue(other, other_path)
        leave()
        os._exit(0)  # leave() must not return; never let a stuck replay keep the worker

    thread = threading.Thread(target=watch, name="replaykit-core-watch", daemon=True)
    thread.start()
    return thread
