"""``replaykit shadow --from DIR``: history files through the shadow's pipeline, no server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from replaykit.cli.shadow import command

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
