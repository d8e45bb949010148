"""``replaykit shadow``: check a cluster's executions (or a folder) against the current code."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from typing import Any, TypeVar

import click

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit.check._divergence import HistoryResult
from replaykit.check._engine import CheckOptions
from replaykit.check._report import (
    format_budget_section,
    format_result_line,
    format_summary,
    write_junit_xml,
)
from replaykit.cli._options import cli_resolver, server_options, server_spec_from_options
from replaykit.cli._progress import Progress, ShadowProgressLine
from replaykit.cli.check import command as _check_command
from replaykit.config._config import load_project_config

__all__ = ["command"]

_F = TypeVar("_F")

#: The options of ``check`` that ``shadow`` takes too, under the same names and meanings.
_CHECK_OPTIONS = (
    "workflows",
    "workflow_id",
    "strict",
    "fail_on",
    "allow",
    "volatile",
    "jobs",
    "no_sandbox",
    "no_cache",
    "data_converter",
    "plugins",
    "timeout",
    "deployment_version",
    "include_pinned",
    "budget",
    "show_budgets",
    "json_report",
    "junit_xml",
    "quiet",
)


def _check_options(fn: _F) -> _F:
    """``check``'s own option objects: one definition, so the two commands cannot drift."""
    shared = [p for p in _check_command.params if p.name in _CHECK_OPTIONS]
    params: list[Any] = getattr(fn, "__click_params__", [])
    params.extend(reversed(shared))  # click reverses the decorators' list
    fn.__click_params__ = params  # type: ignore[attr-defined]
    return fn


def _worker_args(check: dict[str, Any], settings: Any) -> list[str]:
    """What local shadow workers need beyond the connection: plugins and the converter."""
    args: list[str] = []
    for plugin in settings.plugins().value:
        if isinstance(plugin, str):
            args += ["--plugin", plugin]
    converter = settings.data_converter().value
    if converter:
        args += ["--data-converter", converter]
    return args


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def _duration(value: str | None) -> float | None:
    if value is None:
        return None
    match = _DURATION.match(value)
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(
            "expected a positive duration: seconds, or 30s, 10m, 2h", param_hint="'--max-duration'"
        )
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


