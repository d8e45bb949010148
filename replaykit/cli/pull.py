"""``replaykit pull``: fetch histories of a cluster's executions into history files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.record._pull import PullItem, PullProgress, run_pull, versioning_query

from ._options import server_options, server_spec_from_options

__all__ = ["command"]


def _progress_printer(*, quiet: bool) -> tuple[PullProgress | None, list[Any]]:
    """A progress bar on a terminal, one line per item otherwise (nothing when quiet)."""
    bars: list[Any] = []
    if quiet:
        return None, bars
    if sys.stderr.isatty():

        def bar(item: PullItem, done: int, total: int) -> None:
            if not bars:
                bars.append(click.progressbar(length=total, label="pulling", file=sys.stderr))
                bars[0].__enter__()
            bars[0].update(1)

        return bar, bars

    def lines(item: PullItem, done: int, total: int) -> None:
        detail = f"{item.events} events" if item.status == "fetched" else item.error or ""
        click.echo(f"[{done}/{total}] {item.status} {item.path.name} {detail}".rstrip(), err=True)

    return lines, bars


@click.command("pull")
@click.option("--query", "query", default=None, help="Visibility query (default: every execution).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the history files (<workflow id>__<run id>.json).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Pull at most N executions."
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Histories fetched at once.",
)
@click.option(
    "--deployment-version",
    default=None,
    metavar="NAME.BUILD_ID",
    help="Only executions on this Worker Deployment version.",
)
@click.option(
    "--versioning-behavior",
    default=None,
    type=click.Choice(["pinned", "auto-upgrade"]),
    help="Only PINNED or only AUTO_UPGRADE executions (the effective behaviour).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@server_options
def command(
    query: str | None,
    out_dir: Path,
    limit: int | None,
    concurrency: int,
    deployment_version: str | None,
    versioning_behavior: str | None,
    quiet: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Fetch histories of a cluster's executions (resumable: present files are skipped).

    Exit codes: 0 all pulled, 1 some histories failed, 2 bad options, address or query.
    """
    spec = server_spec_from_options(
        server=server, address=address, namespace=namespace, db_filename=db_filename
    )
    progress, bars = _progress_printer(quiet=quiet)
    try:
        query = versioning_query(
            query, deployment_version=deployment_version, versioning_behavior=versioning_behavior
        )
        report = run_pull(
            spec,
            query=query,
            out_dir=out_dir,
            limit=limit,
            concurrency=concurrency,
            progress=progress,
        )
    except ReplaykitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for item in report.failed:
        click.echo(f"failed: {item.workflow_id} {item.run_id}: {item.error}", err=True)
    click.echo(
        f"pulled {len(report.fetched)}, skipped {len(report.skipped)} already present, "
        f"failed {len(report.failed)} -> {report.out_dir}"
    )
    sys.exit(0 if report.ok else 1)
