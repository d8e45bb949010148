"""One import rule for scenario files: ``faults`` imports what ``record`` imports.

The scenario file sits in a folder of the project (no ``__init__.py``), imports a module at
the project root (the working directory) and a sibling module, and defines its workflow
itself (the sandbox imports it again by name). Each command runs as the console script
does, in a fresh process whose ``sys.path`` does not hold the working directory
(``python -P``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

SCENARIO = """
from temporalio import workflow

from replaykit import scenario
from rk_import_rule_shared import SUFFIX  # at the project root

with workflow.unsafe.imports_passed_through():
    from rk_import_rule_sibling import GREETING  # beside this file


@workflow.defn(name="ImportRuleGreeter")
class Greeter:
    @workflow.run
    async def run(self) -> str:
        return GREETING + SUFFIX


@scenario(workflows=[Greeter])
async def import_rule_greet(run):
    assert await run.execute(Greeter.run, id="import-rule-greet") == "hello!"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "rk_import_rule_scen.py").write_text(SCENARIO)
    (tmp_path / "scenarios" / "rk_import_rule_sibling.py").write_text('GREETING = "hello"\n')
    (tmp_path / "rk_import_rule_shared.py").write_text('SUFFIX = "!"\n')
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TEMPORAL_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-P", "-c", "from replaykit.cli import main; main()", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_rule_imports_the_project_and_the_siblings(project: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            "from replaykit.record._scenario import load_scenarios\n"
            "print([s.name for s in load_scenarios(['scenarios/rk_import_rule_scen.py'])])",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "import_rule_greet" in out.stdout


@pytest.mark.integration
@pytest.mark.parametrize("command", ["faults", "record"])
def test_faults_and_record_import_the_same_scenario_file(project: Path, command: str) -> None:
    args = ["scenarios/rk_import_rule_scen.py"]
    if command == "record":
        args += ["--out", str(project / "out")]
    result = _run(project, command, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ModuleNotFoundError" not in result.stdout + result.stderr
    if command == "record":
        assert list((project / "out").rglob("*.json"))
