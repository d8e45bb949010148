"""A custom payload converter end to end (issue 12 item 4): record on a real server with a
binary encoding the default converter cannot read, then check through the real executable."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKED = Path(__file__).parent.parent / "data" / "packed"
REPLAYKIT = str(Path(sys.executable).parent / "replaykit")
CONVERTER = ["--data-converter", "packed_conv:CONVERTER"]

pytestmark = pytest.mark.integration


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "REPLAYKIT_CACHE_DIR": str(cwd / ".cache")}
    env.pop("TEMPORAL_ADDRESS", None)
    return subprocess.run(
        [REPLAYKIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("packed")
    for name in ("packed_workflows.py", "packed_conv.py", "packed_scenarios.py"):
        shutil.copy(PACKED / name, src / name)
    proc = run(
        ["record", "packed_scenarios.py", "--out", "hist", "--server", "embedded", *CONVERTER], src
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return src


@pytest.fixture
def repo(recorded: Path, tmp_path: Path) -> Path:
    shutil.copytree(recorded, tmp_path / "repo")
    return tmp_path / "repo"


def _encodings(path: Path) -> set[str]:
    def walk(node: object) -> list[str]:
        if isinstance(node, dict):
            if "metadata" in node and "data" in node:
                return [base64.b64decode(node["metadata"]["encoding"]).decode()]
            return [e for v in node.values() for e in walk(v)]
        if isinstance(node, list):
            return [e for v in node for e in walk(v)]
        return []

    return set(walk(json.loads(path.read_text())["events"]))


def test_a_same_length_change_behind_a_custom_converter_is_caught(repo: Path) -> None:
    history = repo / "hist" / "packed_question" / "packed-1.json"
    assert _encodings(history) == {"binary/rk-packed"}
    clean = run(["check", "hist", "-w", "packed_workflows", *CONVERTER], repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    wf = repo / "packed_workflows.py"
    assert len("Answer briefly") == len("Answer shortly")  # same length, same first bytes
    wf.write_text(wf.read_text().replace("Answer briefly", "Answer shortly"))
    drift = run(["check", "hist/packed_question", "-w", "packed_workflows", *CONVERTER], repo)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "activity ask_llm: input arguments changed" in drift.stdout
    # decoded with the configured converter: plain values, not digests
    assert (
        "'Answer briefly: what is the launch code?' -> 'Answer shortly: what is the launch code?'"
    ) in drift.stdout


def test_without_the_converter_it_is_an_error_even_when_nothing_diverges(repo: Path) -> None:
    # PackedTimer decodes no payload during replay, so the stock verdict alone is clean; yet
    # its result is in an encoding the default converter cannot read.
    for mode in ([], ["--no-strict"]):
        bare = run(["check", "hist/packed_timer", "-w", "packed_workflows", *mode], repo)
        assert bare.returncode == 2, (mode, bare.stdout + bare.stderr)
        assert "encoding 'binary/rk-packed'" in bare.stdout and "--data-converter" in bare.stdout
    ok = run(["check", "hist/packed_timer", "-w", "packed_workflows", *CONVERTER], repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
