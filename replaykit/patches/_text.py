"""The readable ``replaykit patches`` report: one table row per patch id, with reasons."""

from __future__ import annotations

from ._analysis import PatchReport

__all__ = ["format_patch_report"]


_VERDICT_LABEL = {
    "keep": "KEEP",
    "deprecate": "DEPRECATE OK",
    "keep-deprecated": "KEEP DEPRECATED",
    "remove": "REMOVE OK",
    "removed": "REMOVED OK",
    "unsafe": "UNSAFE",
}


def format_patch_report(report: PatchReport, *, details: bool = True) -> str:
    """The readable table ``replaykit patches`` prints, one row per patch id.

    Args:
        report: What :func:`analyze_patches` returned.
        details: Also list, under each row, the histories that need a branch or fail.
    """
    header = (
        "PATCH",
        "TYPES",
        "CODE",
        "MARKER",
        "OLD BRANCH",
        "FAILING",
        "DEPRECATE",
        "REMOVE",
        "VERDICT",
    )
    table: list[tuple[str, ...]] = [header]
    for r in report.rows:
        marker = f"{len(r.with_marker)}"
        if r.with_marker and len(r.active_markers) != len(r.with_marker):
            marker += f" ({len(r.with_marker) - len(r.active_markers)} deprecated)"
        table.append(
            (
                r.patch_id,
                ",".join(r.workflow_types),
                r.code_state,
                marker,
                str(len(r.old_branch)),
                str(len(r.failing)),
                "yes" if r.deprecate_safe else "no",
                "yes" if r.remove_safe else "no",
                _VERDICT_LABEL[r.verdict],
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines: list[str] = []
    for n, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            continue
        r = report.rows[n - 1]
        where = f" [{', '.join(r.sites)}]" if r.sites else ""
        lines.append(f"    reason: {r.reason}{where}")
        if details:
            for h in r.histories:
                if h.branch == "old" or not h.replays and h.branch != "not-reached":
                    status = "replays" if h.replays else f"FAILS {h.problem or ''}".rstrip()
                    label = "old branch" if h.branch == "old" else "marker"
                    lines.append(f"      {label:<10} {h.path}: {status}")
    if not report.rows:
        lines.append("no patch ids found in the code or in the histories")
    for w in report.warnings:
        lines.append(f"warning: {w}")
    for e in report.errors:
        lines.append(f"error: {e}")
    summary = (
        f"{len(report.rows)} patch id(s), {len(report.check.results)} histories replayed; "
        f"{len(report.unsafe)} unsafe"
    )
    lines.append(summary)
    return "\n".join(lines)
