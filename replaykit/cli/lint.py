"""`replaykit lint`: static determinism checks of workflow code."""

from __future__ import annotations

from collections.abc import Callable

import click

from replaykit.lint import LintReport, lint_paths
from replaykit.lint._format import format_json, format_rules, format_sarif, format_text

_FORMATTERS: dict[str, Callable[[LintReport], str]] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
}


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(_FORMATTERS)),
    default="text",
    show_default=True,
    help="Report format (sarif is for GitHub code scanning).",
)
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    help="Only these rules: comma-separated ids or names (RK101,random). Repeatable.",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="RULES",
    help="Skip these rules: comma-separated ids or names. Repeatable.",
)
@click.option("--list-rules", is_flag=True, help="Print the rules and exit.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    list_rules: bool,
) -> None:
    """Check workflow code in PATHS (files or folders) for replay hazards.

    Only code reachable from @workflow.defn classes is checked. Suppress a finding with a
    trailing `# replaykit: ignore[RK101]` (or a bare `# replaykit: ignore`).
    Exit status: 0 clean, 1 findings, 2 usage error or a path that could not be checked.
    """
    if list_rules:
        click.echo(format_rules(), nl=False)
        return
    if not paths:
        raise click.UsageError("give at least one file or folder to check")
    try:
        report = lint_paths(paths, select=select or None, ignore=ignore or None)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(_FORMATTERS[output_format](report), nl=False)
    if output_format != "text":  # text already lists them; keep machine output on stdout
        for error in report.errors:
            click.echo(f"error: {error.path}: {error.message}", err=True)
    ctx.exit(report.exit_code)
