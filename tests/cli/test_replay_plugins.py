"""`replaykit replay --plugin`: an OpenAI Agents workflow (the real ``temporalio-openai-agents``
plugin with its test model provider) recorded on the embedded server, then stepped through.

The stop is in the project's workflow code (the call into the agent framework), not in the
framework's own loop under site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.data.plugins.oa_tools:plugin"


def _replaykit(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from replaykit.cli import run; run()", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def travel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay-plugin")
    proc = _replaykit(
        "record", "tests/data/plugins/oa_scenarios.py", "-k", "travel", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "travel" / "travel-1.json"


def test_replay_with_the_plugin_stops_in_the_project_frame(travel: Path) -> None:
    proc = _replaykit(
        "replay",
        str(travel),
        "-w",
        "tests.data.plugins.oa_tools",
        "--plugin",
        PLUGIN,
        "--break-at",
        "activity:get_weather",
        stdin="p agent.name\np question\nc\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(
        n
        for n, text in enumerate(
            (ROOT / "tests/data/plugins/oa_tools.py").read_text().splitlines(), start=1
        )
        if "await Runner.run(" in text
    )
    assert f"oa_tools.py({line})run()" in proc.stdout
    assert 'get_weather("Lisbon")' in proc.stdout
    answers = [p.split("\n", 1)[0] for p in proc.stdout.split("(Pdb) ")[1:]]
    assert answers[:2] == ["'Travel assistant'", "'What should I pack for Lisbon?'"]
    assert "site-packages" not in proc.stdout


def test_trace_with_the_plugin(travel: Path) -> None:
    proc = _replaykit(
        "replay", str(travel), "-w", "tests.data.plugins.oa_tools", "--plugin", PLUGIN, "--trace"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("issued by   tests/data/plugins/oa_tools.py:") == 4  # 3 activities, result
    assert "awaited at  tests/data/plugins/oa_tools.py:" in out
    assert "clean against the current code" in out
