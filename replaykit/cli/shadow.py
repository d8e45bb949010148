"""``replaykit shadow``: check a cluster's executions (or a folder) against the current code."""

from __future__ import annotations

import os
import re
import sys
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
)
from replaykit.cli._options import cli_resolver, server_options, server_spec_from_options
from replaykit.cli._progress import Progress
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


@click.command("shadow")
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
@server_options
@_check_options
def command(
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

    Exit code: 0 all clean, 1 at least one divergence, 2 usage or input errors (an execution
    that cannot be fetched is an input error; every other one is still checked).
    """
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
    section = format_budget_section(report.check, verbose=check["show_budgets"], quiet=quiet)
    if section:
        click.echo(section)
    click.echo(report.describe())
    click.echo(format_summary(report.check))
    sys.stdout.flush()
    raise SystemExit(report.exit_code)
