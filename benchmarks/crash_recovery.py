"""Cost of one injected worker crash, and wall time of ``--crash every-step``.

    .venv/bin/python benchmarks/crash_recovery.py [--rounds 9] [--skip-research]

Part 1, recovery: a workflow waits for updates; each round SIGKILLs the worker that polls, then
sends an update and times kill -> update answered (progress on the successor). Three set-ups on
one embedded dev server, all with ``max_cached_workflows=0``:

* bare SDK, cold: a fresh worker process is started after the kill;
* bare SDK, warm standby: a pre-started worker process is told to poll after the kill;
* replaykit: the fault runner's worker pool (standby, failover on death, injector hooks).

Warm-standby and replaykit rounds alternate, so both see the same load on a shared machine.

Part 2, every-step: ``explore_every_step`` on the reference research agent, every crash point
(activity starts and returns, workflow tasks), with the LLM served from the scenario's cassette
inside the worker processes (``reference_agents._offline:fault_worker_llm``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

ROOT = Path(__file__).resolve().parents[1]


@workflow.defn(sandboxed=False)
class BumpWorkflow:
    """Counts updates until told to stop."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count

    @workflow.update
    def bump(self) -> int:
        self.count += 1
        return self.count

    @workflow.signal
    def finish(self) -> None:
        self.done = True


def _scenario() -> Any:
    from replaykit import scenario

    @scenario(workflows=[BumpWorkflow], name="bump")
    async def bump(run: Any) -> None:  # pragma: no cover - only hosted by workers
        return None

    return bump


BUMP = _scenario()


@contextmanager
def research_llm(name: str) -> Iterator[None]:
    """Worker context: serve LLM calls from the scenario's cassette, repeats allowed (an
    activity retried after a kill asks the same question again). Kept for old command lines;
    the same as ``reference_agents._offline:fault_worker_llm``."""
    from reference_agents._offline import fault_worker_llm

    with fault_worker_llm(name):
        yield


# --------------------------------------------------------------------------- bare worker


async def _bare_worker(address: str, queue: str, standby: bool) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker
    from temporalio.workflow import NondeterminismError

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[BumpWorkflow],
        max_cached_workflows=0,
        workflow_failure_exception_types=[NondeterminismError],
    )
    print("ready", flush=True)
    if standby:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    async with worker:
        await asyncio.Event().wait()


async def _spawn_bare(address: str, queue: str, standby: bool) -> asyncio.subprocess.Process:
    argv = [sys.executable, __file__, "--bare-worker", address, queue]
    if standby:
        argv.append("--standby")
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    await proc.stdout.readline()
    return proc


async def _bump(handle: Any) -> float:
    start = time.perf_counter()
    await handle.execute_update(BumpWorkflow.bump)
    return time.perf_counter() - start


class _Bare:
    """Bare SDK workers on one queue: each round kills the polling one (cold: a new process is
    started after the kill; warm: a pre-started one is told to poll)."""

    def __init__(self, client: Any, address: str, *, warm: bool) -> None:
        self.client, self.address, self.warm = client, address, warm
        self.queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
        self.procs: list[asyncio.subprocess.Process] = []
        self.standby: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.active = await _spawn_bare(self.address, self.queue, standby=False)
        self.procs.append(self.active)
        self.handle = await self.client.start_workflow(
            BumpWorkflow.run,
            id=f"bump-{self.queue}",
            task_queue=self.queue,
            task_timeout=timedelta(seconds=2),
        )
        await _bump(self.handle)

    async def prepare(self) -> None:
        if self.warm and self.standby is None:
            self.standby = await _spawn_bare(self.address, self.queue, standby=True)
            self.procs.append(self.standby)

    async def round(self) -> float:
        t0 = time.perf_counter()
        self.active.send_signal(signal.SIGKILL)
        await self.active.wait()
        update = asyncio.create_task(self.handle.execute_update(BumpWorkflow.bump))
        if self.standby is not None:
            assert self.standby.stdin is not None
            self.standby.stdin.write(b"go\n")
            await self.standby.stdin.drain()
            self.active, self.standby = self.standby, None
        else:
            self.active = await _spawn_bare(self.address, self.queue, standby=False)
            self.procs.append(self.active)
        await update
        return time.perf_counter() - t0

    async def close(self) -> None:
        await self.handle.signal(BumpWorkflow.finish)
        await self.handle.result()
        for p in self.procs:
            if p.returncode is None:
                p.send_signal(signal.SIGKILL)
                await p.wait()


