"""``replaykit shadow --from DIR``: history files through the shadow's pipeline, no server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import temporalio.api.export.v1
from click.testing import CliRunner

from replaykit.cli.shadow import command
from replaykit.history import load_history
from replaykit.shadow import ShadowOptions, in_sample, shadow_folder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"


def _folder(tmp_path: Path) -> Path:
    out = tmp_path / "histories"
    for name in ("research_happy_path", "monitoring_continue_as_new", "openai_tool_agent"):
        shutil.copytree(FIXTURES / name, out / name)
    return out


def test_a_folder_is_shadowed_like_check_with_duplicates_judged_once(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    files = sorted(folder.rglob("*.json"))
    twice = tmp_path / "exported-again"
    twice.mkdir()
    shutil.copy(files[0], twice / "same-run.json")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        command,
        ["--from", str(folder), "--from", str(twice), "-w", "reference_agents", "-j", "1"]
        + ["--json-report", str(report)],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    assert body["summary"]["histories"] == len(files)
    assert body["shadow"]["duplicates"] == 1 and body["shadow"]["selected"] == len(files)
    assert "1 duplicate" in result.output


def test_an_unreadable_file_is_an_input_error_and_the_rest_is_still_judged(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path)
    (folder / "broken.json").write_text('{"events": [')
    result = CliRunner().invoke(
        command, ["--from", str(folder), "-w", "reference_agents", "-j", "1", "--limit", "2"]
    )
    assert result.exit_code == 2, result.output
    assert "ERROR" in result.output and "broken.json" in result.output
    assert "2 selected" in result.output and "stopped by limit" in result.output


def test_query_with_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command, ["--from", str(tmp_path), "--query", "x", "-w", "reference_agents"]
    )
    assert result.exit_code == 2
    assert "--query applies to a cluster" in result.output


def _export(path: Path, *sources: str) -> None:
    """A Cloud Export file (binary WorkflowExecutions) of fixture histories."""
    items = [
        temporalio.api.export.v1.WorkflowExecution(history=load_history(FIXTURES / s).history)
        for s in sources
    ]
    path.write_bytes(temporalio.api.export.v1.WorkflowExecutions(items=items).SerializeToString())


def test_cloud_export_files_with_duplicates_are_judged_once_each(tmp_path: Path) -> None:
    exports = tmp_path / "export" / "2026" / "12"
    exports.mkdir(parents=True)
    research = "research_happy_path/research-1.json"
    agent = "openai_tool_agent/openai-agent-1.json"
    support = "support_conversation/support-1.json"
    _export(exports / "a.bin", research, agent)
    _export(exports / "b.bin", agent, support, agent)  # at-least-once: delivered again
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        command,
        ["--from-export", str(tmp_path / "export"), "-w", "reference_agents", "-j", "1"]
        + ["--json-report", str(report)],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(report.read_text())
    assert body["shadow"]["listed"] == 5 and body["shadow"]["duplicates"] == 2
    assert sorted(r["workflow_id"] for r in body["results"]) == [
        "openai-agent-1",
        "research-1",
        "support-1",
    ]
    assert {r["status"] for r in body["results"]} == {"clean"}

    # A history whose started event has no workflow id, and a file that is no export.
    _export(exports / "c.bin", "monitoring_continue_as_new/monitoring-1.json")
    (exports / "d.bin").write_bytes(b"\x00\x01not protobuf at all")
    result = CliRunner().invoke(
        command, ["--from-export", str(tmp_path / "export"), "-w", "reference_agents", "-j", "1"]
    )
    assert result.exit_code == 2, result.output
    assert "no workflow id" in result.output and "not a Cloud Export file" in result.output
    assert "3 clean" in result.output


def test_the_sample_and_the_deadline_select_in_process_too(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    runs = [load_history(p).run_id or "" for p in sorted(folder.rglob("*.json"))]
    chosen = sum(in_sample(r, 0.5) for r in runs)
    assert 0 < chosen < len(runs)
    result = CliRunner().invoke(
        command, ["--from", str(folder), "-w", "reference_agents", "--sample", "0.5", "-j", "0"]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(runs)} listed, {chosen} selected" in result.output
    assert f"{chosen} histor" in result.output

    report = shadow_folder(
        [folder], workflows=["reference_agents"], shadow=ShadowOptions(max_duration=1e-9), jobs=0
    )
    assert (report.selected, report.stopped, report.check.results) == (0, "max-duration", ())


def test_summary_md_appends_the_verdict_for_a_ci_job_summary(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "broken.json").write_text('{"events": [')
    summary = tmp_path / "step_summary.md"
    result = CliRunner().invoke(
        command,
        ["--from", str(folder), "-w", "reference_agents", "-j", "0", "--limit", "2"]
        + ["--summary-md", str(summary)],
    )
    assert result.exit_code == 2, result.output
    text = summary.read_text()
    assert text.startswith("### ❌ replaykit shadow: 0 diverged, 1 error in 3 histories")
    assert "2 selected" in text and "broken.json" in text
