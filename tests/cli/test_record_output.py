"""``record`` keeps what a scenario prints (an integration printing the model's text, as
Strands does) off its own lines, and shows it only under a scenario that failed. Real
embedded server; the command runs as the console script does (``python -P``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent

SCENARIOS = """
from datetime import timedelta

from temporalio import activity, workflow

from replaykit import scenario


@activity.defn
async def think(topic: str) -> str:
    print("ACTIVITY-PRINTS thinking about", topic)
    return topic.upper()


@workflow.defn(name="PrintingAgent")
class PrintingAgent:
    @workflow.run
    async def run(self, topic: str) -> str:
        answer = await workflow.execute_activity(
            think, topic, start_to_close_timeout=timedelta(seconds=10)
        )
        print(f"WORKFLOW-PRINTS Done! {answer}", end="")
        return answer


@scenario(workflows=[PrintingAgent], activities=[think])
async def agent_passes(run):
    assert await run.execute(PrintingAgent.run, "passing", id="agent-passes") == "PASSING"


@scenario(workflows=[PrintingAgent], activities=[think])
async def agent_fails(run):
    assert await run.execute(PrintingAgent.run, "failing", id="agent-fails") == "nope"
"""


def test_record_shows_a_scenarios_output_only_when_it_failed(tmp_path: Path) -> None:
    (tmp_path / "rk_printing_scen.py").write_text(SCENARIOS)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TEMPORAL_ADDRESS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            "from replaykit.cli import main; main()",
            "record",
            "rk_printing_scen.py",
            "--out",
            "out",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "passing" not in output.replace("agent_passes", ""), output  # its prints are gone
    lines = result.stdout.splitlines()
    assert any(ln.startswith("ok     agent_passes: 1 history written") for ln in lines), output
    failed = next(i for i, ln in enumerate(lines) if ln.startswith("FAILED agent_fails"))
    at = lines.index("         output (printed while it ran):")
    assert at > failed
    shown = lines[at + 1 :]
    assert "           | ACTIVITY-PRINTS thinking about failing" in shown
    assert any("WORKFLOW-PRINTS Done! FAILING" in ln for ln in shown), output
    assert not any(ln.startswith("WORKFLOW-PRINTS") or "Done!ok" in ln for ln in lines)
