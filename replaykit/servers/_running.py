"""The running server: :class:`RunningServer`, the handle ``start_server`` returns.

It launches an owned server (retrying on a new port when the first one clashes), waits until the
frontend answers, connects clients (with auto time skipping for the test server), and stops,
kills or restarts the process. ``stop()`` sends SIGTERM to the group, waits, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import temporalio.client

from replaykit._internal._errors import ServerError
from replaykit._internal._sync import run_sync
from replaykit.config._server_spec import ServerKind, ServerSpec

from ._embedded import _embedded_with_port
from ._external import _short_reason
from ._probe import _probe
from ._process import _LIVE, _LIVE_LOCK, _free_port, _looks_like_port_clash, _signal_group, _spawn
from ._timeskip import _timeskip_with_port, _TimeSkippingInterceptor

logger = logging.getLogger("replaykit.servers")


class _ExitedWhileStarting(ServerError):
    """The server process ended before it answered (retried on a new port)."""


def _with_port(argv: list[str], kind: ServerKind, port: int) -> list[str]:
    if kind == "timeskip":
        return _timeskip_with_port(argv, port)
    return _embedded_with_port(argv, port)


class RunningServer:
    """A started (or, for ``external``, reached) Temporal server.

    Use it as ``with start_server(spec) as server:`` or ``async with``; leaving the block stops
    owned servers. ``stop()`` is idempotent. For the embedded dev server, ``kill()`` and
    ``restart()`` inject a server crash: with ``db_filename`` set, executions survive it.

    Attributes:
        spec: What was asked for.
        address: ``HOST:PORT`` of the frontend (``127.0.0.1:PORT`` for owned servers).
        namespace: The namespace to use.
    """

    def __init__(
        self,
        spec: ServerSpec,
        *,
        address: str,
        argv: list[str] | None = None,
        ready_timeout: float = 30,
    ) -> None:
        self.spec = spec
        self.address = address
        self.namespace = spec.namespace
        self._argv = argv
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir: str | None = None
        self._lock = threading.RLock()
        self._stopped = False
        self._connect_defaults: dict[str, Any] = {}

    # -- public ---------------------------------------------------------------------------

    @property
    def kind(self) -> ServerKind:
        """``"embedded"``, ``"timeskip"`` or ``"external"``."""
        return self.spec.kind

    @property
    def pid(self) -> int | None:
        """Process id of the owned server while it runs; ``None`` for external or stopped."""
        process = self._process
        if process is None or process.poll() is not None:
            return None
        return process.pid

    @property
    def log_path(self) -> Path | None:
        """The owned server's combined stdout/stderr log, while the server is not stopped."""
        return Path(self._log_dir) / "server.log" if self._log_dir else None

    async def client(self, **connect_kwargs: Any) -> temporalio.client.Client:
        """Connect a client to this server.

        For the time-skipping server the client skips time automatically while a workflow
        result is awaited (``handle.result()``, ``execute_workflow``).

        Args:
            **connect_kwargs: Passed to :meth:`temporalio.client.Client.connect`
                (``namespace`` defaults to this server's namespace).

        Returns:
            A connected client.
        """
        from replaykit._internal._runtime import quiet_runtime

        # Core's warnings (e.g. the test server's missing capabilities) are noise in reports.
        kwargs: dict[str, Any] = {
            "namespace": self.namespace,
            "runtime": quiet_runtime(),
            **self._connect_defaults,
        }
        kwargs.update(connect_kwargs)
        if self.kind == "timeskip":
            kwargs["interceptors"] = [*kwargs.get("interceptors", ()), _TimeSkippingInterceptor()]
        try:
            return await temporalio.client.Client.connect(self.address, **kwargs)
        except RuntimeError as exc:
            raise ServerError(
                f"cannot connect to Temporal at {self.address}: {_short_reason(exc)}"
            ) from exc

    def stop(self) -> None:
        """Stop an owned server (SIGTERM to its group, wait, then SIGKILL). Idempotent."""
        with self._lock:
            self._stopped = True
            self._terminate(graceful=True)
            if self._log_dir is not None:
                shutil.rmtree(self._log_dir, ignore_errors=True)
                self._log_dir = None
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the embedded server process (fault injection); ``restart()`` brings it back.

        Raises:
            ServerError: Not an embedded server, or it was stopped.
        """
        self._require_embedded("kill")
        with self._lock:
            self._terminate(graceful=False)

    def restart(self) -> None:
        """Start the embedded server again on the same port and store; waits until ready.

        A running server is stopped first. Without ``db_filename`` the restarted server is
        empty.

        Raises:
            ServerError: Not an embedded server, stopped, or it did not come back.
        """
        self._require_embedded("restart")
        with self._lock:
            self._terminate(graceful=True)
            self._launch_and_wait(attempts=1)

    # -- context managers -----------------------------------------------------------------

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A graceful dev-server stop takes about a second: keep the event loop free meanwhile.
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        return f"RunningServer(kind={self.kind!r}, address={self.address!r}, pid={self.pid})"

    # -- internals ------------------------------------------------------------------------

    def _require_embedded(self, what: str) -> None:
        if self.kind != "embedded":
            raise ServerError(
                f"{what}() is only supported for the embedded server, not {self.kind}"
            )
        if self._stopped:
            raise ServerError(f"{what}() called on a stopped server")

    def _terminate(self, *, graceful: bool) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            if graceful:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    logger.warning("server pid %s ignored SIGTERM; killing it", process.pid)
            if process.poll() is None:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        # Strays in the group (none expected) must not outlive the leader either.
        _signal_group(process, signal.SIGKILL)

    def _launch_and_wait(self, *, attempts: int) -> None:
        assert self._argv is not None
        if self._log_dir is None:
            self._log_dir = tempfile.mkdtemp(prefix="replaykit-server-")
        last_error: ServerError | None = None
        for _ in range(attempts):
            self._process = _spawn(self._argv, self._log_dir)
            try:
                self._wait_ready()
                return
            except ServerError as exc:
                last_error = exc
                self._terminate(graceful=False)
                if attempts == 1 or not (
                    isinstance(exc, _ExitedWhileStarting)
                    or _looks_like_port_clash(self._read_log())
                ):
                    raise
                # Another process took the port between probing and binding (the dev server
                # binds more ports than the one we pick), or the binary died early on a
                # loaded machine: start again on a new port; a lasting cause fails each try.
                logger.warning("%s; starting it again on a new port", exc)
                port = _free_port()
                self.address = f"127.0.0.1:{port}"
                self._argv = _with_port(self._argv, self.kind, port)
        assert last_error is not None
        raise last_error

    def _read_log(self, limit: int = 2000) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return ""
        text = path.read_text(errors="replace")
        return text[-limit:]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        run_sync(lambda: self._probe_until_ready(deadline), thread_name="replaykit-probe")

    async def _probe_until_ready(self, deadline: float) -> None:
        assert self._process is not None
        binary = Path(self._argv[0]).name if self._argv else "server"
        last: BaseException | None = None
        while True:
            code = self._process.poll()
            if code is not None:
                tail = self._read_log().strip().splitlines()[-5:]
                detail = " | ".join(tail) or "no output"
                raise _ExitedWhileStarting(
                    f"{binary} exited with code {code} while starting on {self.address}: {detail}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerError(
                    f"{binary} on {self.address} was not ready after {self._ready_timeout:g}s: "
                    f"{last}"
                )
            try:
                await asyncio.wait_for(
                    _probe(self.address, self.namespace, self.kind), timeout=min(remaining, 5)
                )
                return
            except (Exception, asyncio.TimeoutError) as exc:
                last = exc
            await asyncio.sleep(0.05)
