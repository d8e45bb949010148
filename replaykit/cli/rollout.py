"""`replaykit rollout`: can I ramp a new deployment version, can I drain the old ones?"""

from __future__ import annotations

import json
import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.check._engine import CheckOptions, check_histories
from replaykit.check._rollout import rollout_report
from replaykit.cli._options import cli_resolver, plugin_option
from replaykit.history._versioning import parse_deployment_version


@click.command("rollout")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--workflows",
    "-w",
    multiple=True,
    metavar="MODULE",
    help="The new build's workflow modules. Default: [tool.replaykit] workflows.",
)
@click.option(
    "--deployment-version",
    default=None,
    metavar="NAME.BUILD_ID",
    help="The version being rolled out. Default: [tool.replaykit] deployment_version.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (default: CPU count; 0 = in this process).",
)
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="The DataConverter or PayloadCodec the histories were recorded with.",
)
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def command(
    paths: tuple[str, ...],
    workflows: tuple[str, ...],
    deployment_version: str | None,
    jobs: int | None,
    data_converter: str | None,
    plugins: tuple[str, ...],
    as_json: bool,
) -> None:
    """Per deployment version: PINNED / AUTO_UPGRADE executions, which still run, and whether
    the new code replays the ones that will run it (histories from `replaykit pull`).

    Exit code: 0 safe to ramp, 1 a running execution would fail on the new code, 2 usage or
    input errors.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        settings = cli_resolver(
            workflows=workflows,
            histories=paths,
            jobs=jobs,
            deployment_version=deployment_version,
            data_converter=data_converter,
            plugins=plugins,
        )
        wf = settings.workflows().value
        if not wf:
            raise click.UsageError("no workflows: pass --workflows MODULE")
        target = settings.deployment_version().value
        if not target:
            raise click.UsageError("pass --deployment-version NAME.BUILD_ID (the new build)")
        try:
            target = parse_deployment_version(target)
        except ValueError as err:
            raise click.UsageError(str(err)) from None
        targets = list(settings.histories().value)
        if not targets:
            raise click.UsageError("no history paths given and no [tool.replaykit] histories")
        options = CheckOptions.from_settings(settings, deployment_version=target)
        report = check_histories(targets, workflows=wf, options=options, jobs=settings.jobs().value)
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    rollout = rollout_report(report, target)
    if as_json:
        click.echo(json.dumps(rollout.to_json(), indent=2))
    else:
        click.echo(rollout.format_text(), nl=False)
    sys.stdout.flush()
    raise SystemExit(rollout.exit_code)
