"""`replaykit record`: run scenarios on a real server and save every execution's history."""

from __future__ import annotations

import asyncio
import os
import sys

import click

from replaykit._config import load_project_config, resolve
from replaykit._errors import ReplaykitError
from replaykit._record import RecordedScenario, record_scenarios
from replaykit._scenario import load_scenarios
from replaykit._servers import start_server_async
from replaykit.cli._options import server_options, server_spec_from_options


@click.command("record")
@click.argument("scenario_files", nargs=-1)
@click.option("--out", "-o", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for the history files (default: [tool.replaykit] histories).")
@click.option("-k", "pattern", default=None, help="Only scenarios whose name contains/matches it.")
@click.option("--overwrite", is_flag=True,
              help="Replace existing history files (default: keep them and say so).")
@server_options
def command(
    scenario_files: tuple[str, ...],
    out: str | None,
    pattern: str | None,
    overwrite: bool,
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
    files = resolve("scenarios", flag=list(scenario_files),
                    project=[config.path(s) for s in config.scenarios])
    if not files:
        raise click.UsageError("no scenario files given and no [tool.replaykit] scenarios")
    out_dir = resolve("out", flag=out, project=config.path(config.histories[0])
                      if config.histories else None)
    if not out_dir:
        raise click.UsageError("no --out folder and no [tool.replaykit] histories")
    spec = server_spec_from_options(
        server=resolve("server", flag=server, project=config.server),
        address=address, namespace=namespace or config.namespace, db_filename=db_filename,
    )
    sys.path.insert(0, os.getcwd())
    try:
        scenarios = load_scenarios(files, pattern=pattern)
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if not scenarios:
        raise click.UsageError(f"no scenarios found in {', '.join(files)}"
                               + (f" matching -k {pattern!r}" if pattern else ""))

    def shown(path: object) -> str:
        rel = os.path.relpath(str(path))
        return str(path) if rel.startswith("..") else rel

    def on_done(rec: RecordedScenario) -> None:
        status = "ok    " if rec.ok else "FAILED"
        click.echo(f"{status} {rec.outcome.name}: {len(rec.files)} histor"
                   f"{'y' if len(rec.files) == 1 else 'ies'} written")
        for path in rec.files:
            click.echo(f"         {shown(path)}")
        for path in rec.skipped_existing:
            click.echo(f"         kept existing {shown(path)} (use --overwrite)")
        if rec.outcome.error is not None:
            err = rec.outcome.error
            click.echo(f"         scenario raised {type(err).__name__}: {err}")

    async def main() -> bool:
        async with await start_server_async(spec) as running:
            client = await running.client()
            click.echo(f"recording {len(scenarios)} scenario(s) on {running.kind} server "
                       f"{running.address} (namespace {running.namespace})")
            report = await record_scenarios(scenarios, client, out_dir=out_dir,
                                            overwrite=overwrite, on_done=on_done)
            return report.ok

    try:
        ok = asyncio.run(main())
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    sys.stdout.flush()
    raise SystemExit(0 if ok else 1)
