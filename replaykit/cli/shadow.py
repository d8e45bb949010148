"""``replaykit shadow``: check a cluster's executions (or a folder) against the current code."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit.check._divergence import HistoryResult
from replaykit.check._engine import CheckOptions
from replaykit.check._report import (
    failed,
    format_budget_section,
    format_result_line,
    format_summary,
    write_junit_xml,
    write_markdown_summary,
)
from replaykit.cli._options import (
    cli_resolver,
    coordinator_options,
    server_options,
    server_spec_from_options,
)
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


def check_options(*names: str) -> Callable[[_F], _F]:
    """``check``'s own option objects named ``names``: one definition, so the commands that
    take them (``shadow``, ``shadow-worker``) cannot drift from ``check``."""

    def add(fn: _F) -> _F:
        shared = [p for p in _check_command.params if p.name in names]
        params: list[Any] = getattr(fn, "__click_params__", [])
        params.extend(reversed(shared))  # click reverses the decorators' list
        fn.__click_params__ = params  # type: ignore[attr-defined]
        return fn

    return add


_check_options = check_options(*_CHECK_OPTIONS)


def _worker_args(settings: Any, shadow: Any) -> list[str]:
    """What local shadow workers take from this command beyond the connection: plugins, the
    converter, and how they fetch (store, rate, concurrency)."""
    args: list[str] = []
    for plugin in settings.plugins().value:
        if isinstance(plugin, str):
            args += ["--plugin", plugin]
    converter = settings.data_converter().value
    if converter:
        args += ["--data-converter", converter]
    args += ["--store", str(shadow.store)] if shadow.store is not None else ["--no-store"]
    args += ["--max-rps", str(shadow.max_rps or 0)]
    args += ["--fetch-concurrency", str(shadow.fetch_concurrency)]
    return args


def _export_sources(values: tuple[str, ...]) -> tuple[str, ...]:
    from replaykit.shadow._export import is_url

    for value in values:
        if not is_url(value) and not os.path.exists(value.removeprefix("file://")):
            raise click.BadParameter(
                f"{value!r}: no such file or folder", param_hint="'--from-export'"
            )
    return values


def _storage_options(values: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"expected KEY=VALUE, got {value!r}", param_hint="'--storage-option'"
            )
        try:
            options[key.strip()] = json.loads(raw)
        except ValueError:
            options[key.strip()] = raw
    return options


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def _duration(value: str | None, option: str = "--max-duration") -> float | None:
    if value is None:
        return None
    match = _DURATION.match(value)
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(
            "expected a positive duration: seconds, or 30s, 10m, 2h", param_hint=f"'{option}'"
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
    metavar="PATH|URL",
    callback=lambda ctx, param, value: _export_sources(value),
    help="Shadow Temporal Cloud Workflow History Export files (binary "
    "temporal.api.export.v1.WorkflowExecutions) in this folder (or file), or under an "
    "object-store URL (s3://bucket/prefix, gs://..., any fsspec URL; needs "
    "'replaykit[s3]'). Repeatable.",
)
@click.option(
    "--storage-option",
    "storage_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Passed to the object store's fsspec filesystem for --from-export URLs (for S3: "
    "endpoint_url=http://..., anon=true); VALUE is read as JSON when it parses. Credentials "
    "and endpoint otherwise come from the environment (AWS_*, AWS_ENDPOINT_URL). Repeatable.",
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
    "selected is still judged. With --continuous: counted from the start, the last interval "
    "stops selecting then and the run ends.",
)
@click.option(
    "--continuous",
    is_flag=True,
    help="Keep shadowing the cluster: every --interval, judge the executions that started or "
    "grew since they were judged, print a line per interval, and run until stopped "
    "(SIGINT/SIGTERM: the interval's selected executions are judged, then the summary) or an "
    "exit condition holds (--max-count, --max-duration, --stop-on-divergence). "
    "--json-report then writes JSON Lines: one report per interval, then the total.",
)
@click.option(
    "--interval",
    default="60s",
    show_default=True,
    metavar="DURATION",
    help="With --continuous: time from one interval's start to the next (seconds, or 30s, 10m).",
)
@click.option(
    "--max-count",
    type=click.IntRange(min=1),
    default=None,
    help="With --continuous: end after N judgments (a run judged again after it grew counts "
    "again).",
)
@click.option(
    "--stop-on-divergence",
    is_flag=True,
    help="With --continuous: end after the interval that finds the first divergence.",
)
@click.option(
    "--summary-md",
    "summary_md",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help='Append a Markdown summary of the report to FILE (e.g. "$GITHUB_STEP_SUMMARY" in '
    "GitHub Actions).",
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
@coordinator_options
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
    storage_options: tuple[str, ...],
    sample: float,
    limit: int | None,
    max_duration: str | None,
    continuous: bool,
    interval: str,
    max_count: int | None,
    stop_on_divergence: bool,
    summary_md: str | None,
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
    --from-export, Temporal Cloud's Workflow History Export files from a folder or an
    object store such as s3://bucket/prefix (a run exported twice is judged once). With
    --continuous, the cluster is shadowed again every --interval, judging only what started
    or grew, until stopped or an exit condition holds.

    With --on-temporal, Temporal runs the shadow: a coordinator workflow pages through the
    query and hands batches to `replaykit shadow-worker` processes (start them anywhere, or
    here with --local-workers N); the report is the same. `replaykit shadow status ID`
    follows a --detach'ed one.

    Exit code: 0 all clean, 1 at least one divergence, 2 usage or input errors (an execution
    that cannot be fetched is an input error; every other one is still checked); with
    --continuous, over every judgment.
    """
    if not ctx.meta.get("replaykit.shadow.direct"):
        return  # `shadow status ...`: the subcommand does the work
    from replaykit.shadow._continuous import (
        ContinuousOptions,
        ContinuousReport,
        write_interval_json,
    )
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
            if quiet and not failed(result):
                return
            progress.echo(format_result_line(result, budget_fails="budget" in options.fail_on))

        if (folders or exports) and query is not None:
            raise ConfigError("--query applies to a cluster, not to --from/--from-export files")
        if folders and exports:
            raise ConfigError("give --from or --from-export, not both")
        if continuous and (folders or exports):
            raise ConfigError("--continuous shadows a cluster, not --from/--from-export files")
        if on_temporal and (folders or exports or continuous):
            raise ConfigError(
                "--on-temporal shadows a cluster once: not with --from, --from-export or "
                "--continuous"
            )
        if not continuous and (max_count is not None or stop_on_divergence):
            raise ConfigError("--max-count and --stop-on-divergence apply to --continuous")
        if exports:
            report = shadow_export(
                exports,
                workflows=workflows,
                options=options,
                shadow=shadow,
                jobs=settings.jobs().value,
                on_result=on_result,
                storage_options=_storage_options(storage_options),
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
                worker_args=_worker_args(settings, shadow),
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
        if continuous and not on_temporal:
            report = _run_continuous(
                spec,
                workflows=workflows,
                query=query,
                options=options,
                shadow=shadow,
                continuous=ContinuousOptions(
                    interval=_duration(interval, "--interval") or 60.0,
                    max_count=max_count,
                    stop_on_divergence=stop_on_divergence,
                ),
                jobs=settings.jobs().value,
                on_result=on_result,
                echo=progress.echo,
                json_lines=check["json_report"],
            )
        elif not (folders or exports or on_temporal):
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
    if check["json_report"] and isinstance(report, ContinuousReport):
        write_interval_json(check["json_report"], {"kind": "total", **report.to_json()})
    elif check["json_report"]:
        write_shadow_json(report, check["json_report"])
    if check["junit_xml"]:
        write_junit_xml(report.check, check["junit_xml"])
    section = format_budget_section(report.check, verbose=check["show_budgets"], quiet=quiet)
    if section:
        click.echo(section)
    click.echo(report.describe())
    click.echo(format_summary(report.check))
    if summary_md:
        write_markdown_summary(
            report.check, summary_md, title="replaykit shadow", details=[report.describe()]
        )
    sys.stdout.flush()
    raise SystemExit(report.exit_code)


def _add_status() -> None:
    from replaykit.cli._shadow_status import status

    command.add_command(status)


_add_status()


def _run_continuous(
    spec: Any,
    *,
    echo: Callable[[str], None],
    json_lines: str | None,
    **kwargs: Any,
) -> Any:
    """``shadow --continuous``: a line (and a JSON line) per interval; SIGINT and SIGTERM
    stop it cleanly (a second SIGINT interrupts at once)."""
    from replaykit.shadow._continuous import run_shadow_continuous, write_interval_json

    stop = threading.Event()
    if json_lines:
        Path(json_lines).write_text("", encoding="utf-8")  # this run's intervals only

    def on_interval(interval: Any) -> None:
        echo(interval.describe())
        if json_lines:
            write_interval_json(json_lines, {"kind": "interval", **interval.to_json()})

    def stopping(signum: int, frame: Any) -> None:
        echo(f"{signal.Signals(signum).name}: stopping after this interval's selected executions")
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run_shadow_continuous(spec, on_interval=on_interval, stop=stop, **kwargs)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
