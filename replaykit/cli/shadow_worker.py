"""``replaykit shadow-worker``: serve an on-Temporal shadow's batches (one per core)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.check._engine import CheckOptions
from replaykit.cli._options import (
    cli_resolver,
    coordinator_options,
    server_options,
    server_spec_from_options,
)
from replaykit.cli.shadow import check_options
from replaykit.config._config import load_project_config

__all__ = ["command"]


@click.command("shadow-worker")
@click.option(
    "--task-queue", default=None, help="The shadow's task queue (default: replaykit-shadow)."
)
@check_options("workflows", "data_converter", "plugins")
@coordinator_options
@click.option(
    "--fetch-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Histories this worker fetches at once (default: 8).",
)
@click.option(
    "--max-rps",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Requests per second this worker makes at most; 0 for no limit (default: 100).",
)
@click.option(
    "--store",
    default=None,
    type=click.Path(file_okay=False),
    help="History store of this worker (default: [tool.replaykit] shadow_store, else "
    "~/.cache/replaykit/shadow).",
)
@click.option("--no-store", is_flag=True, help="Keep fetched histories in memory only.")
@server_options
def command(
    task_queue: str | None,
    workflows: tuple[str, ...],
    data_converter: str | None,
    plugins: tuple[str, ...],
    coordinator_server: str | None,
    coordinator_namespace: str | None,
    fetch_concurrency: int | None,
    max_rps: float | None,
    store: str | None,
    no_store: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Serve the batches of `replaykit shadow --on-temporal` until stopped (SIGINT, SIGTERM).

    Start one per core, on as many machines as you like, each with the candidate code (the
    --workflows, --plugin and --data-converter of `check`). --server and --namespace name the
    shadowed cluster, as for `shadow`; a batch whose worker dies is retried on another.
    """
    from replaykit.shadow._distributed import serve_shadow_worker
    from replaykit.shadow._shadow import ShadowOptions

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like pytest's rootdir: local workflow modules import
    try:
        settings = cli_resolver(
            load_project_config(),
            workflows=workflows,
            data_converter=data_converter,
            plugins=plugins,
            shadow_store=store,
            fetch_concurrency=fetch_concurrency,
            max_rps=max_rps,
            task_queue=task_queue,
        )
        candidate = settings.workflows().value
        if not candidate:
            raise click.UsageError(
                "no workflows: pass --workflows MODULE or set "
                "[tool.replaykit] workflows in pyproject.toml"
            )
        spec = server_spec_from_options(
            server=server, address=address, namespace=namespace, db_filename=db_filename
        )
        coordinator = (
            server_spec_from_options(
                server=coordinator_server or server,
                address=None if coordinator_server else address,
                namespace=coordinator_namespace or spec.namespace,
                db_filename=None,
            )
            if coordinator_server or coordinator_namespace
            else None
        )
        rps = settings.max_rps().value
        options: Any = CheckOptions.from_settings(settings)
        serve_shadow_worker(
            spec,
            coordinator_spec=coordinator,
            task_queue=settings.shadow_task_queue().value,
            workflows=candidate,
            options=options,
            shadow=ShadowOptions(
                fetch_concurrency=settings.fetch_concurrency().value,
                max_rps=rps if rps else None,
                store=None if no_store else settings.shadow_store().value,
            ),
            on_ready=lambda: click.echo(
                f"shadow worker {os.getpid()} serving {settings.shadow_task_queue().value}",
                err=True,
            ),
        )
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
