"""`replaykit record`: run scenarios on a real server and save every execution's history."""

from __future__ import annotations

import logging
import sys
import warnings

import click

from replaykit._internal._errors import ReplaykitError
from replaykit._internal._imports import put_workdir_on_path
from replaykit._internal._sdk_compat import SDK_ACTIVITY_LOGGERS, SDK_WORKFLOW_TASK_LOGGER
from replaykit.check._divergence import format_output
from replaykit.check._report import display_path
from replaykit.cli._options import (
    cli_resolver,
    plugin_option,
    server_groups,
    server_options,
    server_spec_from_options,
)
from replaykit.config._config import load_project_config
from replaykit.config._settings import resolve
from replaykit.history._codec import load_data_converter
from replaykit.integrations._plugins import load_plugins
from replaykit.record._record import RecordedScenario, record_groups
from replaykit.record._scenario import load_scenarios
from replaykit.servers import RunningServer


@click.command("record")
@click.argument("scenario_files", nargs=-1)
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the history files (default: [tool.replaykit] histories).",
)
@click.option("-k", "pattern", default=None, help="Only scenarios whose name contains/matches it.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing history files (default: keep them and say so).",
)
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="DataConverter or PayloadCodec for the client and worker (as in "
    "production). Default: [tool.replaykit] data_converter.",
)
@click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Seconds each scenario may run before it fails (default: the scenario's own "
    "timeout=, else 300). A failed workflow task fails the scenario at once anyway.",
)
@plugin_option
@server_options
def command(
    scenario_files: tuple[str, ...],
    out: str | None,
    pattern: str | None,
    overwrite: bool,
    data_converter: str | None,
    timeout: float | None,
    plugins: tuple[str, ...],
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Run each scenario in SCENARIO_FILES with a worker hosting its workflows and activities,
    and write one history file per workflow execution it produced (children and every run
    of a continue-as-new chain included).

    Exit code: 0 all scenarios passed, 1 a scenario failed (its histories are still written),
    2 usage or input errors.
    """
    config = load_project_config()
    files = resolve(
        "scenarios", flag=list(scenario_files), project=[config.path(s) for s in config.scenarios]
    )
    if not files:
        raise click.UsageError("no scenario files given and no [tool.replaykit] scenarios")
    out_dir = resolve(
        "out", flag=out, project=config.path(config.histories[0]) if config.histories else None
    )
    if not out_dir:
        raise click.UsageError("no --out folder and no [tool.replaykit] histories")
    # validate the flags before running anything
    server_spec_from_options(
        server=server, address=address, namespace=namespace, db_filename=db_filename, project=config
    )
    settings = cli_resolver(
        config, data_converter=data_converter, plugins=plugins, scenario_timeout=timeout
    )
    put_workdir_on_path()  # the scenario import rule (load_scenarios) puts it there too
    # Activity failures that scenarios provoke on purpose (retries, injected errors) end up
    # in the histories; the SDK's warning-with-traceback for each one is noise here.
    # A failed workflow task is reported with its traceback when the scenario stops
    # (record._scenario.WorkflowTaskFailed); the SDK's warning repeats it on every retry.
    for name in (*SDK_ACTIVITY_LOGGERS, SDK_WORKFLOW_TASK_LOGGER):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Integrations import lazily inside workflows (httpx, idna, ...); the sandbox warns once
    # per module, dozens of lines that say nothing about the user's code.
    warnings.filterwarnings("ignore", message=r"Module .* was imported after initial workflow load")
    try:
        scenarios = settings.with_scenario_timeouts(load_scenarios(files, pattern=pattern))
        converter_ref = settings.data_converter().value
        converter = load_data_converter(converter_ref) if converter_ref else None
        plugin_list = load_plugins(settings.plugins().value)
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if not scenarios:
        raise click.UsageError(
            f"no scenarios found in {', '.join(files)}"
            + (f" matching -k {pattern!r}" if pattern else "")
        )

    groups = server_groups(
        scenarios,
        server=server,
        address=address,
        namespace=namespace,
        db_filename=db_filename,
        project=config,
    )

    def on_done(rec: RecordedScenario) -> None:
        status = "ok    " if rec.ok else "FAILED"
        click.echo(
            f"{status} {rec.outcome.name}: {len(rec.files)} histor"
            f"{'y' if len(rec.files) == 1 else 'ies'} written"
        )
        for path in rec.files:
            click.echo(f"         {display_path(path)}")
        for path in rec.skipped_existing:
            click.echo(f"         kept existing {display_path(path)} (use --overwrite)")
        if rec.outcome.error is not None:
            err = rec.outcome.error
            text = f"{type(err).__name__}: {err}".replace("\n", "\n           ")
            click.echo(f"         scenario raised {text}")
            if rec.outcome.hint:
                click.echo(f"         hint: {rec.outcome.hint}")
        if rec.output and not rec.ok:  # what the scenario printed: only when it failed
            click.echo(format_output(rec.output, indent="         ", what="printed while it ran"))

    def on_server(running: RunningServer, count: int) -> None:
        click.echo(
            f"recording {count} scenario(s) on {running.kind} server "
            f"{running.address} (namespace {running.namespace})"
        )

    try:
        ok = record_groups(
            groups,
            out_dir=out_dir,
            overwrite=overwrite,
            converter=converter,
            plugins=plugin_list,
            on_done=on_done,
            on_server=on_server,
            capture_output=True,
        ).ok
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    sys.stdout.flush()
    raise SystemExit(0 if ok else 1)
