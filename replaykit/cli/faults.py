"""``replaykit faults``: inject crashes and failures into real runs and verify what survives."""

from __future__ import annotations

import sys

import click

from replaykit._internal._errors import ConfigError, ReplaykitError
from replaykit._internal._imports import put_workdir_on_path
from replaykit.cli._options import (
    cli_resolver,
    plugin_option,
    server_options,
    server_spec_from_options,
)
from replaykit.config._config import load_project_config
from replaykit.faults._plan import FaultPlan, parse_fault
from replaykit.faults._session import FaultsRequest, run_faults_request
from replaykit.history._codec import load_data_converter
from replaykit.integrations._plugins import load_plugins

_FAULT_OPTIONS = ("kill_worker", "kill_server", "fail", "timeout", "cancel", "signal")


@click.command("faults")
@click.argument("scenario_files", nargs=-1, required=True)
@click.option("-k", "pattern", default=None, help="Only scenarios whose name matches.")
@click.option(
    "--crash",
    type=click.Choice(["every-step"]),
    default=None,
    help="Kill at every step of the scenario (learned from a fault-free run).",
)
@click.option(
    "--kill",
    "kill",
    type=click.Choice(["worker", "server"]),
    default="worker",
    show_default=True,
    help="What --crash every-step kills.",
)
@click.option(
    "--max-runs",
    type=click.IntRange(min=0),
    default=None,
    help="Budget of fault runs for --crash every-step.",
)
@click.option(
    "--plan",
    "plan_json",
    default=None,
    metavar="JSON",
    help="Run exactly this plan (as printed by a report).",
)
@click.option(
    "--kill-worker",
    multiple=True,
    metavar="POINT",
    help="SIGKILL the worker at POINT: wft:K, start:ACT[@N], returned:ACT[@N], timer:K.",
)
@click.option(
    "--kill-server",
    multiple=True,
    metavar="POINT",
    help="SIGKILL the embedded server at POINT and restart it.",
)
@click.option(
    "--fail",
    multiple=True,
    metavar="ACT[@N[-M|+]][:Type][!]",
    help="Fail attempts of an activity with an error type (! = non-retryable).",
)
@click.option(
    "--timeout",
    multiple=True,
    metavar="ACT[@N[-M|+]][:start-to-close|heartbeat]",
    help="Make attempts of an activity exceed a timeout.",
)
@click.option("--cancel", multiple=True, metavar="POINT", help="Cancel the workflow at POINT.")
@click.option(
    "--signal", multiple=True, metavar="POINT=NAME[:JSON]", help="Signal the workflow at POINT."
)
@click.option(
    "--examples",
    type=click.IntRange(min=1),
    default=None,
    help="Property-based: run N random plans (Hypothesis), shrink a failure.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --examples.")
