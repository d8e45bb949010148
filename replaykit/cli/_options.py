"""Click options shared by the commands that need a Temporal server (pull, record, faults)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from replaykit._internal._errors import ServerError
from replaykit.config._config import ProjectConfig
from replaykit.config._server_spec import ServerSpec, parse_server_value
from replaykit.config._settings import Resolver, scenario_server_groups

if TYPE_CHECKING:
    from replaykit.record._scenario import Scenario

__all__ = [
    "cli_resolver",
    "plugin_option",
    "plugin_refs",
    "server_groups",
    "coordinator_options",
    "server_options",
    "server_spec_from_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def server_options(fn: _F) -> _F:
    """Add ``--server``, ``--address``, ``--namespace`` and ``--db-filename`` to a command.

    The callback receives them as ``server``, ``address``, ``namespace`` and ``db_filename``;
    turn them into a :class:`~replaykit.servers.ServerSpec` with
    :func:`server_spec_from_options` (pass them all as keywords).
    """
    decorators = [
        click.option(
            "--server",
            "server",
            metavar="embedded|timeskip|HOST:PORT",
            default=None,
            help="Temporal server: the embedded dev server, the time-skipping test server, or "
            "an existing cluster. Default: $TEMPORAL_ADDRESS, else [tool.replaykit] server, "
            "else the scenario's own server=, else embedded.",
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
            help="Namespace. Default: $TEMPORAL_NAMESPACE, else [tool.replaykit] namespace, "
            "else 'default'.",
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


def coordinator_options(fn: _F) -> _F:
    """Add ``--coordinator-server`` and ``--coordinator-namespace`` (``shadow --on-temporal``
    and ``shadow-worker``): where the shadow's coordinator workflow runs."""
    decorators = [
        click.option(
            "--coordinator-server",
            default=None,
            metavar="embedded|HOST:PORT",
            help="Where the shadow's coordinator workflow runs (default: the shadowed "
            "cluster); with --on-temporal, `embedded` needs --local-workers.",
        ),
        click.option(
            "--coordinator-namespace",
            default=None,
            metavar="NS",
            help="The coordinator's namespace (default: the shadowed one).",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def cli_resolver(project: ProjectConfig | None = None, **flags: Any) -> Resolver:
    """The settings resolver of a command: its flags (by setting name) and the pyproject."""
    from replaykit.config._config import load_project_config

    return Resolver(
        face="cli", flags=flags, project=load_project_config() if project is None else project
    )


def server_spec_from_options(
    *,
    server: str | None,
    namespace: str | None,
    db_filename: str | None,
    address: str | None = None,
    project: ProjectConfig | None = None,
    scenario: str | None = None,
) -> ServerSpec:
    """The :class:`~replaykit.servers.ServerSpec` the server options describe.

    The server and namespace come from :class:`replaykit.config._settings.Resolver`: flag >
    ``$TEMPORAL_ADDRESS`` / ``$TEMPORAL_NAMESPACE`` > ``[tool.replaykit]`` > ``scenario`` (the
    scenario's own preference) > embedded / ``default``.

    Raises:
        click.BadParameter: The values do not form a valid spec (click exits with code 2).
    """
    resolver = cli_resolver(project, server=_server_flag(server, address), namespace=namespace)
    try:
        return resolver.spec(scenario=scenario, db_filename=db_filename)
    except ServerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--server'") from None


def server_groups(
    scenarios: Sequence[Scenario],
    *,
    server: str | None,
    namespace: str | None,
    db_filename: str | None,
    address: str | None = None,
    project: ProjectConfig | None = None,
) -> list[tuple[ServerSpec, list[Scenario]]]:
    """The scenarios grouped by the server each runs on, with that server's spec.

    The rule is :func:`replaykit.config._settings.scenario_server_groups` (the one ``faults`` uses):
    a flag, ``$TEMPORAL_ADDRESS`` or ``[tool.replaykit] server`` outranks a scenario's own
    ``server=``; otherwise each scenario's preference, else embedded.

    Raises:
        click.BadParameter: The values do not form a valid spec.
    """
    resolver = cli_resolver(project, server=_server_flag(server, address), namespace=namespace)
    try:
        return scenario_server_groups(scenarios, resolver, db_filename=db_filename)
    except ServerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--server'") from None


def _server_flag(server: str | None, address: str | None) -> str | None:
    """The server the ``--server`` / ``--address`` flags name (None: neither).

    Raises:
        click.BadParameter: Both are given and differ, or ``--address`` is not HOST:PORT.
    """
    if address is None:
        return server
    if server is not None and server != address:
        raise click.BadParameter(
            "give either --server or --address, not both", param_hint="'--address'"
        )
    if _server_kind(address) != "external":
        raise click.BadParameter(f"expected HOST:PORT, got {address!r}", param_hint="'--address'")
    return address


def _server_kind(value: str) -> str | None:
    """The kind a ``--server`` value names, or ``None`` when it is invalid."""
    try:
        return parse_server_value(value, namespace="default").kind
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
        "replayer): an instance, a class, or a function returning one plugin or a list "
        "(a class or function is called once per process), e.g. "
        "temporalio.openai_agents:OpenAIAgentsPlugin. Repeatable. Default: "
        "[tool.replaykit] plugins.",
    )(fn)


def plugin_refs(flag: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The plugin references a command uses: ``--plugin`` flags, else the configuration."""
    return cli_resolver(plugins=tuple(flag)).plugins().value