class _ShadowGroup(click.Group):
    """``shadow`` is the command itself; ``shadow status ID`` reads a detached one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            ctx.meta["replaykit.shadow.direct"] = True
        return super().parse_args(ctx, args)


@click.group(
    "shadow",
    cls=_ShadowGroup,
    invoke_without_command=True,
    subcommand_metavar="[status ID]",
)
@click.option("--query", "query", default=None, help="Visibility query (default: every execution).")
@click.option(
    "--from",
    "folders",
    multiple=True,
    type=click.Path(exists=True),
    help="Shadow history files in this folder (or file) instead of a cluster. Repeatable.",
)
@click.option(
    "--from-export",
    "exports",
    multiple=True,
    type=click.Path(exists=True),
    help="Shadow Temporal Cloud Workflow History Export files (binary "
    "temporal.api.export.v1.WorkflowExecutions) in this folder (or file). Repeatable.",
)
@click.option(
    "--sample",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    default=1.0,
    show_default=True,
    help="Judge only runs whose run id hashes below RATE: the same runs on every rerun.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Judge at most N executions."
)
@click.option(
    "--max-duration",
    default=None,
    metavar="DURATION",
    help="Select no further execution after this long (seconds, or 30s, 10m, 2h); what was "
    "selected is still judged.",
)
@click.option(
    "--fetch-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Histories fetched at once (default: 8).",
)
@click.option(
    "--max-rps",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Requests per second to the cluster at most; 0 for no limit (default: 100).",
)
@click.option(
    "--store",
    "store",
    default=None,
    type=click.Path(file_okay=False),
    help="History store: a next shadow fetches only executions that are new or have grown. "
    "Default: [tool.replaykit] shadow_store, else ~/.cache/replaykit/shadow.",
)
@click.option("--no-store", is_flag=True, help="Keep fetched histories in memory only.")
@click.option(
    "--on-temporal",
    is_flag=True,
    help="Run the shadow on Temporal: a coordinator workflow hands batches to "
    "`replaykit shadow-worker` processes (on as many machines as you start).",
)
@click.option(
    "--task-queue",
    default=None,
    help="--on-temporal: the shadow workers' task queue (default: replaykit-shadow).",
)
@click.option(
    "--local-workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="--on-temporal: also start N shadow workers on this machine.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="--on-temporal: executions per batch (one activity).",
)
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="--on-temporal: batches in flight at most.",
)
@click.option(
    "--events-per-run",
    type=click.IntRange(min=200),
    default=2000,
    show_default=True,
    help="--on-temporal: the coordinator continues as new past this many events.",
)
@click.option(
    "--heartbeat-timeout",
    type=click.FloatRange(min=1.0),
    default=60.0,
    show_default=True,
    help="--on-temporal: seconds without a heartbeat before a batch moves to another worker.",
)
@click.option(
    "--coordinator-server",
    default=None,
    metavar="embedded|HOST:PORT",
    help="--on-temporal: where the coordinator runs (default: the shadowed cluster).",
)
@click.option(
    "--coordinator-namespace",
    default=None,
    metavar="NS",
    help="--on-temporal: the coordinator's namespace (default: the shadowed one).",
)
@click.option(
    "--detach",
    is_flag=True,
    help="--on-temporal: start the coordinator, print its id and exit; read it later with "
    "`replaykit shadow status ID`.",
)
@server_options
@_check_options
@click.pass_context
def command(
    ctx: click.Context,
    /,
    query: str | None,
    folders: tuple[str, ...],
    exports: tuple[str, ...],
    sample: float,
    limit: int | None,
    max_duration: str | None,
    fetch_concurrency: int | None,
    max_rps: float | None,
    store: str | None,
    no_store: bool,
    on_temporal: bool,
    task_queue: str | None,
    local_workers: int,
    batch_size: int,
    window: int,
    events_per_run: int,
    heartbeat_timeout: float,
    coordinator_server: str | None,
    coordinator_namespace: str | None,
    detach: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
    **check: Any,
) -> None:
    """Check the executions a visibility query matches against the current code.

    Each execution is checked as `replaykit check` checks a file, with the same options and
    reports; histories are fetched while earlier ones replay, running executions as the
    partial histories they are. With --from, history files are shadowed instead; with
    --from-export, Temporal Cloud's Workflow History Export files (a run exported twice is
    judged once).

    With --on-temporal, Temporal runs the shadow: a coordinator workflow pages through the
    query and hands batches to `replaykit shadow-worker` processes (start them anywhere, or
    here with --local-workers N); the report is the same. `replaykit shadow status ID`
    follows a --detach'ed one.

    Exit code: 0 all clean, 1 at least one divergence, 2 usage or input errors (an execution
    that cannot be fetched is an input error; every other one is still checked).
    """
    if not ctx.meta.get("replaykit.shadow.direct"):
        return  # `shadow status ...`: the subcommand does the work
    from replaykit.shadow._shadow import (
        ShadowOptions,
        run_shadow,
        shadow_export,
        shadow_folder,
        write_shadow_json,
    )

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like pytest's rootdir: local workflow modules import
    try:
        config = load_project_config()
        settings = cli_resolver(
            config,
            workflows=check["workflows"],
            fail_on=check["fail_on"],
            allow=check["allow"],
            volatile=check["volatile"],
            jobs=check["jobs"],
            data_converter=check["data_converter"],
            plugins=check["plugins"],
            deployment_version=check["deployment_version"],
            strict=check["strict"],
            timeout=check["timeout"],
            shadow_store=store,
            fetch_concurrency=fetch_concurrency,
            max_rps=max_rps,
            task_queue=task_queue,
        )
        workflows = settings.workflows().value
        if not workflows:
            raise click.UsageError(
                "no workflows: pass --workflows MODULE or set "
                "[tool.replaykit] workflows in pyproject.toml"
            )
        options = CheckOptions.from_settings(
            settings,
            budget_flags=check["budget"],
            sandbox=not check["no_sandbox"],
            cache=not check["no_cache"],
            include_pinned=check["include_pinned"],
        )
        rps = settings.max_rps().value
        shadow = ShadowOptions(
            sample=sample,
            limit=limit,
            max_duration=_duration(max_duration),
            fetch_concurrency=settings.fetch_concurrency().value,
            max_rps=rps if rps else None,
            store=None if no_store else settings.shadow_store().value,
        )
        quiet = check["quiet"]
        progress = Progress(enabled=sys.stderr.isatty() and not os.environ.get("CI"))

        def on_result(result: HistoryResult) -> None:
            progress.advance()
            if quiet and result.status == "clean":
                return
            progress.echo(format_result_line(result))

        if (folders or exports) and query is not None:
            raise ConfigError("--query applies to a cluster, not to --from/--from-export files")
        if folders and exports:
            raise ConfigError("give --from or --from-export, not both")
        if exports:
            report = shadow_export(
                exports,
                workflows=workflows,
                options=options,
                shadow=shadow,
                jobs=settings.jobs().value,
                on_result=on_result,
            )
        elif folders:
            report = shadow_folder(
                folders,
                workflows=workflows,
                options=options,
                shadow=shadow,
                jobs=settings.jobs().value,
                workflow_id=check["workflow_id"],
                on_result=on_result,
            )
        elif on_temporal:
            from replaykit.shadow._distributed import OnTemporalOptions, run_shadow_on_temporal

            spec = server_spec_from_options(
                server=server, address=address, namespace=namespace, db_filename=db_filename
            )
            coordinator = (
                server_spec_from_options(
                    server=coordinator_server,
                    address=None,
                    namespace=coordinator_namespace or spec.namespace,
                    db_filename=None,
                )
                if coordinator_server or coordinator_namespace
                else None
            )
            if coordinator is not None and coordinator_server is None:
                coordinator = dataclasses.replace(spec, namespace=coordinator.namespace)
            shown = ShadowProgressLine(progress, quiet=quiet)
            outcome = run_shadow_on_temporal(
                spec,
                workflows=workflows,
                query=query,
                options=options,
                shadow=shadow,
                on_temporal=OnTemporalOptions(
                    task_queue=settings.shadow_task_queue().value,
                    batch_size=batch_size,
                    window=window,
                    events_per_run=events_per_run,
                    heartbeat_timeout=heartbeat_timeout,
                ),
                coordinator_spec=coordinator,
                local_workers=local_workers,
                worker_args=_worker_args(check, settings),
                detach=detach,
                on_progress=shown.update,
                on_started=None
                if detach
                else lambda wid: click.echo(
                    f"shadow on Temporal: coordinator {wid} started "
                    f"(interrupted, it goes on: replaykit shadow status {wid})",
                    err=True,
                ),
            )
            if isinstance(outcome, str):
                progress.close()
                click.echo(f"shadow started on Temporal: {outcome}")
                click.echo(f"follow it with: replaykit shadow status {outcome} --server ...")
                raise SystemExit(0)
            report = outcome
            for result in report.check.results:
                on_result(result)
        else:
            spec = server_spec_from_options(
                server=server, address=address, namespace=namespace, db_filename=db_filename
            )
            report = run_shadow(
                spec,
                workflows=workflows,
                query=query,
                options=options,
                shadow=shadow,
                jobs=settings.jobs().value,
                on_result=on_result,
            )
        progress.close()
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if check["json_report"]:
        write_shadow_json(report, check["json_report"])
    if check["junit_xml"]:
        write_junit_xml(report.check, check["junit_xml"])
    section = format_budget_section(report.check, verbose=check["show_budgets"])
    if section:
        click.echo(section)
    click.echo(report.describe())
    click.echo(format_summary(report.check))
    sys.stdout.flush()
    raise SystemExit(report.exit_code)


def _add_status() -> None:
    from replaykit.cli._shadow_status import status

    command.add_command(status)


_add_status()
