"""Click options shared by the commands that need a Temporal server (pull, record, faults)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from replaykit._errors import ServerError
from replaykit._servers import ServerSpec, parse_server

__all__ = ["plugin_option", "plugin_refs", "server_options", "server_spec_from_options"]

_F = TypeVar("_F", bound=Callable[..., Any])


def server_options(fn: _F) -> _F:
    """Add ``--server``, ``--address``, ``--namespace`` and ``--db-filename`` to a command.

    The callback receives them as ``server``, ``address``, ``namespace`` and ``db_filename``;
    turn them into a :class:`~replaykit._servers.ServerSpec` with
    :func:`server_spec_from_options` (pass them all as keywords).
    """
    decorators = [
        click.option(
            "--server",
            "server",
            metavar="embedded|timeskip|HOST:PORT",
            default=None,
            help="Temporal server: the embedded dev server, the time-skipping test server, or "
            "an existing cluster. Default: $TEMPORAL_ADDRESS if set, else embedded.",
        ),
        click.option(
            "--address",
            "address",
            metavar="HOST:PORT",
            default=None,
            help="Same as --server HOST:PORT (an existing cluster).",
        ),
        click.option(
            "--namespace",
            "namespace",
            default=None,
            metavar="NS",
            help="Namespace. Default: $TEMPORAL_NAMESPACE if set, else 'default'.",
        ),
        click.option(
            "--db-filename",
            "db_filename",
            default=None,
            type=click.Path(dir_okay=False),
            help="Embedded server only: persistent SQLite store (default: in memory).",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def server_spec_from_options(
    *,
    server: str | None,
    namespace: str | None,
    db_filename: str | None,
    address: str | None = None,
) -> ServerSpec:
    """The :class:`~replaykit._servers.ServerSpec` the server options describe.

    Raises:
        click.BadParameter: The values do not form a valid spec (click exits with code 2).
    """
    if address is not None:
        if server is not None and server != address:
            raise click.BadParameter(
                "give either --server or --address, not both", param_hint="'--address'"
            )
        if _server_kind(address) != "external":
            raise click.BadParameter(
                f"expected HOST:PORT, got {address!r}", param_hint="'--address'"
            )
        server = address
    try:
        return parse_server(server, namespace=namespace, db_filename=db_filename)
    except ServerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--server'") from None


def _server_kind(value: str) -> str | None:
    """The kind a ``--server`` value names, or ``None`` when it is invalid."""
    try:
        return parse_server(value, namespace="default").kind
    except ServerError:
        return None


def plugin_option(fn: _F) -> _F:
    """Add the repeatable ``--plugin MODULE:ATTR`` option (callback keyword ``plugins``)."""
    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="MODULE:ATTR",
        help="A Temporal plugin, applied as production applies it (client, workers, "
        "replayer): an instance, a class, or a function returning one plugin or a list, "
        "e.g. temporalio.openai_agents:OpenAIAgentsPlugin. Repeatable. Default: "
        "[tool.replaykit] plugins.",
    )(fn)


def plugin_refs(flag: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The plugin references a command uses: ``--plugin`` flags, else the configuration."""
    from replaykit._config import load_project_config, resolve

    return tuple(resolve("plugins", flag=list(flag),
                         project=list(load_project_config().plugins), default=()))
