"""The Markdown summary of a check report (what ``shadow --summary-md`` appends to a CI job
summary), on verdicts of real replays of the recorded fixtures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from replaykit.check import CheckOptions, check_histories
from replaykit.check._report import (
    MARKDOWN_ROWS,
    format_markdown_summary,
    write_markdown_summary,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "histories"


def _report(tmp_path: Path) -> object:
    broken = tmp_path / "broken.json"
    broken.write_text('{"events": [')
    files = [*sorted((FIXTURES / "research_happy_path").glob("*.json")), broken]
    return check_histories(files, workflows=["reference_agents"], options=CheckOptions(), jobs=0)


def test_a_clean_report_and_a_failing_one_in_markdown(tmp_path: Path) -> None:
    report = _report(tmp_path)
    clean = dataclasses.replace(report, results=tuple(report.clean))  # type: ignore[type-var]
    text = format_markdown_summary(clean, title="replaykit shadow", details=["12 | listed"])
    assert text.startswith("### ✅ replaykit shadow: 1 history, none diverged")
    assert "12 \\| listed" in text and "| 1 | 0 | 0 | 0 | 0 |" in text
    assert "#### Diverged" not in text

    failing = format_markdown_summary(report)  # type: ignore[arg-type]
    assert failing.startswith("### ❌ replaykit check: 0 diverged, 1 error in 2 histories")
    assert "#### Could not be checked" in failing
    row = next(ln for ln in failing.splitlines() if "broken.json" in ln)
    assert row.count(" | ") == 2  # one row, three cells: the error text is one escaped line

    out = tmp_path / "summary.md"
    out.write_text("earlier step\n")
    write_markdown_summary(report, out)  # type: ignore[arg-type]
    write_markdown_summary(clean, out)
    text = out.read_text()
    heads = [ln for ln in text.splitlines() if ln.startswith("### ")]
    assert text.startswith("earlier step\n") and len(heads) == 2  # appended


def test_a_divergence_row_names_the_first_finding_and_long_lists_are_cut(tmp_path: Path) -> None:
    from replaykit.check import Divergence

    report = _report(tmp_path)
    clean = report.clean[0]  # type: ignore[attr-defined]
    finding = Divergence(
        kind="drift",
        cause="activity-input",
        message="activity search_web input changed",
        event_id=7,
        event_type="ActivityTaskScheduled",
    )
    diverged = dataclasses.replace(clean, status="divergent", divergences=(finding,))
    many = dataclasses.replace(report, results=(diverged,) * (MARKDOWN_ROWS + 3))  # type: ignore[type-var]
    text = format_markdown_summary(many)
    assert "[drift] activity search_web input changed (event 7)" in text
    assert text.count("| `") == MARKDOWN_ROWS and "… and 3 more" in text
