"""replaykit's pytest plugin (import name ``replaykit_pytest``).

pytest loads it through the ``pytest11`` entry point ``replaykit``; ``-p no:replaykit``
disables it. See :mod:`replaykit_pytest.plugin` for the options, markers and fixtures.

Nothing here imports ``temporalio``: the SDK is imported only when a replaykit fixture or a
history item needs it, so installing the plugin costs test suites that do not use it nothing.
"""

from __future__ import annotations

__all__: list[str] = []
