"""One SDK runtime for replaykit's own clients, workers and replayers.

The SDK core logs warnings (for example about the test server's capabilities) straight to
stderr; in a report those lines are noise. replaykit keeps core logs at ERROR.
"""

from __future__ import annotations

import functools
from typing import NoReturn

import temporalio.runtime


@functools.lru_cache(maxsize=1)
def quiet_runtime() -> temporalio.runtime.Runtime:
    """A runtime whose core logging only shows errors (created once per process)."""
    return temporalio.runtime.Runtime(
        telemetry=temporalio.runtime.TelemetryConfig(
            logging=temporalio.runtime.LoggingConfig(
                filter=temporalio.runtime.TelemetryFilter(core_level="ERROR", other_level="ERROR")
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