@click.option(
    "--max-faults",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Faults per random plan.",
)
@click.option(
    "--kinds",
    default="kill-worker,fail-activity",
    show_default=True,
    help="Fault kinds random plans use (kill-worker, kill-server, fail-activity, "
    "timeout-activity, cancel).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Scenario instances run at once while the plan fires.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=None,
    help="--crash every-step: fault runs at once (default: 4 for worker kills, "
    "1 for server kills).",
)
@click.option(
    "--no-partial-replay",
    is_flag=True,
    help="Skip replaying history prefixes before the real kills.",
)
@click.option(
    "--points",
    "point_kinds",
    default=None,
    help="--crash every-step and --examples: only these point kinds (comma-separated: "
    "workflow-task, timer, activity-start, activity-returned).",
)
@click.option(
    "--worker-context",
    default=None,
    metavar="MODULE:FUNC",
    help="Workers run inside FUNC(scenario_name), a context manager (for example an LLM cassette).",
)
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="DataConverter or PayloadCodec for the scenario's client and the workers "
    "(encrypted payloads). Default: [tool.replaykit] data_converter.",
)
@plugin_option
@click.option(
    "--scenario-timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Seconds each scenario run (the fault-free baseline and every fault run) may take "
    "before it fails (default: the scenario's own timeout=, else 300): record's --timeout "
    "(here --timeout injects activity timeouts).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@server_options
def command(
    scenario_files: tuple[str, ...],
    pattern: str | None,
    crash: str | None,
    kill: str,
    max_runs: int | None,
    plan_json: str | None,
    kill_worker: tuple[str, ...],
    kill_server: tuple[str, ...],
    fail: tuple[str, ...],
    timeout: tuple[str, ...],
    cancel: tuple[str, ...],
    signal: tuple[str, ...],
    examples: int | None,
    seed: int,
    max_faults: int,
    kinds: str,
    concurrency: int,
    parallel: int | None,
    no_partial_replay: bool,
    point_kinds: str | None,
    worker_context: str | None,
    data_converter: str | None,
    plugins: tuple[str, ...],
    scenario_timeout: float | None,
    as_json: bool,
    server: str | None,
    address: str | None,
    namespace: str | None,
    db_filename: str | None,
) -> None:
    """Run SCENARIO_FILES' scenarios on a real server with worker subprocesses, inject faults,
    and verify: scenario assertions, outcome vs the fault-free baseline, strict replay, no
    completed step re-run, retry policy, effects exactly once.

    Exit status: 0 every invariant held, 1 a violation, 2 usage or harness error.
    """
    config = load_project_config()
    spec = server_spec_from_options(
        server=server,
        address=address,
        namespace=namespace,
        db_filename=db_filename,
        project=config,
    )
    settings = cli_resolver(
        config, data_converter=data_converter, plugins=plugins, scenario_timeout=scenario_timeout
    )
    flags = {
        "kill-worker": kill_worker,
        "kill-server": kill_server,
        "fail": fail,
        "timeout": timeout,
        "cancel": cancel,
        "signal": signal,
    }
    try:
        plan = FaultPlan.loads(plan_json) if plan_json else FaultPlan()
        extra = tuple(parse_fault(opt, v) for opt, values in flags.items() for v in values)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    plan = plan + FaultPlan(extra)
    try:
        settings.scenario_timeout()  # a bad --scenario-timeout fails before any run
        converter = settings.data_converter().value
        if converter:
            put_workdir_on_path()  # a local converter module imports
            load_data_converter(converter)  # a bad reference fails before any run
        plugin_list = settings.plugins().value
        if plugin_list:
            put_workdir_on_path()
            load_plugins(plugin_list)  # a bad reference fails before any run
    except ReplaykitError as err:
        raise click.UsageError(str(err)) from None
    if sum(bool(x) for x in (crash, examples, plan.faults)) > 1:
        raise click.UsageError("give one of --crash every-step, --examples, or a plan")
    mode = "every-step" if crash else ("examples" if examples else "plan")
    request = FaultsRequest(
        files=scenario_files,
        pattern=pattern,
        mode=mode,  # type: ignore[arg-type]
        plan=plan,
        kill=kill,  # type: ignore[arg-type]
        max_runs=max_runs,
        examples=examples or 10,
        seed=seed,
        max_faults=max_faults,
        kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()),
        concurrency=concurrency,
        parallel=parallel,
        partial_replay=not no_partial_replay,
        server=spec,
        # each scenario's own server= counts below the flag, env and [tool.replaykit]
        resolver=cli_resolver(
            config,
            server=address or server,
            namespace=namespace,
            scenario_timeout=scenario_timeout,
        ),
        as_json=as_json,
        point_kinds=tuple(k.strip() for k in point_kinds.split(",")) if point_kinds else None,
        worker_context=worker_context,
        data_converter=converter or None,
        plugins=plugin_list,
    )
    code = run_faults_request(request, click.echo)
    sys.stdout.flush()
    sys.exit(code)
