"""Shadow throughput: the same executions via ``pull`` + ``check``, via ``shadow``, and via the
stock SDK's documented way, in one run.

An embedded dev server is seeded with the reference-agent fleet (``reference_agents.fleet``:
research and tool agents, continue-as-new chains, approvals and support sessions, closed and
running; ``--scale`` multiplies it). Then, each in a fresh process (imports, worker start-up
and server connection included, as a user pays them):

* stock: ``client.list_workflows(q).map_histories()`` into ``Replayer.replay_workflows``
  (sandboxed, one process; what Temporal's safe-deployment guide shows);
* ``replaykit pull`` then ``replaykit check`` (two passes through files);
* ``replaykit shadow --no-store`` (fetching overlaps replaying);
* ``replaykit shadow`` with a cold store, then again with the warm store (only running
  executions are asked whether they grew).

Prints seconds, histories/s and the ratio to ``pull`` + ``check``. Never asserts times (the
machines are shared and noisy). Run: ``python benchmarks/shadow_throughput.py [--scale 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERY = "TaskQueue = 'fleet'"

STOCK = r"""
import asyncio, json, sys, time
from temporalio.client import Client
from temporalio.worker import Replayer
from replaykit import collect_workflows

async def main():
    workflows = collect_workflows(["reference_agents"])
    t = time.perf_counter()
    client = await Client.connect(sys.argv[1])
    histories = client.list_workflows(sys.argv[2]).map_histories()
    result = await Replayer(workflows=workflows).replay_workflows(
        histories, raise_on_replay_failure=False)
    print(json.dumps({"seconds": time.perf_counter() - t,
                      "failures": len(result.replay_failures)}))

asyncio.run(main())
sys.stdout.flush()
import os; os._exit(0)
"""


def _replaykit(args: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "from replaykit.cli import run; run()", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(
            f"replaykit {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return seconds, proc.stdout


def _stock(address: str) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", STOCK, address, QUERY],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"stock replay failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t


def _on_temporal_summary(
    n: int, rows: dict[str, float], coordinator: dict[int, dict[str, float]], jobs: int
) -> None:
    """The coordinator's overhead, and the 1,000,000-execution projection on paper."""
    local = rows["replaykit shadow --no-store"]
    for workers, stats in coordinator.items():
        print(
            f"on Temporal, {workers} worker(s): {stats['coordinator_runs']} coordinator run(s), "
            f"largest {stats['coordinator_max_events']} events, "
            f"{1000 * stats['coordinator_events'] / n:.0f} coordinator events per 1,000 "
            f"histories, {stats['requests'] / n:.2f} requests per history"
        )
    two = rows["replaykit shadow --on-temporal, 2 worker(s)"]
    overhead_ms = 1000 * (two - local) / n
    print(
        f"coordinator overhead: {overhead_ms:+.1f} ms per history "
        f"(on Temporal with 2 workers vs the local shadow with {jobs} replay processes)"
    )
    per_worker = n / rows["replaykit shadow --on-temporal, 1 worker(s)"]
    requests = coordinator[1]["requests"] / n
    fleet_rate = 100 * per_worker
    limit_rate = 2000 / requests  # a Temporal Cloud namespace: ~2,000 requests/s
    bound = min(fleet_rate, limit_rate)
    print(
        f"projection, 1,000,000 executions on 100 workers: 100 x {per_worker:.1f} hist/s = "
        f"{fleet_rate:,.0f} hist/s of replay; the fetch limit (2,000 requests/s at "
        f"{requests:.2f} requests per history) allows {limit_rate:,.0f} hist/s; bound "
        f"{bound:,.0f} hist/s -> {1_000_000 / bound / 60:.1f} min"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="Fleets of ~235 executions.")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    from reference_agents.fleet import FleetSize, seed_fleet
    from replaykit.servers import parse_server, start_server

    base = FleetSize()
    size = FleetSize(
        research=base.research * args.scale,
        openai=base.openai * args.scale,
        monitoring=base.monitoring * args.scale,
        approved=base.approved * args.scale,
        waiting=base.waiting * args.scale,
        support=base.support * args.scale,
    )
    work = Path(tempfile.mkdtemp(prefix="replaykit-shadow-bench-"))
    with start_server(parse_server("embedded")) as server:

        async def seed() -> None:
            await seed_fleet(await server.client(), size=size)

        t = time.perf_counter()
        asyncio.run(seed())
        n = size.executions
        print(f"seeded {n} executions in {time.perf_counter() - t:.1f} s on {server.address}")
        common = ["-w", "reference_agents", "-q", "-j", str(args.jobs)]
        target = ["--server", server.address, "--query", QUERY]

        rows: list[tuple[str, float]] = [
            ("stock list + map_histories + Replayer", _stock(server.address))
        ]
        pull_s, _ = _replaykit(["pull", *target, "--out", str(work / "pulled")])
        check_s, _ = _replaykit(["check", str(work / "pulled"), *common])
        rows.append(("replaykit pull + check", pull_s + check_s))
        rows.append(
            (
                "replaykit shadow --no-store",
                _replaykit(["shadow", *target, "--no-store", *common])[0],
            )
        )
        store = ["--store", str(work / "store")]
        rows.append(
            ("replaykit shadow (cold store)", _replaykit(["shadow", *target, *store, *common])[0])
        )
        warm_s, out = _replaykit(["shadow", *target, *store, *common])
        rows.append(("replaykit shadow (warm store)", warm_s))
        counts = next(line for line in out.splitlines() if line.startswith("shadow "))
        coordinator: dict[int, dict[str, float]] = {}
        for workers in (1, 2):
            report = work / f"on-temporal-{workers}.json"
            seconds, _ = _replaykit(
                ["shadow", "--on-temporal", "--local-workers", str(workers), *target]
                + ["--no-store", "-w", "reference_agents", "-q", "--json-report", str(report)]
            )
            rows.append((f"replaykit shadow --on-temporal, {workers} worker(s)", seconds))
            coordinator[workers] = json.loads(report.read_text())["shadow"]

    baseline = pull_s + check_s
    print(f"\n{n} executions ({size.waiting + size.support} running), {args.jobs} replay workers")
    print(f"  pull {pull_s:.1f} s + check {check_s:.1f} s")
    print(f"{'method':42} {'seconds':>8} {'hist/s':>8} {'vs pull+check':>14}")
    for name, seconds in rows:
        print(f"{name:42} {seconds:8.1f} {n / seconds:8.1f} {baseline / seconds:13.2f}x")
    print(f"warm store: {counts}")
    _on_temporal_summary(n, dict(rows), coordinator, args.jobs)
    print(json.dumps({"executions": n, "rows": {k: round(v, 2) for k, v in rows}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
