"""Server specs and their parsing, without importing ``temporalio``.

The pytest plugin validates ``--replaykit-server`` / ini / ``[tool.replaykit] server`` in
every session it is loaded into, including sessions that never use replaykit: that must not
import the SDK. :mod:`replaykit.servers` re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from replaykit._internal._errors import ServerError

__all__ = [
    "ENV_ADDRESS",
    "ENV_NAMESPACE",
    "ServerKind",
    "ServerSpec",
    "parse_server_value",
]

ServerKind = Literal["embedded", "timeskip", "external"]

ENV_ADDRESS = "TEMPORAL_ADDRESS"
ENV_NAMESPACE = "TEMPORAL_NAMESPACE"

_VALID_FORMS = "'embedded', 'timeskip' or HOST:PORT (for example localhost:7233)"
_TIMESKIP_NAMES = frozenset({"timeskip", "time-skip", "timeskipping", "time-skipping"})


@dataclass(frozen=True)
class ServerSpec:
    """Which Temporal server to use.

    Attributes:
        kind: ``"embedded"`` (the CLI dev server replaykit starts), ``"timeskip"`` (the
            time-skipping test server replaykit starts) or ``"external"`` (an existing cluster).
        address: ``HOST:PORT`` of the cluster; external only.
        namespace: Namespace to use (the time-skipping server only has ``default``).
        db_filename: Embedded only: a persistent SQLite store that survives a server kill.
            ``None`` keeps everything in memory.
    """

    kind: ServerKind
    address: str | None = None
    namespace: str = "default"
    db_filename: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("embedded", "timeskip", "external"):
            raise ServerError(f"unknown server kind {self.kind!r}; expected {_VALID_FORMS}")
        if self.kind == "external" and not self.address:
            raise ServerError("an external server needs an address (HOST:PORT)")
        if self.kind != "external" and self.address is not None:
            raise ServerError(f"an address applies only to an external server, not {self.kind!r}")
        if self.db_filename is not None and self.kind != "embedded":
            raise ServerError("--db-filename applies only to the embedded server")
        if self.kind == "timeskip" and self.namespace != "default":
            raise ServerError(
                "the time-skipping test server only has the 'default' namespace, "
                f"not {self.namespace!r}"
            )
        if not self.namespace:
            raise ServerError("the namespace must not be empty")


def parse_server_value(value: str, *, namespace: str, db_filename: str | None = None) -> ServerSpec:
    """:func:`replaykit.config._settings.parse_server` of a value and namespace already resolved (no fallbacks).

    Raises:
        ServerError: The value is not one of the valid forms, or the options do not fit it.
    """
    text = value.strip()
    lowered = text.lower()
    if lowered == "embedded":
        return ServerSpec("embedded", namespace=namespace, db_filename=db_filename)
    if lowered in _TIMESKIP_NAMES:
        return ServerSpec("timeskip", namespace=namespace, db_filename=db_filename)
    address = _parse_address(text)
    if address is None:
        raise ServerError(f"invalid server {value!r}: expected {_VALID_FORMS}")
    return ServerSpec("external", address=address, namespace=namespace, db_filename=db_filename)


def _parse_address(text: str) -> str | None:
    """``HOST:PORT`` (``[v6]:PORT`` too) or ``None`` when it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            return None
    elif ":" in host or "/" in host or any(c.isspace() for c in host):
        return None
    return f"{host}:{int(port)}"
