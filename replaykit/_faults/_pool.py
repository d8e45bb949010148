"""Worker processes of a fault run: one active worker, one warm standby, failover on death."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import ReplaykitError
from .._servers import _pdeathsig_preexec

__all__ = ["WorkerPool", "WorkerSpec"]

logger = logging.getLogger(__name__)

_READY_TIMEOUT = 90.0
_STANDBY_DELAY = 0.3


@dataclass(frozen=True)
class WorkerSpec:
    """How to start a worker process."""

    address: str
    namespace: str
    scenario_file: str
    scenario: str
    task_queue: str
    control: str
    log_dir: str
    ledger: str | None = None
    worker_context: str | None = None


@dataclass
class _Proc:
    process: asyncio.subprocess.Process
    role: str
    ready: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def pid(self) -> int:
        return self.process.pid


class WorkerPool:
    """Keeps one worker polling and one standby ready; replaces workers that die.

    Args:
        spec: How to start workers.
        standby: Keep a warm standby process (fast failover).
    """

    def __init__(self, spec: WorkerSpec, *, standby: bool = True) -> None:
        self.spec = spec
        self.use_standby = standby
        self.active: _Proc | None = None
        self.standby: _Proc | None = None
        self.deaths: list[tuple[int, float]] = []  # (pid, detected at, time.time())
        self.failovers: list[tuple[float, float]] = []  # (death detected, go sent)
        self.errors: list[str] = []
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._all: list[_Proc] = []

    async def start(self) -> None:
        """Start the active worker (and the standby); wait until the active one polls."""
        active = await self._spawn(standby=False)
        if self.use_standby:
            self.standby = await self._spawn(standby=True)
        await self._await_ready(active)
        self.active = active
        self._watch(active)

    async def _spawn(self, *, standby: bool) -> _Proc:
        spec = self.spec
        argv = [
            sys.executable, "-m", "replaykit._faults.worker",
            "--address", spec.address, "--namespace", spec.namespace,
            "--scenario-file", spec.scenario_file, "--scenario", spec.scenario,
            "--task-queue", spec.task_queue, "--control", spec.control,
        ]
        if standby:
            argv.append("--standby")
        if spec.worker_context:
            argv += ["--worker-context", spec.worker_context]
        env = dict(os.environ)
        # The worker must import what this process imports (scenario modules, their packages).
        paths = [p for p in sys.path if p] + [os.getcwd()]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        if spec.ledger:
            env["REPLAYKIT_LEDGER"] = spec.ledger
        log = open(Path(spec.log_dir) / "workers.log", "ab")  # noqa: SIM115 - closed below
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
        proc = _Proc(process, "standby" if standby else "active")
        self._all.append(proc)
        task = asyncio.create_task(self._read_ready(proc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return proc

    async def _read_ready(self, proc: _Proc) -> None:
        assert proc.process.stdout is not None
        try:
            while True:
                line = await proc.process.stdout.readline()
                if not line:
                    if not proc.ready.done():
                        proc.ready.set_exception(
                            ReplaykitError(
                                f"worker pid {proc.pid} exited before it was ready "
                                f"(see {self.spec.log_dir}/workers.log)"
                            )
                        )
                    return
                text = line.decode(errors="replace").strip()
                if text == "ready" and not proc.ready.done():
                    proc.ready.set_result(None)
                elif text.startswith("error"):
                    self.errors.append(f"worker pid {proc.pid}: {text}")
        except asyncio.CancelledError:
            return

    async def _await_ready(self, proc: _Proc) -> None:
        await asyncio.wait_for(asyncio.shield(proc.ready), timeout=_READY_TIMEOUT)

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
        try:
            await self._failover(detected)
        except Exception as err:  # reported, and the run fails on its timeout
            self.errors.append(f"failover after worker pid {proc.pid} died: {err}")

    async def _failover(self, detected: float) -> None:
        standby = self.standby
        self.standby = None
        if standby is not None and standby.process.returncode is None:
            await self._await_ready(standby)
            assert standby.process.stdin is not None
            standby.process.stdin.write(b"go\n")
            await standby.process.stdin.drain()
            standby.role = "active"
            new = standby
        else:
            new = await self._spawn(standby=False)
            await self._await_ready(new)
        self.failovers.append((detected, time.time()))
        self.active = new
        self._watch(new)
        if self.use_standby and not self._stopping:
            # Starting a Python process takes a core for a while: let the successor catch up
            # first, so the replacement standby does not slow down the recovery it follows.
            await asyncio.sleep(_STANDBY_DELAY)
            if not self._stopping:
                self.standby = await self._spawn(standby=True)

    async def stop(self) -> None:
        """Kill every worker process this pool started and wait for them."""
        self._stopping = True
        for proc in self._all:
            if proc.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.send_signal(signal.SIGKILL)
        for proc in self._all:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.process.wait(), timeout=10)
        for task in list(self._tasks):
            task.cancel()
        for proc in self._all:
            if not proc.ready.done():
                proc.ready.cancel()
            elif not proc.ready.cancelled():
                proc.ready.exception()  # consume, so asyncio does not warn
