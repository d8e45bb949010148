"""The reference agents pass `replaykit lint` with no suppression comments (issue: lint in CI)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from replaykit import lint_paths
from replaykit.cli import main

AGENTS = Path(__file__).resolve().parent.parent.parent / "reference_agents"


def test_reference_agents_are_lint_clean_without_suppressions() -> None:
    report = lint_paths([AGENTS])
    assert report.files_checked >= 10
    assert list(report.findings) == [], [f"{f.path}:{f.line} {f.rule}" for f in report.findings]
    for path in AGENTS.rglob("*.py"):
        assert "replaykit: ignore" not in path.read_text(), f"suppression comment in {path}"


def test_lint_cli_exit_code_on_reference_agents() -> None:
    result = CliRunner().invoke(main, ["lint", str(AGENTS)])
    assert result.exit_code == 0, result.output
