"""`replaykit diff`: explain the differences between two histories."""

from __future__ import annotations

import json
import os
import sys

import click

from replaykit._internal._errors import ReplaykitError
from replaykit.cli._options import cli_resolver
from replaykit.views._diff import diff_history_files


@click.command("diff")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option(
    "--data-converter",
    default=None,
    metavar="MODULE:ATTR",
    help="The DataConverter or PayloadCodec the histories were recorded with "
    "(payloads shown decoded). Default: [tool.replaykit] data_converter.",
)
def command(a: str, b: str, as_json: bool, data_converter: str | None) -> None:
    """Compare history A with history B step by step (activities, timers, children, signals,
    markers, completion), ignoring run noise (timestamps, run ids, identities, event ids).

    Exit code: 0 equivalent, 1 different, 2 a file could not be read.
    """
    try:
        converter = cli_resolver(data_converter=data_converter).data_converter().value
        if converter and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # a local converter module imports
        result = diff_history_files(a, b, data_converter=converter)
    except ReplaykitError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(result.format_text(), nl=False)
    sys.stdout.flush()
    raise SystemExit(result.exit_code)
