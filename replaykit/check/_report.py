"""Rendering check reports: terminal text, JSON, JUnit XML and a Markdown summary."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from replaykit.history._files import atomic_write_text

from ._budget import format_budget
from ._divergence import CheckReport, Divergence, HistoryResult, format_output

__all__ = [
    "display_path",
    "failed",
    "format_budget_section",
    "format_markdown_summary",
    "format_result_line",
    "format_summary",
    "write_json_report",
    "write_junit_xml",
    "write_markdown_summary",
]


def display_path(path: str | os.PathLike[str] | None) -> str:
    """A path relative to the current folder when it is below it, else as given (a URL,
    such as an object-store export file's, as given)."""
    if path is None:
        return "?"
    text = os.fspath(path)
    if "://" in text:
        return text
    try:
        rel = os.path.relpath(text)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel


_rel = display_path


def _grouped(divergences: Sequence[Divergence]) -> list[tuple[Divergence, list[int]]]:
    """Identical findings at several events (parallel activities) shown once."""
    groups: dict[tuple[object, ...], tuple[Divergence, list[int]]] = {}
    for d in divergences:
        key = (d.kind, d.cause, d.subject, d.field, d.message, d.diff, d.source)
        if key in groups:
            if d.event_id is not None:
                groups[key][1].append(d.event_id)
        else:
            groups[key] = (d, [])
    return list(groups.values())


def failed(result: HistoryResult) -> bool:
    """Whether a result is one ``-q`` keeps: it diverged or could not be checked."""
    return result.status in ("divergent", "error")


def format_result_line(
    result: HistoryResult,
    *,
    why: bool = False,
    verbose: bool = False,
    budget_fails: bool | None = None,
) -> str:
    """One verdict line, then the explanation of a divergence or error, indented.

    Args:
        result: The verdict.
        why: Add, for a replayed history, which part of its verdict-cache key changed
            (``--why-rechecked``), and why a pass was not stored.
        verbose: List each finding that passes (an option change, a kind not in
            ``fail_on``) and each allowed one, one line each, instead of only counting them.
        budget_fails: Whether budgets fail the check (``budget`` in ``fail_on``): a diverged
            history whose budget is flagged then points at the budget section (None: only
            when it has no other finding).
    """
    line = _result_line(result, budget_fails=budget_fails)
    if verbose:
        passing = result.divergences if result.status != "divergent" else ()
        for label, found in (("reported", passing), ("allowed", result.allowed)):
            line += "".join(f"\n    {label}: {_finding_line(d)}" for d in found)
    if why and not result.reused and (result.recheck_reason or result.not_stored):
        if result.recheck_reason:
            line += f"\n    rechecked: {result.recheck_reason}"
        if result.not_stored:
            line += f"\n    not stored: {result.not_stored}"
    if result.output and failed(result):
        line += "\n" + format_output(result.output, indent="    ")
    return line


def _finding_line(d: Divergence) -> str:
    """One finding on one line: what, which field, recorded -> current, where."""
    if d.subject and d.field and (d.recorded is not None or d.current is not None):
        text = f"[{d.kind}] {d.subject}: {d.field}: {_short(d.recorded)} → {_short(d.current)}"
    else:
        text = f"[{d.kind}] {d.message}"
    if d.event_id is not None:
        text += f" (event {d.event_id})"
    if d.source:
        text += f" at {d.source}"
    return text


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result_line(result: HistoryResult, *, budget_fails: bool | None = None) -> str:
    name = _rel(result.path) if result.path else (result.workflow_id or "?")
    if result.reused:
        extra = f"  ({len(result.divergences)} reported, passing)" if result.divergences else ""
        return f"reused    {name}  (verdict cache: nothing it depends on changed){extra}"
    if result.status == "error":
        return f"ERROR     {name}: {result.error}"
    if result.status == "pinned":
        would = (
            f" ({len(result.divergences)} finding(s) if it ran this code)"
            if result.divergences
            else ""
        )
        return f"pinned    {name}  {result.pinned_reason}{would}"
    if result.status == "clean":
        extra = f"  ({len(result.divergences)} reported, passing)" if result.divergences else ""
        return f"ok        {name}{extra}"
    versioning = (
        f" · {result.versioning.describe()}"
        if result.versioning is not None and result.versioning.versioned
        else ""
    )
    lines = [
        f"DIVERGED  {name}  [{result.workflow_type} · workflow id {result.workflow_id}{versioning}]"
    ]
    groups = _grouped(result.divergences)
    for d, more in groups[:3]:
        text = d.describe().splitlines()
        if more:
            text.insert(
                1, f"  (same at event{'s' if len(more) > 1 else ''} {', '.join(map(str, more))})"
            )
        lines.extend("    " + ln for ln in text)
    if len(groups) > 3:
        lines.append(f"    … and {len(groups) - 3} more (see --json-report)")
    # Budget findings are printed once, in the budget section after every result (a chain's
    # runs are measured together only once all have replayed); a history that fails on its
    # budget alone says where to look.
    if (
        (budget_fails or (budget_fails is None and not result.divergences))
        and result.budget is not None
        and result.budget.flagged
    ):
        lines.append("    its history budget fails (see History budgets below)")
    return "\n".join(lines)


def format_budget_section(
    report: CheckReport, *, verbose: bool = False, quiet: bool = False
) -> str:
    """History budgets: every flagged history (every history with a loop when verbose).

    The one place budget findings are printed. ``quiet`` keeps only the histories whose
    budget fails the check (``--fail-on budget``): nothing when no budget failed.
    """
    fails_on_budget = "budget" in report.options.get("fail_on", ())
    lines: list[str] = []
    shown = 0
    for r in report.results:
        budget = r.budget
        if budget is None:
            continue
        if quiet:
            if not (fails_on_budget and budget.flagged and r.status == "divergent"):
                continue
        elif not (budget.flagged or (verbose and budget.loops)):
            continue
        shown += budget.flagged
        name = _rel(r.path) if r.path else (r.workflow_id or "?")
        lines.append(f"  {name}")
        lines.extend("    " + ln for ln in format_budget(budget))
    if not lines:
        return ""
    verb = "failing" if quiet else "flagged"
    head = f"History budgets: {shown} histor{'y' if shown == 1 else 'ies'} {verb}"
    return "\n".join([head, *lines])


def format_summary(report: CheckReport) -> str:
    """The closing summary line."""
    n = len(report.results)
    reused = len(report.reused)
    clean = f"{len(report.clean)} clean" + (f" ({reused} reused)" if reused else "")
    note = report.options.get("verdict_cache_note")
    return (
        (f"verdict cache off: {note}\n" if note else "")
        + f"{n} histor{'y' if n == 1 else 'ies'} checked in {report.seconds:.1f} s: "
        f"{clean}, {len(report.divergent)} diverged, "
        + (f"{len(report.pinned)} pinned to other versions, " if report.pinned else "")
        + f"{len(report.errors)} error{'s' if len(report.errors) != 1 else ''}"
    )


def write_json_report(report: CheckReport, path: Path | str) -> None:
    """The whole report as JSON (atomically)."""
    atomic_write_text(Path(path), json.dumps(report.to_json(), indent=2) + "\n")


def write_junit_xml(report: CheckReport, path: Path | str, *, suite: str = "replaykit") -> None:
    """JUnit XML with one testcase per history file."""
    root = ET.Element(
        "testsuites",
        name=suite,
        tests=str(len(report.results)),
        failures=str(len(report.divergent)),
        errors=str(len(report.errors)),
        time=f"{report.seconds:.3f}",
    )
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(report.results)),
        failures=str(len(report.divergent)),
        errors=str(len(report.errors)),
        skipped=str(len(report.pinned)),
        time=f"{report.seconds:.3f}",
    )
    for r in report.results:
        case = ET.SubElement(
            ts,
            "testcase",
            classname=f"{suite}.{r.workflow_type or 'history'}",
            name=_rel(r.path) if r.path else (r.workflow_id or "?"),
            time=f"{r.seconds:.3f}",
        )
        props_values: list[tuple[str, str | None]] = []
        if r.versioning is not None and r.versioning.versioned:
            props_values += [
                ("versioning_behavior", r.versioning.behavior),
                ("deployment_version", r.versioning.version),
                ("versioning_override", r.versioning.override),
            ]
        if r.reused:
            props_values.append(("replaykit.reused", "true"))
        elif r.recheck_reason:
            props_values.append(("replaykit.recheck_reason", r.recheck_reason))
        if any(value for _, value in props_values):
            props = ET.SubElement(case, "properties")
            for key, value in props_values:
                if value:
                    ET.SubElement(props, "property", name=key, value=value)
        if r.status == "error":
            el = ET.SubElement(case, "error", message=r.error or "error", type="input-error")
            el.text = r.error
        elif r.status == "pinned":
            ET.SubElement(case, "skipped", message=r.pinned_reason or "pinned")
        elif r.status == "divergent" and r.first is None and r.budget is not None:
            el = ET.SubElement(
                case,
                "failure",
                type="budget",
                message=r.budget.findings[0].message if r.budget.findings else "history budget",
            )
            el.text = "\n".join(format_budget(r.budget))
        elif r.status == "divergent":
            first = r.first
            el = ET.SubElement(
                case,
                "failure",
                message=first.message if first else "diverged",
                type=first.kind if first else "divergence",
            )
            el.text = r.describe()
        elif r.divergences:
            out = ET.SubElement(case, "system-out")
            out.text = r.describe()
    ET.indent(root)
    atomic_write_text(
        Path(path), ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    )


