"""`replaykit check`: replay history files against the current code."""

from __future__ import annotations

import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.check._divergence import HistoryResult
from replaykit.check._engine import CheckOptions, check_histories
from replaykit.check._report import (
    failed,
    format_budget_section,
    format_result_line,
    format_summary,
    write_json_report,
    write_junit_xml,
)
from replaykit.cli._options import cli_resolver, plugin_option
from replaykit.cli._progress import Progress
from replaykit.config._config import load_project_config
from replaykit.config._settings import FAIL_ON_CHOICES

FAIL_ON = FAIL_ON_CHOICES


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("expected K/N, e.g. 1/4", param_hint="'--shard'") from None
    if not 1 <= k <= n:
        raise click.BadParameter("need 1 <= K <= N", param_hint="'--shard'")
    return k, n


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--workflows",
    "-w",
    multiple=True,
    metavar="MODULE",
    help="Module(s) whose @workflow.defn classes to replay with (packages are walked; "
    "module:Class picks one). Default: [tool.replaykit] workflows.",
)
@click.option(
    "--workflow-id",
    default=None,
    help="Workflow id for plain exports without metadata (default: the file name stem).",
)
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Compare every command with its recorded event (off: stock replayer only). "
    "Default: [tool.replaykit] strict, else on.",
)
@click.option(
    "--fail-on",
    multiple=True,
    type=click.Choice(FAIL_ON),
    help="Divergence kinds that fail (default: nondeterminism, drift); `budget` "
    "also fails histories over, or projected to reach, a history limit.",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="RULE",
    help="Allow a kind, a cause (timer-duration, prompt) or activity:NAME[.FIELD].",
)
@click.option(
    "--volatile",
    multiple=True,
    metavar="RULE",
    help="activity:NAME.PATH: a value new on every run by design, not compared (PATH "
    "inside each argument: * any key or index, ** any depth, a last <key> masks the ids "
    "in a dict's keys). Default: [tool.replaykit] volatile.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (default: CPU count; 0 = in this process).",
)
@click.option("--shard", default=None, metavar="K/N", help="Check only the K-th of N slices.")
@click.option(
    "--no-sandbox", is_flag=True, help="Replay without the SDK sandbox (faster, less protection)."
)
@click.option("--no-cache", is_flag=True, help="Do not use the parsed-history cache.")
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="The DataConverter or PayloadCodec the histories were recorded with "
    "(encrypted or compressed payloads). Default: [tool.replaykit] data_converter.",
)
@plugin_option
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds one replay may take before it is killed and reported. "
    "Default: [tool.replaykit] timeout, else 120.",
)
@click.option(
    "--deployment-version",
    default=None,
    metavar="NAME.BUILD_ID",
    help="The Worker Deployment version this code is: histories PINNED to another "
    "version are listed as pinned, not checked. Default: [tool.replaykit] "
    "deployment_version.",
)
@click.option(
    "--include-pinned", is_flag=True, help="Check PINNED histories of other versions too."
)
@click.option(
    "--budget",
    "budget",
    multiple=True,
    metavar="KEY=VALUE",
    help="History limit, e.g. events_warn=5000, payload_error=1MB, horizon=500 "
    "(default: Temporal self-hosted; [tool.replaykit] budgets).",
)
@click.option(
    "--show-budgets",
    is_flag=True,
    help="Print the budget (loops, growth, projections) of every looping history.",
)
@click.option(
    "--json-report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the structured report as JSON.",
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write JUnit XML, one testcase per history.",
)
@click.option(
    "--verdict-cache",
    "verdict_cache",
    default=None,
    metavar="DIR",
    help="Reuse a stored pass when the history, every module its replay imported and every "
    "verdict-changing option are unchanged. Default: $REPLAYKIT_VERDICT_CACHE, else "
    "[tool.replaykit] verdict_cache, else .replaykit/verdicts in the project.",
)
@click.option(
    "--no-verdict-cache", is_flag=True, help="Replay every history (no verdict reused or stored)."
)
@click.option(
    "--why-rechecked",
    is_flag=True,
    help="Say for each replayed history which part of its verdict-cache key changed.",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="More detail: list each passing finding (option changes, kinds not in --fail-on) "
    "and each allowed one under its history, and say why each was rechecked.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Only what fails: divergent and error results, a budget that fails, the summary.",
)
def command(
    paths: tuple[str, ...],
    workflows: tuple[str, ...],
    workflow_id: str | None,
    strict: bool | None,
    fail_on: tuple[str, ...],
    allow: tuple[str, ...],
    volatile: tuple[str, ...],
    jobs: int | None,
    shard: str | None,
    no_sandbox: bool,
    no_cache: bool,
    data_converter: str | None,
    plugins: tuple[str, ...],
    timeout: float | None,
    deployment_version: str | None,
    include_pinned: bool,
    budget: tuple[str, ...],
    show_budgets: bool,
    json_report: str | None,
    junit_xml: str | None,
    verdict_cache: str | None,
    no_verdict_cache: bool,
    why_rechecked: bool,
    verbose: bool,
    quiet: bool,
) -> None:
    """Replay every history under PATHS against the current code and report divergences.

    Exit code: 0 all clean, 1 at least one divergence, 2 usage or input errors (every other
    file is still checked and reported).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like pytest's rootdir: local workflow modules import
    try:
        config = load_project_config()
        settings = cli_resolver(
            config,
            workflows=workflows,
            histories=paths,
            fail_on=fail_on,
            allow=allow,
            volatile=volatile,
            jobs=jobs,
            data_converter=data_converter,
            plugins=plugins,
            deployment_version=deployment_version,
            strict=strict,
            timeout=timeout,
            verdict_cache=False if no_verdict_cache else verdict_cache,
        )
        # No workflows is fine for harvested files (they name theirs); the engine reports
        # every other file as an input error.
        wf = settings.workflows().value
        targets = list(settings.histories().value)
        if not targets:
            raise click.UsageError("no history paths given and no [tool.replaykit] histories")
        options = CheckOptions.from_settings(
            settings,
            budget_flags=budget,
            sandbox=not no_sandbox,
            cache=not no_cache,
            include_pinned=include_pinned,
            verdict_cache=settings.verdict_cache().value,
        )
        jobs_value = settings.jobs().value
        progress = Progress(enabled=sys.stderr.isatty() and not os.environ.get("CI"))

        def on_result(result: HistoryResult) -> None:
            progress.advance()
            if quiet and not failed(result):
                return
            progress.echo(
                format_result_line(
                    result,
                    why=why_rechecked or verbose,
                    verbose=verbose,
                    budget_fails="budget" in options.fail_on,
                )
            )

        report = check_histories(
            targets,
            workflows=wf,
            options=options,
            jobs=jobs_value,
            workflow_id=workflow_id,
            shard=_shard(shard),
            on_result=on_result,
        )
        progress.close()
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if json_report:
        write_json_report(report, json_report)
    if junit_xml:
        write_junit_xml(report, junit_xml)
    section = format_budget_section(report, verbose=show_budgets, quiet=quiet)
    if section:
        click.echo(section)
    click.echo(format_summary(report))
    sys.stdout.flush()
    raise SystemExit(report.exit_code)
