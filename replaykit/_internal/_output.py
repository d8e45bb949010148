"""Capturing what user code prints, per replay or per scenario, instead of the terminal.

Integrations print (Strands prints the model's text as it streams); during a check or a
recording that would interleave with replaykit's own lines. While :func:`routed_output` is
open, ``sys.stdout`` and ``sys.stderr`` are streams that route each write: to the sink of
the writing thread (:func:`thread_printing_into`: a replay's run capture), else to the
process-wide sink (:func:`all_printing_into`: a scenario being recorded), else to the stream
they replaced. Whoever captured decides what to show: replaykit shows it only under a
failure.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "OUTPUT_KEPT",
    "OutputTail",
    "all_printing_into",
    "routed_output",
    "thread_printing_into",
    "thread_sink",
]

#: Characters of captured output kept (the last ones).
OUTPUT_KEPT = 64 * 1024


class OutputTail:
    """A sink keeping the last :data:`OUTPUT_KEPT` characters written to it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._dropped = False
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
            self._size += len(text)
            if self._size > 2 * OUTPUT_KEPT:
                joined = "".join(self._parts)[-OUTPUT_KEPT:]
                self._parts, self._size, self._dropped = [joined], len(joined), True
        return len(text)

    def text(self) -> str:
        """What was written ("…" first when its start was dropped)."""
        with self._lock:
            joined = "".join(self._parts)
            dropped = self._dropped or len(joined) > OUTPUT_KEPT
        return "…" + joined[-OUTPUT_KEPT:] if dropped else joined


_local = threading.local()
#: The sink of every thread without one of its own (:func:`all_printing_into`).
_process_sink: OutputTail | None = None


def thread_sink() -> OutputTail | None:
    """The sink of this thread's own (:func:`thread_printing_into`), if it has one."""
    own: OutputTail | None = getattr(_local, "sink", None)
    return own


def _sink() -> OutputTail | None:
    own = thread_sink()
    return own if own is not None else _process_sink


class _RoutedStream:
    """``sys.stdout``/``sys.stderr`` while :func:`routed_output` is open."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def write(self, text: str) -> int:
        sink = _sink()
        if sink is not None:
            return sink.write(text)
        return int(self.target.write(text))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _sink() is None:
            self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


_lock = threading.Lock()
_depth = 0
_routed: tuple[_RoutedStream | None, _RoutedStream | None] = (None, None)


@contextlib.contextmanager
def routed_output() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` by thread while open (see the module).

    Reentrant and shared by concurrent users in one process: the first to open installs the
    routing streams, the last to close restores what they replaced (unless something else
    replaced them meanwhile). Output of a thread without a sink passes through.
    """
    global _depth, _routed
    with _lock:
        if _depth == 0:
            out = _RoutedStream(sys.stdout) if sys.stdout is not None else None
            err = _RoutedStream(sys.stderr) if sys.stderr is not None else None
            _routed = (out, err)
            if out is not None:
                sys.stdout = out
            if err is not None:
                sys.stderr = err
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                out, err = _routed
                if out is not None and sys.stdout is out:
                    sys.stdout = out.target
                if err is not None and sys.stderr is err:
                    sys.stderr = err.target
                _routed = (None, None)


@contextlib.contextmanager
def thread_printing_into(sink: OutputTail) -> Iterator[None]:
    """This thread's writes go to ``sink`` while open (when :func:`routed_output` is)."""
    previous = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield
    finally:
        _local.sink = previous


@contextlib.contextmanager
def all_printing_into(sink: OutputTail) -> Iterator[None]:
    """Every thread's writes go to ``sink`` while open (a thread with a sink of its own
    keeps it): what a scenario's worker, workflows and activities print while it runs."""
    global _process_sink
    with routed_output():
        previous, _process_sink = _process_sink, sink
        try:
            yield
        finally:
            _process_sink = previous
