"""Worker processes of fault runs: a supply of warm processes, and one run's active + standby.

Starting a worker process (imports, a connection) costs about a second of CPU, which on a small
machine dominates a fault run. A :class:`WorkerSupply` keeps idle processes that serve one run
after another (see :mod:`replaykit.faults.worker`); a :class:`WorkerPool` takes an active
worker and a warm standby from it for one run, fails over when the active one dies, and gives
the survivors back when the run ends. Only a killed process has to be replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replaykit._internal._errors import ReplaykitError
from replaykit.servers import _pdeathsig_preexec

__all__ = ["WorkerPool", "WorkerSpec", "WorkerSupply"]

#: Lines of the worker log shown when a worker process dies before it is ready.
_LOG_TAIL = 12

logger = logging.getLogger(__name__)

_READY_TIMEOUT = 90.0
_STOP_TIMEOUT = 15.0
#: Starting a Python process takes a core for a while: a replacement is started this long after
#: a failover, so it does not slow down the recovery it follows.
_SPAWN_DELAY = 0.3


@dataclass(frozen=True)
class WorkerSpec:
    """What one run's workers host, and where they report."""

    address: str
    namespace: str
    scenario_file: str
    scenario: str
    task_queue: str
    control: str
    log_dir: str
    ledger: str | None = None
    worker_context: str | None = None
    data_converter: str | None = None
    #: ``module:attr`` plugin references for the workers, after the scenario's own plugins.
    plugins: tuple[str, ...] = ()

    def session(self, *, standby: bool) -> bytes:
        """The session line a worker process is configured with."""
        cfg = {
            "scenario_file": self.scenario_file,
            "scenario": self.scenario,
            "task_queue": self.task_queue,
            "control": self.control,
            "ledger": self.ledger,
            "worker_context": self.worker_context,
            "standby": standby,
            "data_converter": self.data_converter,
            "plugins": list(self.plugins),
        }
        return (json.dumps(cfg) + "\n").encode()


@dataclass
class _Proc:
    process: asyncio.subprocess.Process
    role: str = "idle"
    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    errors: list[str] = field(default_factory=list)
    log_path: str | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def expect(self, word: str, *, timeout: float = _READY_TIMEOUT) -> None:
        """Wait for the status line ``word`` (``idle``, ``ready``, ``running``)."""

        async def wait() -> None:
            while True:
                line = await self.lines.get()
                if line is None:
                    raise ReplaykitError(self._death_report(word))
                if line == word:
                    return

        await asyncio.wait_for(wait(), timeout=timeout)

    def _death_report(self, word: str) -> str:
        """Why the process ended before saying ``word``: what it reported, and the end of
        the worker log (its stderr), so a worker that cannot start says why."""
        lines = [f"worker pid {self.pid} exited (waiting for {word!r})"]
        reported = [e.split(": ", 1)[-1] for e in self.errors]
        lines.extend(f"  {e}" for e in reported)
        if self.log_path is not None:
            try:
                tail = Path(self.log_path).read_text(errors="replace").splitlines()[-_LOG_TAIL:]
            except OSError:
                tail = []
            tail = [t for t in tail if t.strip() and t.strip() not in reported]
            if tail:
                lines.append(f"  worker log ({self.log_path}), last lines:")
                lines.extend(f"    {t}" for t in tail)
        return "\n".join(lines)


class WorkerSupply:
    """Idle, connected worker processes for one server, reused by run after run.

    Args:
        address: The server's address.
        namespace: The namespace.
        log_dir: Folder of ``workers.log`` (the processes' stderr).
        spare: Idle processes to keep ready ahead of demand.
    """

    def __init__(self, address: str, namespace: str, log_dir: str, *, spare: int = 0) -> None:
        self.address = address
        self.namespace = namespace
        self.log_dir = log_dir
        self.spare = spare
        self.spawned = 0
        self._idle: list[_Proc] = []
        self._starting: set[asyncio.Task[_Proc]] = set()
        self._all: list[_Proc] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> _Proc:
        """An idle process (a new one if none is ready)."""
        while self._idle:
            proc = self._idle.pop(0)
            if proc.alive:
                self._refill()
                return proc
        if self._starting:
            # A spare being started is closer to ready than a new process would be; its done
            # callback (``_spare_started``) files it as idle.
            await asyncio.wait(set(self._starting), return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(0)
            return await self.take()
        proc = await self._start_one()
        self._refill()
        return proc

    def give_back(self, proc: _Proc) -> None:
        """Return a process whose session ended (it said ``idle``) for the next run."""
        if self._closed or not proc.alive:
            self._kill(proc)
            return
        proc.role = "idle"
        if proc not in self._idle:
            self._idle.append(proc)

    def _refill(self, *, delay: float = 0.0) -> None:
        missing = self.spare - len(self._idle) - len(self._starting)
        for _ in range(max(0, missing)):
            task = asyncio.create_task(self._start_one(delay=delay))
            self._starting.add(task)
            task.add_done_callback(self._spare_started)

    def _spare_started(self, task: asyncio.Task[_Proc]) -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is None:
            proc = task.result()
            if proc not in self._idle:
                self._idle.append(proc)

    def replaced(self) -> None:
        """A process died: start a spare (a little later, so recovery keeps the CPU)."""
        if not self._closed:
            self._refill(delay=_SPAWN_DELAY)

    async def _start_one(self, *, delay: float = 0.0) -> _Proc:
        if delay:
            await asyncio.sleep(delay)
        argv = [
            sys.executable,
            "-m",
            "replaykit.faults.worker",
            "--address",
            self.address,
            "--namespace",
            self.namespace,
        ]
        env = dict(os.environ)
        # The worker must import what this process imports (scenario modules, their packages).
        paths = [p for p in sys.path if p] + [os.getcwd()]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        log = open(Path(self.log_dir) / "workers.log", "ab")  # noqa: SIM115 - closed below
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
                preexec_fn=_pdeathsig_preexec(os.getpid()),
            )
        finally:
            log.close()
        self.spawned += 1
        proc = _Proc(process, log_path=str(Path(self.log_dir) / "workers.log"))
        self._all.append(proc)
        self._background(self._read(proc))
        if self._closed:
            self._kill(proc)
            raise ReplaykitError("worker supply closed")
        try:
            await proc.expect("idle")
        except (ReplaykitError, asyncio.TimeoutError) as err:
            self._kill(proc)
            raise ReplaykitError(
                f"worker pid {proc.pid} did not start: {err} (see {self.log_dir}/workers.log)"
            ) from None
        return proc

    async def _read(self, proc: _Proc) -> None:
        assert proc.process.stdout is not None
        try:
            while True:
                raw = await proc.process.stdout.readline()
                if not raw:
                    proc.lines.put_nowait(None)
                    return
                text = raw.decode(errors="replace").strip()
                if text.startswith("error"):
                    proc.errors.append(f"worker pid {proc.pid}: {text}")
                proc.lines.put_nowait(text)
        except asyncio.CancelledError:
            proc.lines.put_nowait(None)

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _kill(self, proc: _Proc) -> None:
        if proc.alive:
            with contextlib.suppress(ProcessLookupError):
                proc.process.send_signal(signal.SIGKILL)

    async def close(self) -> None:
        """Kill every process this supply started and wait for them."""
        self._closed = True
        for starting in list(self._starting):
            starting.cancel()
        for starting in list(self._starting):
            with contextlib.suppress(BaseException):
                await starting
        for proc in self._all:
            self._kill(proc)
        for proc in self._all:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.process.wait(), timeout=10)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


