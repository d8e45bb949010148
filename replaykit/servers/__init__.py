"""Temporal servers replaykit runs on: the embedded dev server, the time-skipping test server,
or an existing cluster.

``parse_server`` turns a spec string (``embedded``, ``timeskip`` or ``HOST:PORT``) into a
:class:`ServerSpec`; ``start_server`` starts (or, for a cluster, checks) the server and returns a
:class:`RunningServer` that is a sync and async context manager.

No server process outlives replaykit: owned servers run in their own process group and, on
Linux, with ``PR_SET_PDEATHSIG``; ``stop()`` sends SIGTERM to the group, waits, then SIGKILL;
an ``atexit`` hook stops anything still running at interpreter exit.

One job per module, everything re-exported here:

- ``_binaries``: finding ``temporal`` / ``temporal-test-server`` (:func:`find_server_binary`).
- ``_process``: launching a server process (process group, parent-death signal, the spawner
  thread, the live-server registry and its ``atexit`` hook, free ports).
- ``_embedded``: the dev server's command line.
- ``_timeskip``: the test server's command line and the client's auto time skipping.
- ``_external``: an existing cluster (environment configuration, the reachability check).
- ``_probe``: the readiness check (a real gRPC round trip).
- ``_running``: :class:`RunningServer` (launch and retry, wait until ready, client, stop, kill,
  restart).
- ``_start``: :func:`start_server` and :func:`start_server_async`.

``ServerSpec`` lives in :mod:`replaykit.config._server_spec` and ``parse_server`` in
:mod:`replaykit.config._settings` (no temporalio import: the pytest plugin validates specs in every
session); both are re-exported here. ``_run_sync`` is :func:`replaykit._internal._sync.run_sync`, kept
under its old name for the modules that import it from here.
"""

from __future__ import annotations

from replaykit._internal._sync import run_sync
from replaykit.config._server_spec import ServerKind, ServerSpec
from replaykit.config._settings import parse_server

# ``import x as x``: private names other replaykit modules and tests import from here.
from ._binaries import find_server_binary
from ._external import _short_reason as _short_reason
from ._external import environment_connect_config as environment_connect_config
from ._process import _pdeathsig_preexec as _pdeathsig_preexec
from ._running import RunningServer
from ._start import start_server, start_server_async

__all__ = [
    "RunningServer",
    "ServerKind",
    "ServerSpec",
    "find_server_binary",
    "parse_server",
    "start_server",
    "start_server_async",
]

_run_sync = run_sync  # the old name, for the modules that import it from here
