"""`replaykit replay`: step through one recorded execution in a debugger, or trace it."""

from __future__ import annotations

import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.cli._options import cli_resolver, plugin_option


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="'--listen'")
    return host or "127.0.0.1", int(port)


@click.command("replay")
@click.argument("history", type=click.Path(dir_okay=False))
@click.option(
    "--workflows",
    "-w",
    multiple=True,
    metavar="MODULE",
    help="Module(s) whose @workflow.defn classes to replay with (module:Class picks "
    "one). Default: [tool.replaykit] workflows.",
)
@click.option(
    "--workflow-id",
    default=None,
    help="Workflow id for plain exports without metadata (default: the file name stem).",
)
@click.option(
    "--break-at",
    "break_at",
    multiple=True,
    metavar="POINT",
    help="Stop in the workflow code at POINT: EVENT_ID, activity:NAME[@N], timer:K, "
    "signal:NAME[@N], child:TYPE[@N] or divergence. Repeatable; `continue` goes to "
    "the next one.",
)
@click.option(
    "--trace",
    is_flag=True,
    help="Print every event beside the line of workflow code that issued or consumed it.",
)
@click.option(
    "--debugger",
    type=click.Choice(["pdb", "debugpy"]),
    default="pdb",
    show_default=True,
    help="What each stop hands the workflow frame to.",
)
@click.option(
    "--listen",
    default="127.0.0.1:5678",
    show_default=True,
    metavar="HOST:PORT",
    help="With --debugger debugpy: where to wait for VS Code / PyCharm to attach.",
)
@click.option(
    "--sandbox/--no-sandbox",
    default=True,
    show_default=True,
    help="Replay in the SDK sandbox (as workers and `check` do).",
)
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="The DataConverter or PayloadCodec the history was recorded with. "
    "Default: [tool.replaykit] data_converter.",
)
@plugin_option
def command(
    history: str,
    workflows: tuple[str, ...],
    workflow_id: str | None,
    break_at: tuple[str, ...],
    trace: bool,
    debugger: str,
    listen: str,
    sandbox: bool,
    data_converter: str | None,
    plugins: tuple[str, ...],
) -> None:
    """Replay HISTORY in this process and stop inside the workflow code at --break-at points.

    Each stop prints the decoded event and the workflow frame, then hands over to pdb
    (`c` continues to the next point, `q` runs to the end without stopping). Exit code: 0
    the history replays clean, 1 it diverges from the current code, 2 usage or input errors.
    """
    from replaykit.debug import parse_break_point, replay_history
    from replaykit.debug._debuggers import DebugpyDebugger

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `replaykit check`: local workflow modules import
    try:
        settings = cli_resolver(workflows=workflows, data_converter=data_converter, plugins=plugins)
        wf = settings.workflows().value
        if not wf:
            raise click.UsageError(
                "no workflows: pass --workflows MODULE or set "
                "[tool.replaykit] workflows in pyproject.toml"
            )
        points = [parse_break_point(p) for p in break_at]
        front = None
        if points and debugger == "debugpy":
            host, port = _listen(listen)
            front = DebugpyDebugger(host, port, echo=click.echo)
        outcome = replay_history(
            history,
            workflows=wf,
            points=points,
            trace=trace,
            debugger=front,
            sandbox=sandbox,
            workflow_id=workflow_id,
            echo=click.echo,
            plugins=settings.plugins().value,
            data_converter=settings.data_converter().value,
        )
    except ReplaykitError as err:
        click.echo(f"error: {err}", err=True)
        sys.stdout.flush()
        raise SystemExit(2) from None
    if outcome.trace is not None:
        click.echo(outcome.trace, nl=False)
    click.echo(outcome.summary())
    sys.stdout.flush()
    raise SystemExit(outcome.exit_code)
