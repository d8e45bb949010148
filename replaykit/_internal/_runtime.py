"""One SDK runtime for replaykit's own clients, workers and replayers.

The SDK core logs warnings (for example about the test server's capabilities) straight to
stderr; in a report those lines are noise. replaykit keeps core logs at ERROR and forwards
them through Python logging, which prints them to stderr as before except one kind: the
core's panic on a malformed history ("Invalid history! ...", with pages of Rust backtrace)
after which the replay never returns. That one is counted instead (:func:`core_rejections`)
so the check can report the history as malformed at once rather than wait for its timeout.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from typing import NoReturn

import temporalio.runtime

from ._sdk_compat import malformed_history_text

#: The logger core logs are forwarded to.
CORE_LOGGER = "replaykit.sdk_core"

_REJECTIONS: list[str] = []  # what the core said, one entry per panic on a malformed history
_REJECTIONS_LOCK = threading.Lock()
_REJECTIONS_SEEN = threading.Condition(_REJECTIONS_LOCK)


class _CoreLogHandler(logging.Handler):
    """Prints core errors to stderr; notes the core's panics on malformed histories."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            rejected = malformed_history_text(message)
            if rejected is not None:
                with _REJECTIONS_SEEN:
                    _REJECTIONS.append(rejected)
                    _REJECTIONS_SEEN.notify_all()
                return
            sys.stderr.write(f"{record.levelname} {message}\n")
        except Exception:  # noqa: BLE001 - logging must never raise into the core's callback
            self.handleError(record)


def core_rejections() -> int:
    """How many times the core has panicked on a malformed history in this process."""
    with _REJECTIONS_LOCK:
        return len(_REJECTIONS)


def core_rejection(index: int) -> str | None:
    """What the core said the ``index``-th time (from 0), in one line; None if not yet."""
    with _REJECTIONS_LOCK:
        return _REJECTIONS[index] if index < len(_REJECTIONS) else None


def wait_core_rejection(seen: int, timeout: float | None = None) -> str | None:
    """Block until more than ``seen`` rejections happened; the next one, or None on timeout."""
    with _REJECTIONS_SEEN:
        _REJECTIONS_SEEN.wait_for(lambda: len(_REJECTIONS) > seen, timeout)
        return _REJECTIONS[seen] if len(_REJECTIONS) > seen else None


@functools.lru_cache(maxsize=1)
def quiet_runtime() -> temporalio.runtime.Runtime:
    """A runtime whose core logging only shows errors (created once per process)."""
    logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(h, _CoreLogHandler) for h in logger.handlers):
        logger.addHandler(_CoreLogHandler())
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    return temporalio.runtime.Runtime(
        telemetry=temporalio.runtime.TelemetryConfig(
            logging=temporalio.runtime.LoggingConfig(
                filter=temporalio.runtime.TelemetryFilter(core_level="ERROR", other_level="ERROR"),
                forwarding=temporalio.runtime.LogForwardingConfig(
                    logger=logger,
                    append_target_to_name=False,
                    prepend_target_on_message=False,
                    append_log_fields_to_message=False,
                ),
            )
        )
    )


def exit_bounded(code: int, *, grace: float = 5.0) -> NoReturn:
    """Leave the process with ``code`` within about ``grace`` seconds, whatever is left running.

    Exit handlers run first (servers replaykit started are stopped there), then non-daemon
    threads get what is left of ``grace`` to finish. Integrations can leave such threads
    behind (the OpenAI Agents trace processor waits to export spans), which would keep a
    finished ``replaykit record`` alive; the SDK's runtime can also crash at interpreter
    exit (DESIGN.md), which would change the exit code. ``os._exit`` avoids both.
    """
    import atexit
    import os
    import sys
    import threading
    import time

    deadline = time.monotonic() + grace
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    handlers = threading.Thread(target=atexit._run_exitfuncs, name="replaykit-exit", daemon=True)
    handlers.start()
    handlers.join(max(0.0, deadline - time.monotonic()))
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon and thread is not handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
