"""Check throughput: replaykit check vs the stock SDK replayer, in the same run.

Corpus: ``--count`` history files (default 500) made from the recorded reference-agent
histories (each copy distinct on disk, same events). Measured, each in a fresh process so
imports and caches are fair:

* stock:  one process, sandboxed, ``WorkflowHistory.from_json`` + ``Replayer.replay_workflows``
  over all histories (the documented way to replay many histories);
* replaykit check, default settings (strict, sandboxed, one worker process per core), with a
  cold parsed-history cache and again with a warm one;
* replaykit in one process with and without strict comparison (the cost of strictness);
* the two-process unsandboxed ceiling (``--no-sandbox``), for reference.

Then one long history (~50k events, recorded on the time-skipping server unless it exists
in ``benchmarks/out``) is replayed by the stock replayer and by replaykit: time and peak RSS.

Run: ``python benchmarks/check_throughput.py [--count 500] [--skip-long]``. Prints ratios; it
never asserts times (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

STOCK = r"""
import asyncio, json, sys, time
from pathlib import Path
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from replaykit import collect_workflows

def main():
    files = sorted(Path(sys.argv[1]).rglob("*.json"))
    workflows = collect_workflows(sys.argv[2].split(","))
    async def histories():
        for f in files:
            text = f.read_text()
            yield WorkflowHistory.from_json(json.loads(text)["replaykit"]["workflow_id"], text)
    async def run():
        return await Replayer(workflows=workflows).replay_workflows(
            histories(), raise_on_replay_failure=False)
    t = time.perf_counter()
    result = asyncio.run(run())
    print(json.dumps({"seconds": time.perf_counter() - t, "failures": len(result.replay_failures)}))
    sys.stdout.flush()
    import os; os._exit(0)

if __name__ == "__main__":
    main()
"""

REPLAYKIT = r"""
import json, sys, time
from replaykit import CheckOptions, check_histories, collect_workflows

def main():
    folder, modules, jobs, strict, sandbox, cache = sys.argv[1:7]
    collect_workflows(modules.split(","))  # import the workflows before timing, as for stock
    t = time.perf_counter()
    report = check_histories(
        [folder], workflows=modules.split(","), jobs=int(jobs),
        options=CheckOptions(strict=strict == "1", sandbox=sandbox == "1",
                             cache=cache == "1", cache_dir=sys.argv[7]))
    bad = [r.describe() for r in report.results if r.status != "clean"][:3]
    print(json.dumps({"seconds": time.perf_counter() - t, "clean": len(report.clean),
                      "total": len(report.results), "not_clean": bad}))
    sys.stdout.flush()
    import os; os._exit(0)

if __name__ == "__main__":
    main()
"""


def _peak_rss(code: str, *args: str) -> tuple[dict[str, float], float]:
    """Run code in a fresh interpreter; return its JSON line and the child's peak RSS (MiB)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"benchmark step failed:\n{out}\n{err}")
    line = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    return json.loads(line), usage.ru_maxrss / 1024


