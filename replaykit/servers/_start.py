"""``start_server`` and ``start_server_async``: from a :class:`ServerSpec` to a ready server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from replaykit._internal._errors import ServerError
from replaykit._internal._sync import run_sync
from replaykit.config._server_spec import ServerSpec

from ._binaries import find_server_binary
from ._embedded import _embedded_argv
from ._external import _check_external, environment_connect_config
from ._process import _LIVE, _LIVE_LOCK, _free_port
from ._running import RunningServer
from ._timeskip import _timeskip_argv


def start_server(
    spec: ServerSpec,
    *,
    ready_timeout: float = 30,
    connect_kwargs: Mapping[str, Any] | None = None,
) -> RunningServer:
    """Start the server a spec names (or check that an external cluster answers).

    Blocks until the frontend answers a real gRPC call (``DescribeNamespace``; the health
    service for the time-skipping server). Owned servers listen on a free port of 127.0.0.1.

    Args:
        spec: What to start; see :func:`parse_server`.
        ready_timeout: Seconds to wait for the server to answer.
        connect_kwargs: External clusters only: extra ``Client.connect`` arguments (``tls``,
            ``api_key``, ``rpc_metadata``) for the reachability check and as the defaults of
            :meth:`RunningServer.client`.

    Returns:
        The running server; a sync and async context manager that stops it.

    Raises:
        ServerError: A binary is missing, the server did not come up, or the cluster cannot be
            reached or has no such namespace.
    """
    if spec.kind == "external":
        assert spec.address is not None
        server = RunningServer(spec, address=spec.address, ready_timeout=ready_timeout)
        defaults = {**environment_connect_config(), **(connect_kwargs or {})}
        server._connect_defaults = defaults
        run_sync(
            lambda: _check_external(spec.address or "", spec.namespace, ready_timeout, defaults),
            thread_name="replaykit-probe",
        )
        return server
    if connect_kwargs:
        raise ServerError("connect_kwargs apply only to an external server")
    port = _free_port()
    if spec.kind == "embedded":
        argv = _embedded_argv(find_server_binary("temporal"), spec, port)
    else:
        argv = _timeskip_argv(find_server_binary("temporal-test-server"), port)
    server = RunningServer(
        spec, address=f"127.0.0.1:{port}", argv=argv, ready_timeout=ready_timeout
    )
    with _LIVE_LOCK:
        _LIVE.add(server)
    try:
        server._launch_and_wait(attempts=3)
    except BaseException:
        server.stop()
        raise
    return server


async def start_server_async(
    spec: ServerSpec,
    *,
    ready_timeout: float = 30,
    connect_kwargs: Mapping[str, Any] | None = None,
) -> RunningServer:
    """:func:`start_server` without blocking the running event loop."""
    return await asyncio.to_thread(
        start_server, spec, ready_timeout=ready_timeout, connect_kwargs=connect_kwargs
    )
