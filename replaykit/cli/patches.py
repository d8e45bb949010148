"""`replaykit patches`: the workflow.patched() lifecycle, and old-branch histories on demand."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from replaykit._internal._errors import ReplaykitError
from replaykit._internal._imports import put_workdir_on_path
from replaykit.check._engine import CheckOptions
from replaykit.cli._options import (
    cli_resolver,
    plugin_option,
    plugin_refs,
    server_groups,
    server_options,
    server_spec_from_options,
)
from replaykit.config._config import load_project_config
from replaykit.integrations._plugins import load_plugins
from replaykit.patches._analysis import analyze_patches
from replaykit.patches._prepatch import generate_pre_patch_groups
from replaykit.patches._text import format_patch_report
from replaykit.record._record import RecordedScenario
from replaykit.record._scenario import load_scenarios


@click.command("patches")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--workflows",
    "-w",
    multiple=True,
    metavar="MODULE",
    help="Module(s) whose @workflow.defn classes are the current code (module:Class "
    "picks one). Default: [tool.replaykit] workflows.",
)
@click.option(
    "--workflow-id",
    default=None,
    help="Workflow id for plain exports without metadata (default: file name stem).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-sandbox", is_flag=True, help="Replay without the SDK sandbox.")
@click.option(
    "--generate-old",
    "generate_old",
    multiple=True,
    metavar="SCENARIO_FILE",
    help="Instead of reporting: run the scenarios in SCENARIO_FILE (repeatable) with "
    "every workflow.patched() held off and write the old-branch histories to --out.",
)
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="With --generate-old: folder for the old-branch histories.",
)
@click.option(
    "-k",
    "pattern",
    default=None,
    help="With --generate-old: only scenarios whose name contains/matches it.",
)
@click.option(
    "--patch",
    "patch_ids",
    multiple=True,
    metavar="ID",
    help="With --generate-old: hold off only these patch ids (default: all).",
)
@click.option("--overwrite", is_flag=True, help="With --generate-old: replace existing files.")
@plugin_option
@server_options
def command(
    paths: tuple[str, ...],
    workflows: tuple[str, ...],
    workflow_id: str | None,
    as_json: bool,
    no_sandbox: bool,
    generate_old: tuple[str, ...],
    out: str | None,
    pattern: str | None,
    patch_ids: tuple[str, ...],
    overwrite: bool,
    plugins: tuple[str, ...],
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """For every patch id in the code (workflow.patched / deprecate_patch calls) or in the
    histories under PATHS (patch markers): how many histories recorded the marker, how many
    took the old branch, whether the current code replays them all, and whether the patch
    can be deprecated or removed.

    Exit code: 0 ok, 1 the current code fails a history that needs one of the branches (a
    lifecycle step was taken too early), 2 usage or input errors.

    With --generate-old SCENARIO_FILE --out DIR: record old-branch histories from the
    current code (exit 1 if a scenario failed).
    """
    put_workdir_on_path()
    config = load_project_config()
    if generate_old:
        if paths:
            raise click.UsageError("--generate-old takes scenario files; give no PATHS")
        if not out:
            raise click.UsageError("--generate-old needs --out DIR")
        flags: dict[str, Any] = {
            "server": server,
            "address": address,
            "namespace": namespace,
            "db_filename": db_filename,
            "project": config,
        }
        server_spec_from_options(**flags)  # validate the flags before running anything
        _generate(
            list(generate_old), out, pattern, patch_ids, overwrite, flags, plugin_refs(plugins)
        )
        return
    if out or pattern or patch_ids or overwrite:
        raise click.UsageError("--out, -k, --patch and --overwrite go with --generate-old")
    try:
        settings = cli_resolver(config, workflows=workflows, histories=paths, plugins=plugins)
        wf = settings.workflows().value
        if not wf:
            raise click.UsageError(
                "no workflows: pass --workflows MODULE or set "
                "[tool.replaykit] workflows in pyproject.toml"
            )
        targets = list(settings.histories().value)
        if not targets:
            raise click.UsageError("no history paths given and no [tool.replaykit] histories")
        report = analyze_patches(
            targets,
            workflows=wf,
            workflow_id=workflow_id,
            options=CheckOptions.from_settings(
                settings, sandbox=not no_sandbox, deployment_version=None
            ),
        )
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(format_patch_report(report))
    sys.stdout.flush()
    raise SystemExit(report.exit_code)


def _generate(
    files: list[str],
    out: str,
    pattern: str | None,
    patch_ids: tuple[str, ...],
    overwrite: bool,
    server_flags: dict[str, Any],
    plugins: tuple[str, ...],
) -> None:
    try:
        scenarios = load_scenarios(files, pattern=pattern)
        plugin_list = load_plugins(plugins)
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if not scenarios:
        raise click.UsageError(
            f"no scenarios found in {', '.join(files)}"
            + (f" matching -k {pattern!r}" if pattern else "")
        )

    def on_done(rec: RecordedScenario, held: tuple[str, ...]) -> None:
        status = "ok    " if rec.ok else "FAILED"
        what = ", ".join(held) if held else "none (the code evaluated no new patch)"
        click.echo(
            f"{status} {rec.outcome.name}: {len(rec.files)} old-branch histor"
            f"{'y' if len(rec.files) == 1 else 'ies'} written; patches held off: {what}"
        )
        for path in rec.files:
            click.echo(f"         {os.path.relpath(path)}")
        for path in rec.skipped_existing:
            click.echo(f"         kept existing {os.path.relpath(path)} (use --overwrite)")
        if rec.outcome.error is not None:
            err = rec.outcome.error
            click.echo(f"         scenario raised {type(err).__name__}: {err}")

    specs = server_groups(scenarios, **server_flags)

    try:
        ok = generate_pre_patch_groups(
            specs,
            out_dir=out,
            patch_ids=list(patch_ids) or None,
            overwrite=overwrite,
            on_done=on_done,
            plugins=plugin_list,
        ).ok
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    sys.stdout.flush()
    raise SystemExit(0 if ok else 1)