class _Replaykit:
    """The fault runner's worker pool (standby, failover on death, injector hooks)."""

    def __init__(self, client: Any, address: str, tmp: str) -> None:
        from replaykit.faults import FaultPlan
        from replaykit.faults._control import Control
        from replaykit.faults._pool import WorkerPool, WorkerSpec

        self.client = client
        self.control = Control(Path(tmp) / "control.db")
        self.control.set_meta("plan", FaultPlan().to_json())
        self.queue = f"bench-rk-{uuid.uuid4().hex[:6]}"
        self.pool = WorkerPool(
            WorkerSpec(
                address=address,
                namespace="default",
                scenario_file=__file__,
                scenario="bump",
                task_queue=self.queue,
                control=str(Path(tmp) / "control.db"),
                log_dir=tmp,
            )
        )

    async def start(self) -> None:
        await self.pool.start()
        self.handle = await self.client.start_workflow(
            BumpWorkflow.run,
            id=f"bump-{self.queue}",
            task_queue=self.queue,
            task_timeout=timedelta(seconds=2),
        )
        await _bump(self.handle)

    async def prepare(self) -> None:
        # The pool files a standby once it said "ready" (its worker is built).
        while self.pool.standby is None:
            await asyncio.sleep(0.05)

    async def round(self) -> float:
        active = self.pool.active
        assert active is not None
        t0 = time.perf_counter()
        os.kill(active.pid, signal.SIGKILL)
        await active.process.wait()  # the same point as the bare wait()
        await self.handle.execute_update(BumpWorkflow.bump)
        return time.perf_counter() - t0

    async def close(self) -> None:
        await self.handle.signal(BumpWorkflow.finish)
        await self.handle.result()
        await self.pool.stop()
        self.control.close()


async def _recovery(rounds: int) -> dict[str, list[float]]:
    """Cold rounds first; then warm-standby and replaykit rounds interleaved, so both see the
    same machine load (the machine is shared)."""
    from replaykit.servers import ServerSpec, start_server_async

    server = await start_server_async(ServerSpec("embedded"))
    tmp = tempfile.mkdtemp(prefix="bench-rk-")
    try:
        client = await server.client()
        times: dict[str, list[float]] = {"bare cold": [], "bare warm standby": [], "replaykit": []}
        cold = _Bare(client, server.address, warm=False)
        await cold.start()
        for _ in range(rounds):
            await asyncio.sleep(0.3)  # let the active worker settle into its long poll
            times["bare cold"].append(await cold.round())
        await cold.close()
        warm = _Bare(client, server.address, warm=True)
        rk = _Replaykit(client, server.address, tmp)
        await warm.start()
        await rk.start()
        for _ in range(rounds):
            for name, setup in (("bare warm standby", warm), ("replaykit", rk)):
                await setup.prepare()
                await asyncio.sleep(0.3)
                times[name].append(await setup.round())
        await warm.close()
        await rk.close()
        return times
    finally:
        await asyncio.to_thread(server.stop)


def _every_step_research() -> tuple[float, Any]:
    from replaykit import load_scenarios
    from replaykit.faults import FaultRunOptions, explore_every_step

    [scn] = [
        s
        for s in load_scenarios([str(ROOT / "reference_agents" / "scenarios.py")])
        if s.name == "research_happy_path"
    ]
    start = time.perf_counter()
    report = explore_every_step(
        scn,
        options=FaultRunOptions(worker_context="reference_agents._offline:fault_worker_llm"),
    )
    return time.perf_counter() - start, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--skip-research", action="store_true")
    parser.add_argument("--bare-worker", nargs=2, metavar=("ADDRESS", "QUEUE"))
    parser.add_argument("--standby", action="store_true")
    args = parser.parse_args()
    if args.bare_worker:
        asyncio.run(_bare_worker(args.bare_worker[0], args.bare_worker[1], args.standby))
        return
    sys.path.insert(0, str(ROOT))
    results = asyncio.run(_recovery(args.rounds))
    warm = statistics.median(results["bare warm standby"])
    print(f"worker crash recovery (kill -> update answered), median of {args.rounds}:")
    for name, times in results.items():
        med = statistics.median(times)
        spread = f"min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}"
        print(
            f"  {name:<18} {med * 1000:7.1f} ms   ({med / warm:.2f}x bare warm standby; "
            f"{spread} ms)"
        )
    if not args.skip_research:
        seconds, report = _every_step_research()
        print(
            f"every-step on research_happy_path: {len(report.runs)} kill runs "
            f"({len(report.steps.points)} points), {len(report.prefixes)} prefixes, "
            f"{'all held' if report.ok else 'VIOLATIONS'} in {seconds:.1f} s"
        )
        if not report.ok:
            from replaykit.faults._session import format_exploration

            print(format_exploration(report))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
