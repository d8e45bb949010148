"""Encrypted payloads end to end: record with a payload codec on a real server, then check,
explain and reject through the real `replaykit` executable and the pytest plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CODEC = Path(__file__).parent.parent / "data" / "codec"
REPLAYKIT = str(Path(sys.executable).parent / "replaykit")
HISTORY = "hist/secret_question/secret-1.json"

pytestmark = pytest.mark.integration


def run(args: list[str], cwd: Path, exe: str = REPLAYKIT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "REPLAYKIT_CACHE_DIR": str(cwd / ".cache")}
    env.pop("TEMPORAL_ADDRESS", None)
    return subprocess.run(
        [exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("codec")
    for name in ("codec_workflows.py", "codec_conv.py", "codec_scenarios.py"):
        shutil.copy(CODEC / name, src / name)
    proc = run(
        [
            "record",
            "codec_scenarios.py",
            "--out",
            "hist",
            "--server",
            "embedded",
            "--data-converter",
            "codec_conv:CONVERTER",
        ],
        src,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return src


@pytest.fixture
def repo(recorded: Path, tmp_path: Path) -> Path:
    shutil.copytree(recorded, tmp_path / "repo")
    return tmp_path / "repo"


def test_recorded_payloads_are_really_encrypted(repo: Path) -> None:
    text = (repo / HISTORY).read_text()
    assert "launch" not in text and "QU5TV0VS" not in text  # neither plain nor base64 of it
    encodings = {
        p["metadata"]["encoding"] for ev in json.loads(text)["events"] for p in _payloads(ev)
    }
    assert encodings == {"YmluYXJ5L3Rlc3QtZW5jcnlwdGVk"}  # base64 of binary/test-encrypted


def _payloads(node: object) -> list[dict]:  # type: ignore[type-arg]
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            return [node]
        return [p for v in node.values() for p in _payloads(v)]
    if isinstance(node, list):
        return [p for v in node for p in _payloads(v)]
    return []


def test_clean_with_the_codec_and_explained_in_plain_values(repo: Path) -> None:
    ok = run(
        ["check", "hist", "-w", "codec_workflows", "--data-converter", "codec_conv:CONVERTER"], repo
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    stock = run(
        [
            "check",
            "hist",
            "-w",
            "codec_workflows",
            "--no-strict",
            "--data-converter",
            "codec_conv:CONVERTER",
        ],
        repo,
    )
    assert stock.returncode == 0, stock.stdout + stock.stderr
    # a factory function works too, and so does a bare codec
    for ref in ("codec_conv:make_converter", "codec_conv:CONVERTER.payload_codec"):
        again = run(["check", "hist", "-w", "codec_workflows", "--data-converter", ref], repo)
        assert again.returncode == 0, (ref, again.stdout + again.stderr)
    wf = repo / "codec_workflows.py"
    wf.write_text(wf.read_text().replace("Answer briefly", "Answer in one word"))
    drift = run(
        ["check", "hist", "-w", "codec_workflows", "--data-converter", "codec_conv:CONVERTER"], repo
    )
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "activity ask_llm: input arguments changed" in drift.stdout
    # the recorded (encrypted) value is shown decrypted, next to the current one
    assert (
        "'Answer briefly: what is the launch code?' -> "
        "'Answer in one word: what is the launch code?'"
    ) in drift.stdout
    assert "codec_workflows.py:19" in drift.stdout


def test_without_or_with_the_wrong_codec_is_an_error_that_says_so(repo: Path) -> None:
    bare = run(["check", "hist", "-w", "codec_workflows"], repo)
    assert bare.returncode == 2, bare.stdout + bare.stderr
    assert "encoding 'binary/test-encrypted'" in bare.stdout
    assert "--data-converter" in bare.stdout and "DIVERGED" not in bare.stdout
    wrong = run(
        ["check", "hist", "-w", "codec_workflows", "--data-converter", "codec_conv:WRONG_KEY"], repo
    )
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert f"{HISTORY}: event 1: the payload codec could not decode it" in wrong.stdout
    assert "wrong key" in wrong.stdout
    bad = run(
        [
            "check",
            "hist",
            "-w",
            "codec_workflows",
            "--data-converter",
            "codec_conv:NOT_A_CONVERTER",
        ],
        repo,
    )
    assert bad.returncode == 2
    assert "expected a temporalio DataConverter or PayloadCodec" in bad.stderr
    missing = run(
        ["check", "hist", "-w", "codec_workflows", "--data-converter", "no_such_module:X"], repo
    )
    assert missing.returncode == 2 and "no_such_module" in missing.stderr


def test_pyproject_setting_serves_the_cli_and_the_plugin(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.replaykit]\n"
        'workflows = ["codec_workflows"]\n'
        'histories = "hist"\n'
        'data_converter = "codec_conv:CONVERTER"\n'
    )
    ok = run(["check"], repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    pytest_exe = str(Path(sys.executable).parent / "pytest")
    items = run(["hist", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"], repo, exe=pytest_exe)
    assert items.returncode == 0 and "1 passed" in items.stdout, items.stdout + items.stderr
    wf = repo / "codec_workflows.py"
    wf.write_text(wf.read_text().replace("Answer briefly", "Answer in one word"))
    failing = run(["hist", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"], repo, exe=pytest_exe)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "'Answer briefly: what is the launch code?'" in failing.stdout


def test_show_and_diff_read_the_decoded_values(repo: Path) -> None:
    shown = run(
        ["show", HISTORY, "-w", "codec_workflows", "--data-converter", "codec_conv:CONVERTER"], repo
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert 'ask_llm("Answer briefly: what is the launch code?")' in shown.stdout
    assert "replays clean" in shown.stdout
    opaque = run(["show", HISTORY], repo)
    assert "launch" not in opaque.stdout and "binary/test-encrypted" in opaque.stdout
    assert "pass --data-converter" in opaque.stderr
    assert "note:" not in shown.stderr
    # Record the same scenario again: every ciphertext differs, the values do not.
    again = run(
        [
            "record",
            "codec_scenarios.py",
            "--out",
            "hist2",
            "--server",
            "embedded",
            "--data-converter",
            "codec_conv:CONVERTER",
        ],
        repo,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    other = HISTORY.replace("hist/", "hist2/")
    same = run(["diff", HISTORY, other, "--data-converter", "codec_conv:CONVERTER"], repo)
    assert same.returncode == 0 and "EQUIVALENT" in same.stdout, same.stdout + same.stderr
    assert "note:" not in same.stdout
    # Without the converter the ciphertexts differ, and the report says why.
    blind = run(["diff", HISTORY, other], repo)
    assert blind.returncode == 1 and "DIFFERENT" in blind.stdout
    assert "note: payloads use encoding 'binary/test-encrypted'" in blind.stdout
    assert "compared as ciphertext" in blind.stdout


def test_fault_runs_with_the_codec_compare_decoded_outcomes(repo: Path) -> None:
    # Every run encrypts with fresh nonces, so only decoded histories can match the baseline.
    proc = run(
        [
            "faults",
            "codec_scenarios.py",
            "--kill-worker",
            "returned:ask_llm",
            "--data-converter",
            "codec_conv:CONVERTER",
        ],
        repo,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "injected #0 kill the worker" in proc.stdout
    assert "[ok  ] outcome: same as the baseline (1 executions)" in proc.stdout
    assert proc.stdout.count("[ok  ] replay: 1 histories replay clean (strict)") == 2
    bad = run(["faults", "codec_scenarios.py", "--data-converter", "codec_conv:NOPE"], repo)
    assert bad.returncode == 2 and "codec_conv:NOPE" in bad.stderr


def test_replay_steps_through_an_encrypted_history(repo: Path) -> None:
    """`replaykit replay --data-converter`: decoded events at the stop and in the trace."""
    proc = subprocess.run(
        [
            REPLAYKIT,
            "replay",
            HISTORY,
            "-w",
            "codec_workflows",
            "--data-converter",
            "codec_conv:CONVERTER",
            "--break-at",
            "activity:ask_llm",
            "--trace",
        ],
        cwd=repo,
        input="p question\nn\np answer\nc\n",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert 'event:       5 ActivityTaskScheduled  ask_llm("Answer briefly: ' in out
    answers = [p.split("\n", 1)[0] for p in out.split("(Pdb) ")[1:]]
    assert answers[0].startswith("'") and answers[0] != "None"
    assert any(a.startswith("'answer to: Answer briefly: ") for a in answers)
    assert "issued by   codec_workflows.py:" in out  # the trace, decoded too
    assert 'ask_llm -> "answer to: Answer briefly: ' in out
