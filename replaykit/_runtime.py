"""One SDK runtime for replaykit's own clients, workers and replayers.

The SDK core logs warnings (for example about the test server's capabilities) straight to
stderr; in a report those lines are noise. replaykit keeps core logs at ERROR.
"""

from __future__ import annotations

import functools

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