#: Rows of diverged (and of error) histories a Markdown summary lists, at most.
MARKDOWN_ROWS = 50


def _md_cell(text: str) -> str:
    """One line of text, safe inside a Markdown table cell."""
    line = " ".join(text.split())
    if len(line) > 200:
        line = line[:199] + "…"
    return line.replace("\\", "\\\\").replace("|", "\\|")


def format_markdown_summary(
    report: CheckReport, *, title: str = "replaykit check", details: Sequence[str] = ()
) -> str:
    """A Markdown summary of a report (for a CI job summary such as GitHub's
    ``$GITHUB_STEP_SUMMARY``): the verdict, the counts, and a table of the diverged and of
    the unreadable histories (the first :data:`MARKDOWN_ROWS` of each) with their first
    finding.

    Args:
        report: The report.
        title: The heading's text.
        details: Lines shown under the heading as they are (e.g. a shadow's counts).
    """
    n = len(report.results)
    divergent, errors = report.divergent, report.errors
    if report.exit_code == 0:
        verdict = f"✅ {title}: {n} histor{'y' if n == 1 else 'ies'}, none diverged"
    else:
        verdict = (
            f"❌ {title}: {len(divergent)} diverged, {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''} in {n} histor{'y' if n == 1 else 'ies'}"
        )
    lines = [f"### {verdict}", ""]
    lines.extend(f"{_md_cell(d)}  " for d in details)
    if details:
        lines.append("")
    lines += [
        "| clean | diverged | pinned | errors | reused |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(report.clean)} | {len(divergent)} | {len(report.pinned)} | {len(errors)} "
        f"| {len(report.reused)} |",
    ]
    for heading, rows in (("Diverged", divergent), ("Could not be checked", errors)):
        if not rows:
            continue
        lines += ["", f"#### {heading}", "", "| history | workflow type | first finding |"]
        lines.append("|---|---|---|")
        for r in rows[:MARKDOWN_ROWS]:
            if r.status == "error":
                finding = r.error or "error"
            elif r.first is not None:
                finding = r.first.describe().splitlines()[0]
                if r.first.event_id is not None:
                    finding += f" (event {r.first.event_id})"
            else:
                finding = "over its history budget"
            name = display_path(r.path) if r.path else (r.workflow_id or "?")
            lines.append(
                f"| `{_md_cell(name)}` | {_md_cell(r.workflow_type or '?')} | {_md_cell(finding)} |"
            )
        if len(rows) > MARKDOWN_ROWS:
            lines.append(f"\n… and {len(rows) - MARKDOWN_ROWS} more (see the JSON report)")
    return "\n".join(lines) + "\n"


def write_markdown_summary(
    report: CheckReport,
    path: Path | str,
    *,
    title: str = "replaykit check",
    details: Sequence[str] = (),
) -> None:
    """Append :func:`format_markdown_summary` to ``path`` (a job summary file collects what
    each step appends; a new file is created)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(format_markdown_summary(report, title=title, details=details) + "\n")
