"""The `replaykit` command line.

Each subcommand lives in its own module and is imported only when invoked, so
`replaykit --help` stays fast and a broken optional subcommand cannot take the
others down. The callbacks are thin: parse, call the library, map to exit codes.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute" of a click.Command
_COMMANDS: dict[str, tuple[str, str]] = {
    "record": ("replaykit.cli.record", "Run scenarios on a real server and save every history."),
    "pull": ("replaykit.cli.pull", "Fetch histories of a cluster's executions."),
    "check": ("replaykit.cli.check", "Replay history files against the current code."),
    "shadow": (
        "replaykit.cli.shadow",
        "Check a cluster's executions (or a folder) against the current code.",
    ),
    "shadow-worker": (
        "replaykit.cli.shadow_worker",
        "Serve the batches of `shadow --on-temporal` (one per core, on any machine).",
    ),
    "replay": (
        "replaykit.cli.replay",
        "Step through one history in a debugger (--break-at), or --trace it.",
    ),
    "show": ("replaykit.cli.show", "Render a history as an event timeline (text or HTML)."),
    "diff": ("replaykit.cli.diff", "Explain the differences between two histories."),
    "patches": (
        "replaykit.cli.patches",
        "Patch lifecycle: which workflow.patched() ids are still needed.",
    ),
    "lint": ("replaykit.cli.lint", "Static determinism checks of workflow code."),
    "faults": ("replaykit.cli.faults", "Inject crashes and failures into real runs and verify."),
    "saga": ("replaykit.cli.saga", "Verify saga compensation from histories; prove rollback."),
    "rollout": (
        "replaykit.cli.rollout",
        "Worker Versioning: can I ramp a version, can I drain one?",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: Any = module.command
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="replaykit")
def main() -> None:
    """replaykit: record, replay-check, version and fault-inject Temporal workflows."""


def run() -> None:
    """The console script: :data:`main`, then a bounded exit with its exit code.

    A command can leave threads an integration started (trace exporters) or an SDK runtime
    behind; the process still ends promptly with the command's own exit code.
    """
    import sys

    from replaykit._internal._runtime import exit_bounded

    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    exit_bounded(code)


__all__ = ["main", "run"]
