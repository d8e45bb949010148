"""``replaykit shadow status ID``: a detached on-Temporal shadow's progress, or its report."""

from __future__ import annotations

import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.check._report import format_result_line, format_summary, write_junit_xml
from replaykit.cli._options import server_options, server_spec_from_options
from replaykit.cli._progress import Progress, ShadowProgressLine, describe_progress

__all__ = ["status"]


@click.command("status")
@click.argument("workflow_id", metavar="ID")
@click.option("--wait", is_flag=True, help="Follow the progress until the shadow finishes.")
@click.option(
    "--json-report", type=click.Path(dir_okay=False), default=None, help="Write the JSON report."
)
@click.option(
    "--junit-xml", type=click.Path(dir_okay=False), default=None, help="Write a JUnit XML report."
)
@click.option("-q", "--quiet", is_flag=True, help="Print only what failed and the summary.")
@server_options
def status(
    workflow_id: str,
    wait: bool,
    json_report: str | None,
    junit_xml: str | None,
    quiet: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Progress of a shadow started with --on-temporal --detach; its report once finished.

    --server and --namespace name where the coordinator runs.

    Exit code: 3 while it is still running (without --wait); once finished, shadow's: 0 all
    clean, 1 at least one divergence, 2 an execution could not be checked.
    """
    from replaykit.shadow._distributed import shadow_status
    from replaykit.shadow._shadow import write_shadow_json

    progress = Progress(enabled=sys.stderr.isatty() and not os.environ.get("CI"))
    try:
        spec = server_spec_from_options(
            server=server, address=address, namespace=namespace, db_filename=db_filename
        )
        now, report = shadow_status(
            spec,
            workflow_id,
            wait=wait,
            on_progress=ShadowProgressLine(progress, quiet=quiet).update if wait else None,
        )
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    progress.close()
    if report is None:
        click.echo(f"shadow {workflow_id}: {describe_progress(now)}")
        raise SystemExit(3)
    for result in report.check.results:
        if not (quiet and result.status == "clean"):
            click.echo(format_result_line(result))
    if json_report:
        write_shadow_json(report, json_report)
    if junit_xml:
        write_junit_xml(report.check, junit_xml)
    click.echo(report.describe())
    click.echo(format_summary(report.check))
    raise SystemExit(report.exit_code)