class WorkerPool:
    """One run's workers: one polling, one standby ready; fails over when the active one dies.

    Args:
        spec: What the workers host.
        standby: Keep a warm standby process (fast failover).
        supply: Where processes come from (default: a private supply, closed with the pool).
    """

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        standby: bool = True,
        supply: WorkerSupply | None = None,
    ) -> None:
        self.spec = spec
        self.use_standby = standby
        self.supply = supply or WorkerSupply(spec.address, spec.namespace, spec.log_dir)
        self._own_supply = supply is None
        self.active: _Proc | None = None
        self.standby: _Proc | None = None
        self.deaths: list[tuple[int, float]] = []  # (pid, detected at, time.time())
        self.failovers: list[tuple[float, float]] = []  # (death detected, go sent)
        self.died = asyncio.Event()
        self._errors: list[str] = []
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._used: list[_Proc] = []
        self._seen: dict[int, int] = {}  # pid -> errors it had reported before this run
        self._standby_task: asyncio.Task[None] | None = None

    @property
    def errors(self) -> list[str]:
        """Errors reported by this run's workers and by failovers."""
        return self._errors + [e for p in self._used for e in p.errors[self._seen[p.pid] :]]

    async def start(self) -> None:
        """Start the active worker (and the standby); wait until the active one polls."""
        # Both build their worker at once (building one validates the workflows in a sandbox).
        if self.use_standby:
            active, self.standby = await asyncio.gather(
                self._configure(standby=False), self._configure(standby=True)
            )
        else:
            active = await self._configure(standby=False)
        await active.expect("running")
        self.active = active
        self._watch(active)

    async def _configure(self, *, standby: bool) -> _Proc:
        proc = await self.supply.take()
        proc.role = "standby" if standby else "active"
        self._used.append(proc)
        self._seen[proc.pid] = len(proc.errors)
        await proc.send(self.spec.session(standby=standby))
        await proc.expect("ready")
        return proc

    def _watch(self, proc: _Proc) -> None:
        task = asyncio.create_task(self._watch_one(proc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch_one(self, proc: _Proc) -> None:
        await proc.process.wait()
        if self._stopping or proc is not self.active:
            return
        detected = time.time()
        self.deaths.append((proc.pid, detected))
        self.died.set()
        self.supply.replaced()
        try:
            await self._failover(detected)
        except Exception as err:  # reported, and the run fails on its timeout
            self._errors.append(f"failover after worker pid {proc.pid} died: {err}")

    async def _failover(self, detected: float) -> None:
        standby = self.standby
        self.standby = None
        if standby is not None and standby.alive:
            await standby.send(b"go\n")
            standby.role = "active"
            new = standby
        else:
            new = await self._configure(standby=False)
        self.failovers.append((detected, time.time()))
        self.active = new
        self._watch(new)
        await new.expect("running")
        if self.use_standby and not self._stopping:
            await asyncio.sleep(_SPAWN_DELAY)
            if not self._stopping:
                self.standby = await self._configure(standby=True)

    async def stop(self) -> None:
        """Stop this run's sessions and give the processes back (kill what does not stop)."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        waits = []
        for proc in self._used:
            if not proc.alive:
                continue
            try:
                await proc.send(b"stop\n")
            except (ConnectionError, OSError):
                continue
            waits.append(proc)
        # Wait until each session really ended: the run's control file is read next.
        for proc in waits:
            try:
                await proc.expect("idle", timeout=_STOP_TIMEOUT)
            except (ReplaykitError, asyncio.TimeoutError):
                self.supply._kill(proc)
                continue
            self.supply.give_back(proc)
        if self._own_supply:
            await self.supply.close()
