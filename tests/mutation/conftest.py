"""Print the mutation score table in the terminal summary (works under pytest-xdist)."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # The table travels as a user property of the test report, so it reaches the controller
    # process when the test ran in an xdist worker.
    for key in ("passed", "failed"):
        for report in terminalreporter.stats.get(key, []):
            for name, value in getattr(report, "user_properties", ()):
                if name == "mutation_score_table":
                    terminalreporter.write_sep("=", "mutation score: replaykit vs stock replayer")
                    terminalreporter.write_line(str(value))
                    return
