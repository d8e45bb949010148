"""What the agent-integration tests share: recording on the embedded server, a next release
of an agent module, and checking a history against it.

A test agent is a module in ``tests/data/agents`` that defines its workflow(s) and a
``plugin`` factory (the integration's plugin with the framework's own offline test model);
its scenarios module lists what to record. A "next release" is a copy of the module with
text edits, importable as ``<module>_next`` from a folder on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from replaykit.check import CheckOptions, check_histories
from replaykit.record import load_scenarios, record_scenarios_async
from replaykit.servers import parse_server, start_server

__all__ = ["AGENTS", "check_agent", "next_release", "record_agents", "release"]

AGENTS = Path(__file__).resolve().parents[1] / "data" / "agents"


def record_agents(scenario_modules: Sequence[str], out: Path) -> dict[str, Path]:
    """Record the scenarios on a fresh embedded server: ``{scenario name: history file}``."""
    scenarios = load_scenarios(list(scenario_modules))
    with start_server(parse_server("embedded")) as running:

        async def main() -> None:
            client = await running.client()
            report = await record_scenarios_async(scenarios, client, out_dir=out)
            assert report.ok, report

        asyncio.run(main())
    return {p.parent.name: p for p in out.rglob("*.json")}


@pytest.fixture()
def next_release(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path where a test writes its changed copy of an agent module."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.endswith("_next")]:
            del sys.modules[name]


def release(folder: Path, module: str, *edits: tuple[str, str]) -> str:
    """Copy ``tests/data/agents/<module>.py`` as ``<module>_next`` with text replaced."""
    text = (AGENTS / f"{module}.py").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    (folder / f"{module}_next.py").write_text(text)
    return f"{module}_next"


def check_agent(history: Path, module: str, **options: Any):  # type: ignore[no-untyped-def]
    """Check one history against ``module`` (its ``plugin`` factory applied), in process."""
    report = check_histories(
        [history],
        workflows=[module],
        options=CheckOptions(plugins=(f"{module}:plugin",), **options),
        jobs=0,
    )
    (result,) = report.results
    assert result.status != "error", result.error
    return report, result
