"""What replay says about patches: the SDK hook that observes ``workflow.patched`` calls.

While :func:`observing` is active, every ``patched`` / ``deprecate_patch`` call a workflow
makes in this process (replays included) is collected as a
:class:`~replaykit._internal._sdk_compat.PatchCall`; :func:`drain` takes the calls so far.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from replaykit._internal._sdk_compat import PatchCall, hook_workflow_patch

__all__ = ["drain", "observing"]


_SINK_LOCK = threading.Lock()
_SINK: list[PatchCall] | None = None


def _install_patch_hook() -> None:
    """Observe every ``workflow_patch`` call (``patched``/``deprecate_patch``) in this process.

    The SDK gives no hook for patch calls (:func:`hook_workflow_patch` wraps the instance
    method the workflow context calls). It records only while :func:`observing` is active.
    """
    if not hook_workflow_patch(_record_patch_call):
        raise RuntimeError(
            "this temporalio has no _WorkflowInstanceImpl.workflow_patch to observe patch calls"
        )


def _record_patch_call(call: PatchCall) -> None:
    sink = _SINK
    if sink is not None:
        with _SINK_LOCK:
            sink.append(call)


@contextmanager
def observing() -> Iterator[list[PatchCall]]:
    """Collect every patch call made in this process while the block runs (one at a time).

    Raises:
        RuntimeError: Another block is already observing, or this SDK cannot be hooked.
    """
    global _SINK
    _install_patch_hook()
    calls: list[PatchCall] = []
    with _SINK_LOCK:
        if _SINK is not None:
            raise RuntimeError("analyze_patches is already running in this process")
        _SINK = calls
    try:
        yield calls
    finally:
        with _SINK_LOCK:
            _SINK = None


def drain(calls: list[PatchCall]) -> list[PatchCall]:
    """The calls collected in ``calls`` so far, removed from it (under the hook's lock)."""
    with _SINK_LOCK:
        taken = list(calls)
        calls.clear()
    return taken
