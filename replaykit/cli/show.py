"""`replaykit show`: render a history as an event timeline (terminal text or HTML)."""

from __future__ import annotations

import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.cli._options import cli_resolver, plugin_option, plugin_refs
from replaykit.history._codec import foreign_encodings
from replaykit.views._show import show_history


@click.command("show")
@click.argument("history", type=click.Path(dir_okay=False))
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="OUT",
    help="Write a self-contained HTML page (no scripts, no external "
    "assets) instead of printing the timeline.",
)
@click.option(
    "--workflows",
    "-w",
    multiple=True,
    metavar="MODULE",
    help="Check the history against these workflow modules (module or module:Class) "
    "and highlight the diverging events.",
)
@click.option(
    "--workflow-id",
    default=None,
    help="Workflow id for plain exports without metadata (default: the file stem).",
)
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="The DataConverter or PayloadCodec the histories were recorded with "
    "(payloads shown decoded). Default: [tool.replaykit] data_converter.",
)
@plugin_option
def command(
    history: str,
    html_out: str | None,
    workflows: tuple[str, ...],
    workflow_id: str | None,
    data_converter: str | None,
    plugins: tuple[str, ...],
) -> None:
    """Show every event of HISTORY with its relative time and a decoded summary.

    Exit code: 0 shown (and, with --workflows, clean), 1 the history diverges from the
    current code, 2 the file or a workflow module could not be read.
    """
    if workflows and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `replaykit check`: local workflow modules import
    try:
        converter = cli_resolver(data_converter=data_converter).data_converter().value
        if converter and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # a local converter module imports
        report = show_history(
            history,
            workflows=list(workflows),
            workflow_id=workflow_id,
            html_out=html_out,
            data_converter=converter,
            plugins=plugin_refs(plugins) if workflows else (),
        )
    except ReplaykitError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    if not converter:
        foreign = foreign_encodings(report.history.history)
        if foreign:
            click.echo(
                f"note: payloads use encoding {', '.join(map(repr, foreign))}, which the default "
                "data converter cannot read (a payload codec?); pass --data-converter "
                "MODULE:ATTR to see the values",
                err=True,
            )
    if report.html_path is None:
        click.echo(report.format_text(), nl=False)
    else:
        click.echo(f"wrote {report.html_path} ({len(report.events)} events)")
        if report.result is not None:
            click.echo(report.format_verdict(), nl=False)
    sys.stdout.flush()
    raise SystemExit(report.exit_code)
