"""The user's path end to end, through the real `replaykit` executable: record a scenario
file on a real server, check it clean, change the code, check again, read the reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CORE = Path(__file__).parent.parent / "data" / "core"
REPLAYKIT = str(Path(sys.executable).parent / "replaykit")

pytestmark = pytest.mark.integration


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "REPLAYKIT_CACHE_DIR": str(cwd / ".cache")}
    env.pop("TEMPORAL_ADDRESS", None)
    return subprocess.run(
        [REPLAYKIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(CORE / "core_workflows.py", tmp_path / "core_workflows.py")
    shutil.copy(CORE / "core_scenarios.py", tmp_path / "core_scenarios.py")
    return tmp_path


@pytest.mark.parametrize("server", ["timeskip", "embedded"])
def test_record_writes_every_execution(repo: Path, server: str) -> None:
    # The embedded dev server really waits for timers: record only the child/signal scenario
    # there with a short timer; the time-skipping server runs the 7-day version.
    if server == "embedded":
        text = (repo / "core_workflows.py").read_text()
        text = text.replace("timedelta(days=7)", "timedelta(seconds=1)").replace(
            "timedelta(hours=1)", "timedelta(seconds=1)"
        )
        (repo / "core_workflows.py").write_text(text)
    proc = run(["record", "core_scenarios.py", "--out", "hist", "--server", server], repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(str(p.relative_to(repo / "hist")) for p in (repo / "hist").rglob("*.json"))
    assert files == [
        "looper_flow/looper-1.json",
        "looper_flow/looper-1.run2.json",
        "looper_flow/looper-1.run3.json",
        "parent_flow/parent-1-child.json",
        "parent_flow/parent-1.json",
    ]
    meta = json.loads((repo / "hist/parent_flow/parent-1-child.json").read_text())["replaykit"]
    assert meta["workflow_id"] == "parent-1-child" and meta["workflow_type"] == "Child"
    assert meta["scenario"] == "parent_flow" and meta["extra"]["parent_workflow_id"] == "parent-1"
    assert "WARN" not in proc.stderr
    # recording again keeps existing files unless asked
    again = run(
        ["record", "core_scenarios.py", "--out", "hist", "--server", server, "-k", "looper"], repo
    )
    assert (
        again.returncode == 0 and "kept existing" in again.stdout and "parent" not in again.stdout
    )
    check = run(["check", "hist", "--workflows", "core_workflows"], repo)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "5 clean, 0 diverged, 0 errors" in check.stdout


def test_check_reordered_code_and_malformed_files(repo: Path) -> None:
    assert (
        run(
            ["record", "core_scenarios.py", "--out", "hist", "--server", "timeskip"], repo
        ).returncode
        == 0
    )
    text = (repo / "core_workflows.py").read_text()
    act = "        a = await workflow.execute_activity(fetch, topic, start_to_close_timeout=timedelta(seconds=10))\n"
    sleep = "        await workflow.sleep(timedelta(days=7))\n"
    assert act + sleep in text
    (repo / "core_workflows.py").write_text(text.replace(act + sleep, sleep + act))
    (repo / "hist" / "broken.json").write_text('{"events": [')
    (repo / "hist" / "notes.json").write_text('{"title": "not a history"}')
    (repo / "hist" / "image.json").write_bytes(b"\x89PNG\x00\x00")
    proc = run(
        [
            "check",
            "hist",
            "--workflows",
            "core_workflows",
            "--junit-xml",
            "out.xml",
            "--json-report",
            "out.json",
        ],
        repo,
    )
    assert proc.returncode == 2, proc.stdout  # input errors win over divergences
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr
    assert "ERROR     hist/broken.json: truncated JSON" in out
    assert 'ERROR     hist/notes.json: no "events" list' in out
    assert "ERROR     hist/image.json: not a JSON text file (binary content)" in out
    assert "DIVERGED  hist/parent_flow/parent-1.json" in out
    assert "core_workflows.py:" in out and "workflow.patched" in out
    assert "ok        hist/parent_flow/parent-1-child.json" in out
    suite = ET.parse(repo / "out.xml").getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == 8
    failures = [c.get("name") for c in cases if c.find("failure") is not None]
    errors = [c.get("name") for c in cases if c.find("error") is not None]
    assert failures == ["hist/parent_flow/parent-1.json"]
    assert sorted(errors) == ["hist/broken.json", "hist/image.json", "hist/notes.json"]
    report = json.loads((repo / "out.json").read_text())
    assert report["summary"] == {
        **report["summary"],
        "histories": 8,
        "divergent": 1,
        "errors": 3,
        "clean": 4,
    }
    (div,) = [r for r in report["results"] if r["status"] == "divergent"]
    first = div["divergences"][0]
    # the recorded activity (event 5, or later if the server added task events under load)
    assert first["kind"] == "nondeterminism" and first["event_type"] == "ActivityTaskScheduled"
    assert "timer of 7d" in first["message"] and "activity fetch" in first["message"]
    # without the malformed files: exit 1, naming the diverging history
    for name in ("broken.json", "notes.json", "image.json"):
        (repo / "hist" / name).unlink()
    proc = run(["check", "hist", "--workflows", "core_workflows", "-q"], repo)
    assert proc.returncode == 1
    assert "parent-1.json" in proc.stdout and "ok " not in proc.stdout


def test_usage_errors_exit_2(repo: Path) -> None:
    proc = run(["check", "nowhere", "--workflows", "no_such_module"], repo)
    assert proc.returncode == 2 and "cannot import 'no_such_module'" in proc.stderr
    proc = run(["record", "missing_scenarios.py", "--out", "x", "--server", "timeskip"], repo)
    assert proc.returncode == 2 and "missing_scenarios.py" in proc.stderr
    proc = run(["check", "--workflows", "core_workflows"], repo)
    assert proc.returncode == 2 and "no history paths" in proc.stderr


def test_config_from_pyproject(repo: Path) -> None:
    assert (
        run(
            ["record", "core_scenarios.py", "--out", "hist", "--server", "timeskip"], repo
        ).returncode
        == 0
    )
    (repo / "pyproject.toml").write_text(
        '[tool.replaykit]\nworkflows = ["core_workflows"]\nhistories = "hist"\n'
    )
    proc = run(["check"], repo)
    assert proc.returncode == 0 and "5 clean" in proc.stdout
    (repo / "pyproject.toml").write_text('[tool.replaykit]\nworkflow = ["x"]\n')
    proc = run(["check"], repo)
    assert proc.returncode == 2 and "unknown [tool.replaykit] key" in proc.stderr
