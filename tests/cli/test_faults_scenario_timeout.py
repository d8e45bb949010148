"""``faults --scenario-timeout``: a scenario that runs too long fails at the given timeout,
not the scenario's own (real embedded server; the command runs as the console script does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent

SCENARIO = """
from datetime import timedelta

from temporalio import workflow

from replaykit import scenario


@workflow.defn(name="SlowSleeper")
class Sleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(minutes=10))
        return "done"


@scenario(workflows=[Sleeper], timeout=600)
async def slow_sleeper(run):
    await run.execute(Sleeper.run, id="slow-sleeper")
"""


def test_faults_scenario_timeout_stops_a_slow_scenario(tmp_path: Path) -> None:
    scen = tmp_path / "rk_slow_scen.py"
    scen.write_text(SCENARIO)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TEMPORAL_ADDRESS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            "from replaykit.cli import main; main()",
            "faults",
            scen.name,
            "--kill-worker",
            "wft:1",
            "--scenario-timeout",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "timed out after 3 s" in output, output
    assert "timed out after 600 s" not in output
