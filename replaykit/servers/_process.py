"""Launching owned server processes so that none outlives replaykit.

Each server runs in its own process group (a Ctrl-C in the terminal reaches replaykit, which
stops them in order) and, on Linux, with ``PR_SET_PDEATHSIG`` so the kernel kills it even when
replaykit itself is SIGKILLed. Every launch happens on one long-lived spawner thread (the
signal fires when the *thread* that forked the child exits). Live servers are registered so an
``atexit`` hook stops anything still running at interpreter exit.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import ctypes
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from replaykit._internal._errors import ServerError

_PR_SET_PDEATHSIG = 1


def _pdeathsig_preexec(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the child when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        # Resolve prctl before fork: the child should do as little as possible.
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died between fork and prctl; then no signal will ever come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


class _Spawner:
    """Starts every owned server from one long-lived daemon thread.

    PDEATHSIG fires when the *thread* that forked the child exits, not the process. Spawning
    from whatever thread calls ``start_server`` (an executor worker, ``asyncio.to_thread``)
    would kill the server when that thread is retired; this thread lives as long as the process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], concurrent.futures.Future[Any]]
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def spawn(self, fn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="replaykit-server-spawner", daemon=True
                )
                self._thread.start()
        future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future.result()

    def _run(self) -> None:
        while True:
            fn, future = self._jobs.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_SPAWNER = _Spawner()
_LIVE: set[_Stoppable] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


atexit.register(_stop_all_at_exit)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_env() -> dict[str, str]:
    # The embedded servers are self-contained: the user's cluster settings must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The server is its own process-group leader (start_new_session), so pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _spawn(argv: list[str], log_dir: str) -> subprocess.Popen[bytes]:
    parent_pid = os.getpid()

    def launch() -> subprocess.Popen[bytes]:
        with open(os.path.join(log_dir, "server.log"), "ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(parent_pid),
            )

    try:
        return _SPAWNER.spawn(launch)
    except OSError as exc:
        raise ServerError(f"cannot start {argv[0]}: {exc}") from exc


def _looks_like_port_clash(log: str) -> bool:
    lowered = log.lower()
    return "address already in use" in lowered or "bindexception" in lowered
