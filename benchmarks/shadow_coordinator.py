"""The coordinator of ``shadow --on-temporal`` stays bounded: 5,000+ executions, every run
of its continue-as-new chain under a fixed number of events.

An embedded dev server gets ``--executions`` research-agent executions started with no worker
(each a running execution with a two-event history: the cheapest real executions there are),
then ``replaykit shadow --on-temporal --local-workers 2`` judges them all in batches of
``--batch-size`` with ``--events-per-run``. Prints every run's event count, the largest, the
bound (events per run plus what the batches in flight add while it drains), and the seconds.
Never asserts times. Run: ``python benchmarks/shadow_coordinator.py [--executions 5000]``.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--events-per-run", type=int, default=1000)
    args = parser.parse_args()

    from reference_agents.models import ResearchRequest
    from reference_agents.research import ResearchAgentWorkflow
    from replaykit.servers import parse_server, start_server

    work = Path(tempfile.mkdtemp(prefix="replaykit-coordinator-bench-"))
    with start_server(parse_server("embedded")) as server:

        async def seed() -> None:
            client = await server.client()
            for start in range(0, args.executions, 200):
                await asyncio.gather(
                    *(
                        client.start_workflow(
                            ResearchAgentWorkflow.run,
                            ResearchRequest(f"topic {n}"),
                            id=f"idle-{n}",
                            task_queue="nobody-serves-this",
                        )
                        for n in range(start, min(start + 200, args.executions))
                    )
                )

        t = time.perf_counter()
        asyncio.run(seed())
        print(f"started {args.executions} executions in {time.perf_counter() - t:.1f} s")
        report = work / "report.json"
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", "from replaykit.cli import run; run()", "shadow"]
            + ["--on-temporal", "--local-workers", "2", "--server", server.address]
            + ["--query", "TaskQueue = 'nobody-serves-this'", "--no-store", "--max-rps", "0"]
            + ["--batch-size", str(args.batch_size), "--window", str(args.window)]
            + ["--events-per-run", str(args.events_per_run), "-w", "reference_agents", "-q"]
            + ["--json-report", str(report)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"shadow exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    stats = json.loads(report.read_text())["shadow"]
    summary = json.loads(report.read_text())["summary"]
    bound = args.events_per_run + 8 * args.window + 10
    print(
        f"{summary['histories']} executions judged ({summary['clean']} clean) in {seconds:.1f} s "
        f"({summary['histories'] / seconds:.0f} hist/s, 2 workers)"
    )
    print(
        f"coordinator: {stats['coordinator_runs']} runs, {stats['coordinator_events']} events in "
        f"all, the largest run {stats['coordinator_max_events']} events (bound {bound}: "
        f"{args.events_per_run} per run + what {args.window} batches in flight add)"
    )
    print(json.dumps({k: stats[k] for k in stats if k.startswith("coordinator")}))
    return 0 if stats["coordinator_max_events"] <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