def throughput(count: int, modules: str) -> None:
    from _corpus import make_corpus

    # Histories of the agents on AI-framework plugins live in fixtures/integration_histories
    # and have their own benchmark (plugin_throughput.py).
    sources = sorted((ROOT / "fixtures" / "histories").rglob("*.json"))
    work = Path(tempfile.mkdtemp(prefix="rk-bench-"))
    try:
        corpus = work / "corpus"
        make_corpus(sources, corpus, count)
        events = sum(len(json.loads(p.read_text())["events"]) for p in corpus.glob("*.json"))
        print(
            f"corpus: {count} histories, {events / count:.0f} events each on average, "
            f"{os.cpu_count()} cores"
        )
        cache = str(work / "cache")
        stock, _ = _peak_rss(STOCK, str(corpus), modules)
        base = count / stock["seconds"]
        print(f"  stock Replayer, sandboxed, 1 process      {base:7.1f} histories/s   1.00x")

        def rk(
            label: str, jobs: int, strict: bool, sandbox: bool, use_cache: bool, cache_dir: str
        ) -> float:
            res, _ = _peak_rss(
                REPLAYKIT,
                str(corpus),
                modules,
                str(jobs),
                "1" if strict else "0",
                "1" if sandbox else "0",
                "1" if use_cache else "0",
                cache_dir,
            )
            assert res["clean"] == count, res
            rate = count / res["seconds"]
            print(f"  {label:42s} {rate:7.1f} histories/s  {rate / base:5.2f}x")
            return rate

        rk("replaykit check (default), cold cache", os.cpu_count() or 1, True, True, True, cache)
        warm = rk(
            "replaykit check (default), warm cache", os.cpu_count() or 1, True, True, True, cache
        )
        strict1 = rk("replaykit 1 process, strict, warm cache", 0, True, True, True, cache)
        plain1 = rk("replaykit 1 process, not strict, warm cache", 0, False, True, True, cache)
        ceiling = rk(
            "replaykit --no-sandbox (ceiling), warm", os.cpu_count() or 1, True, False, True, cache
        )
        print(f"  strict comparison overhead (1 process): {100 * (plain1 / strict1 - 1):+.1f}%")
        print(f"  default vs unsandboxed ceiling: {warm / ceiling:.0%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


LONG_WORKFLOW = r"""
from datetime import timedelta
from temporalio import activity, workflow

@activity.defn
async def tick(i: int) -> int:
    return i

@workflow.defn
class LongHistory:
    @workflow.run
    async def run(self, batches: int, per_batch: int) -> int:
        import asyncio
        total = 0
        for b in range(batches):
            results = await asyncio.gather(*(
                workflow.execute_activity(tick, b * per_batch + i,
                                          start_to_close_timeout=timedelta(seconds=30))
                for i in range(per_batch)))
            total += sum(results)
        return total
"""

RECORD_LONG = r"""
import asyncio, sys
from replaykit import parse_server, start_server_async, write_history
from replaykit.history._files import make_meta
from temporalio.worker import Worker
import long_history as m

async def main():
    async with await start_server_async(parse_server("timeskip")) as server:
        client = await server.client()
        async with Worker(client, task_queue="long", workflows=[m.LongHistory], activities=[m.tick],
                          max_concurrent_activities=200):
            handle = await client.start_workflow(m.LongHistory.run, args=[int(sys.argv[2]), 200],
                                                 id="long-history", task_queue="long")
            await handle.result()
            history = await handle.fetch_history()
        write_history(sys.argv[1], history, meta=make_meta(
            workflow_id="long-history", run_id=handle.result_run_id, workflow_type="LongHistory",
            task_queue="long", namespace="default"))
        print('{"events": %d}' % len(history.events))

if __name__ == "__main__":
    asyncio.run(main())
    import os; os._exit(0)
"""


def long_history(target_events: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "long_history.py").write_text(LONG_WORKFLOW)
    path = OUT / f"long-{target_events}.json"
    if not path.exists():
        batches = max(1, target_events // 610)  # 200 activities x 3 events + 4 task events
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", RECORD_LONG, str(path), str(batches)],
            cwd=OUT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": f"{ROOT}:{OUT}"},
        )
        if proc.returncode != 0:
            raise SystemExit(f"recording the long history failed:\n{proc.stderr[-2000:]}")
        print(f"recorded {path.name} in {time.perf_counter() - t:.0f} s")
    events = len(json.loads(path.read_text())["events"])
    single = OUT / "single"
    shutil.rmtree(single, ignore_errors=True)
    single.mkdir()
    shutil.copy(path, single / path.name)
    env_path = f"{ROOT}:{OUT}"
    os.environ["PYTHONPATH"] = env_path
    stock, stock_rss = _peak_rss(
        STOCK.replace(
            "from pathlib import Path",
            f"from pathlib import Path; sys.path.insert(0, {str(OUT)!r})",
        ),
        str(single),
        "long_history",
    )
    cache = tempfile.mkdtemp(prefix="rk-bench-cache-")
    args = (str(single), "long_history", "0", "1", "1", "1", cache)
    code = REPLAYKIT.replace(
        "import json, sys, time", f"import json, sys, time; sys.path.insert(0, {str(OUT)!r})"
    )
    cold, cold_rss = _peak_rss(code, *args)
    warm, warm_rss = _peak_rss(code, *args)
    shutil.rmtree(cache, ignore_errors=True)
    print(f"long history: {events} events")
    print(f"  stock Replayer (sandboxed)     {stock['seconds']:6.1f} s  peak {stock_rss:6.0f} MiB")
    for label, res, rss in (
        ("replaykit strict, cold cache", cold, cold_rss),
        ("replaykit strict, warm cache", warm, warm_rss),
    ):
        print(
            f"  {label:30s} {res['seconds']:6.1f} s  peak {rss:6.0f} MiB  "
            f"time {res['seconds'] / stock['seconds']:.2f}x  memory {rss / stock_rss:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--long-events", type=int, default=50_000)
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args.count, "reference_agents")
    if not args.skip_long:
        long_history(args.long_events)


if __name__ == "__main__":
    main()
