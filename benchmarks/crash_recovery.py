"""Cost of one injected worker crash, and wall time of ``--crash every-step``.

    .venv/bin/python benchmarks/crash_recovery.py [--rounds 5] [--skip-research]

Part 1, recovery: a workflow waits for updates; each round SIGKILLs the worker that polls, then
sends an update and times kill -> update answered (progress on the successor). Three set-ups on
one embedded dev server, all with ``max_cached_workflows=0``:

* bare SDK, cold: a fresh worker process is started after the kill;
* bare SDK, warm standby: a pre-started worker process is told to poll after the kill;
* replaykit: the fault runner's worker pool (standby, failover on death, injector hooks).

Part 2, every-step: ``explore_every_step`` on the reference research agent (workflow-task and
timer points; its activity points wait for the agent's 2-minute start-to-close timeouts), with
the LLM served from the scenario's cassette inside the worker processes.
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
    activity retried after a kill asks the same question again)."""
    from reference_agents._offline import REPLAY_BASE_URL, cassette_dir
    from replaykit._cassettes import cassette

    os.environ["OPENAI_BASE_URL"] = REPLAY_BASE_URL
    os.environ["OPENAI_API_KEY"] = "sk-replay-offline"
    with cassette(name, cassette_dir=cassette_dir(), record_mode="none",
                  allow_playback_repeats=True):
        yield


# --------------------------------------------------------------------------- bare worker


async def _bare_worker(address: str, queue: str, standby: bool) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker
    from temporalio.workflow import NondeterminismError

    client = await Client.connect(address)
    worker = Worker(client, task_queue=queue, workflows=[BumpWorkflow], max_cached_workflows=0,
                    workflow_failure_exception_types=[NondeterminismError])
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
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    await proc.stdout.readline()
    return proc


async def _bump(handle: Any) -> float:
    start = time.perf_counter()
    await handle.execute_update(BumpWorkflow.bump)
    return time.perf_counter() - start


async def _bench_bare(client: Any, address: str, rounds: int, *, warm: bool) -> list[float]:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    active = await _spawn_bare(address, queue, standby=False)
    handle = await client.start_workflow(BumpWorkflow.run, id=f"bump-{queue}", task_queue=queue,
                                         task_timeout=timedelta(seconds=2))
    await _bump(handle)
    times: list[float] = []
    procs = [active]
    for _ in range(rounds):
        standby = await _spawn_bare(address, queue, standby=True) if warm else None
        if standby:
            procs.append(standby)
        await asyncio.sleep(0.3)  # let the active worker settle into its long poll
        t0 = time.perf_counter()
        active.send_signal(signal.SIGKILL)
        await active.wait()
        update = asyncio.create_task(handle.execute_update(BumpWorkflow.bump))
        if standby is not None:
            assert standby.stdin is not None
            standby.stdin.write(b"go\n")
            await standby.stdin.drain()
            active = standby
        else:
            active = await _spawn_bare(address, queue, standby=False)
            procs.append(active)
        await update
        times.append(time.perf_counter() - t0)
    await handle.signal(BumpWorkflow.finish)
    await handle.result()
    for p in procs:
        if p.returncode is None:
            p.send_signal(signal.SIGKILL)
            await p.wait()
    return times


async def _bench_replaykit(client: Any, address: str, rounds: int) -> list[float]:
    from replaykit._faults._control import Control
    from replaykit._faults._plan import FaultPlan
    from replaykit._faults._pool import WorkerPool, WorkerSpec

    with tempfile.TemporaryDirectory() as tmp:
        control = Control(Path(tmp) / "control.db")
        control.set_meta("plan", FaultPlan().to_json())
        queue = f"bench-rk-{uuid.uuid4().hex[:6]}"
        pool = WorkerPool(WorkerSpec(address=address, namespace="default",
                                     scenario_file=__file__, scenario="bump", task_queue=queue,
                                     control=str(Path(tmp) / "control.db"), log_dir=tmp))
        await pool.start()
        try:
            handle = await client.start_workflow(
                BumpWorkflow.run, id=f"bump-{queue}", task_queue=queue,
                task_timeout=timedelta(seconds=2),
            )
            await _bump(handle)
            times: list[float] = []
            for _ in range(rounds):
                while pool.standby is None or not pool.standby.ready.done():
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
                assert pool.active is not None
                t0 = time.perf_counter()
                deaths = len(pool.deaths)
                os.kill(pool.active.pid, signal.SIGKILL)
                while len(pool.deaths) == deaths:  # the same point as the bare wait()
                    await asyncio.sleep(0.001)
                await handle.execute_update(BumpWorkflow.bump)
                times.append(time.perf_counter() - t0)
            await handle.signal(BumpWorkflow.finish)
            await handle.result()
        finally:
            await pool.stop()
            control.close()
    return times


async def _recovery(rounds: int) -> dict[str, list[float]]:
    from replaykit._servers import ServerSpec, start_server_async

    server = await start_server_async(ServerSpec("embedded"))
    try:
        client = await server.client()
        return {
            "bare cold": await _bench_bare(client, server.address, rounds, warm=False),
            "bare warm standby": await _bench_bare(client, server.address, rounds, warm=True),
            "replaykit": await _bench_replaykit(client, server.address, rounds),
        }
    finally:
        await asyncio.to_thread(server.stop)


def _every_step_research() -> tuple[float, Any]:
    from replaykit import load_scenarios
    from replaykit._faults._explore import explore_every_step

    [scn] = [s for s in load_scenarios([str(ROOT / "reference_agents" / "scenarios.py")])
             if s.name == "research_happy_path"]
    start = time.perf_counter()
    report = explore_every_step(
        scn, point_kinds=("workflow-task", "timer"),
        worker_context="benchmarks.crash_recovery:research_llm",
    )
    return time.perf_counter() - start, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
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
        print(f"  {name:<18} {med * 1000:7.1f} ms   ({med / warm:.2f}x bare warm standby)")
    if not args.skip_research:
        seconds, report = _every_step_research()
        print(
            f"every-step on research_happy_path: {len(report.runs)} kill runs "
            f"({len(report.steps.points)} points), {len(report.prefixes)} prefixes, "
            f"{'all held' if report.ok else 'VIOLATIONS'} in {seconds:.1f} s"
        )
        if not report.ok:
            from replaykit._faults._session import format_exploration

            print(format_exploration(report))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
