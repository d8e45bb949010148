"""``replaykit shadow --from-export s3://...``: Cloud Export files in a real S3-compatible
server (moto's server mode, started by the test; boto talks HTTP to it as to AWS), read
through fsspec and s3fs as users read their bucket. No Temporal server is needed."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit.cli.shadow import command
from replaykit.shadow import ShadowOptions, shadow_export

from .test_shadow_folder_cli import _export

pytestmark = pytest.mark.integration

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

ROOT = Path(__file__).resolve().parents[2]
RESEARCH = "research_happy_path/research-1.json"
AGENT = "openai_tool_agent/openai-agent-1.json"
SUPPORT = "support_conversation/support-1.json"
APPROVAL = "approval_rejected/approval-rejected-1.json"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The standard AWS environment pointing at the test's server (what a user sets)."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


def _upload(tmp_path: Path, bucket: str) -> Path:
    """The same export files in a local folder and under ``s3://bucket/export/``."""
    import fsspec

    folder = tmp_path / "export"
    (folder / "2026" / "12").mkdir(parents=True)
    _export(folder / "2026" / "12" / "a.bin", RESEARCH, AGENT)
    _export(folder / "2026" / "12" / "b.bin", AGENT, SUPPORT, AGENT)  # delivered again
    _export(folder / "2026" / "13.bin", APPROVAL, RESEARCH)  # across files too
    (folder / ".marker").write_bytes(b"hidden files are not exports")
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(bucket)
    fs.put(str(folder) + "/", f"{bucket}/export/", recursive=True)
    assert len(fs.find(f"{bucket}/export")) == 4
    return folder


def _judged(body: dict[str, object]) -> list[tuple[str, str, str]]:
    results = body["results"]
    assert isinstance(results, list)
    return sorted((r["path"], r["workflow_id"], r["status"]) for r in results)


def test_export_files_in_s3_are_judged_once_each_as_from_a_folder(
    aws_env: str, tmp_path: Path
) -> None:
    folder = _upload(tmp_path, "exports-a")
    reports = {}
    for name, source in (("s3", "s3://exports-a/export"), ("folder", str(folder))):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(
            command,
            ["--from-export", source, "-w", "reference_agents", "-j", "1"]
            + ["--json-report", str(out)],
        )
        assert result.exit_code == 0, result.output
        reports[name] = json.loads(out.read_text())
    s3, local = reports["s3"], reports["folder"]
    assert s3["shadow"]["listed"] == 7 and s3["shadow"]["duplicates"] == 3
    assert s3["shadow"]["selected"] == 4 and s3["summary"]["clean"] == 4
    assert [w for _, w, _ in _judged(s3)] == sorted(
        ["research-1", "openai-agent-1", "support-1", "approval-rejected-1"]
    )
    assert _judged(s3) == _judged(local)
    for key in ("listed", "selected", "duplicates"):
        assert s3["shadow"][key] == local["shadow"][key]


def test_objects_are_read_as_the_replay_needs_them_not_the_whole_bucket_first(
    aws_env: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _upload(tmp_path, "exports-d")
    caplog.set_level(logging.INFO, logger="werkzeug")  # the S3 server's request log
    report = shadow_export(
        ["s3://exports-d/export"],
        workflows=["reference_agents"],
        shadow=ShadowOptions(limit=2, fetch_concurrency=1),
        jobs=0,
    )
    assert report.selected == 2 and report.stopped == "limit" and report.exit_code == 0
    gets = [r.getMessage() for r in caplog.records if '"GET /exports-d/export/' in r.getMessage()]
    read = sorted(m.split('"GET /exports-d/export/')[1].split()[0] for m in gets)
    # a.bin holds the two selected runs; b.bin was read to learn the limit was reached;
    # 13.bin, listed but not needed, was never downloaded.
    assert read == ["2026/12/a.bin", "2026/12/b.bin"]


def test_the_endpoint_can_be_given_as_a_storage_option(
    s3_endpoint: str, aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(tmp_path, "exports-b")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = CliRunner().invoke(
        command,
        ["--from-export", "s3://exports-b/export/2026/13.bin", "-w", "reference_agents"]
        + ["-j", "0", "--storage-option", f"endpoint_url={s3_endpoint}"],
    )
    assert result.exit_code == 0, result.output
    assert "2 listed, 2 selected" in result.output


def test_a_missing_prefix_or_object_is_an_input_error(aws_env: str, tmp_path: Path) -> None:
    folder = _upload(tmp_path, "exports-c")
    (folder / "2026" / "12" / "broken.bin").write_bytes(b"\x00\x01not protobuf at all")
    import fsspec

    fsspec.filesystem("s3", skip_instance_cache=True).put(
        str(folder / "2026" / "12" / "broken.bin"), "exports-c/export/broken.bin"
    )
    result = CliRunner().invoke(
        command,
        ["--from-export", "s3://exports-c/export", "--from-export", "s3://exports-c/nothing"]
        + ["-w", "reference_agents", "-j", "0"],
    )
    assert result.exit_code == 2, result.output
    assert "s3://exports-c/nothing" in result.output and "no export files there" in result.output
    assert "s3://exports-c/export/broken.bin" in result.output
    assert "not a Cloud Export file" in result.output
    assert "4 clean" in result.output


def test_a_url_whose_library_is_missing_names_what_to_install(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command, ["--from-export", "nosuchproto://bucket/x", "-w", "reference_agents"]
    )
    assert result.exit_code == 2
    assert "nosuchproto://" in result.output
    result = CliRunner().invoke(
        command, ["--from-export", str(tmp_path / "missing"), "-w", "reference_agents"]
    )
    assert result.exit_code == 2 and "no such file or folder" in result.output


@pytest.mark.parametrize("missing", ["s3fs", "fsspec"])
def test_without_the_s3_extra_the_error_names_it(missing: str) -> None:
    # A process of its own where the package cannot be imported, as if not installed.
    code = f"import sys; sys.modules[{missing!r}] = None; from replaykit.cli import run; run()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "shadow", "--from-export", "s3://bucket/export"]
        + ["-w", "reference_agents"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'replaykit[s3]'" in proc.stderr, proc.stderr
