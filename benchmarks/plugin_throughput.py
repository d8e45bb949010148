"""Check throughput on plugin histories: replaykit vs the stock ``Replayer(plugins=...)``.

Histories recorded through Temporal's AI-integration plugins replay only with the plugin (its
sandbox pass-through, interceptors and data converter). This benchmark replays the same
corpus, in the same run, with:

* stock: one process, sandboxed, ``Replayer(workflows=..., plugins=[...]).replay_workflows``
  over ``WorkflowHistory.from_json`` of every file (the documented way);
* ``replaykit check`` default settings (strict, sandboxed, one worker process per core),
  with a cold and then a warm parsed-history cache;
* replaykit in one process, strict, warm (what strictness and the capture cost here).

Corpus: ``--count`` copies of the plugin histories in ``--histories`` (default: the OpenAI
Agents reference agent's recordings in fixtures/integration_histories when present, else a
small OpenAI Agents workflow from the test data recorded once into benchmarks/out).

Run: ``python benchmarks/plugin_throughput.py [--count 200]``. Prints ratios; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "benchmarks"))

_TEST_DATA = (
    "tests.data.plugins.oa_tools",
    "tests.data.plugins.oa_tools:plugin",
)

STOCK = r"""
import asyncio, json, sys, time
from pathlib import Path
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from replaykit import collect_workflows
from replaykit.integrations._plugins import load_plugins

def main():
    files = sorted(Path(sys.argv[1]).rglob("*.json"))
    workflows = collect_workflows(sys.argv[2].split(","))
    plugin_refs = [p for p in sys.argv[3].split(",") if p]
    async def histories():
        for f in files:
            text = f.read_text()
            yield WorkflowHistory.from_json(json.loads(text)["replaykit"]["workflow_id"], text)
    async def run():
        replayer = Replayer(workflows=workflows, plugins=load_plugins(plugin_refs))
        return await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
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
    folder, modules, plugins, jobs, cache_dir = sys.argv[1:6]
    collect_workflows(modules.split(","))  # import the workflows before timing, as for stock
    t = time.perf_counter()
    report = check_histories(
        [folder], workflows=modules.split(","), jobs=int(jobs),
        options=CheckOptions(plugins=tuple(p for p in plugins.split(",") if p),
                             cache_dir=cache_dir))
    bad = [r.describe() for r in report.results if r.status != "clean"][:3]
    print(json.dumps({"seconds": time.perf_counter() - t, "clean": len(report.clean),
                      "total": len(report.results), "not_clean": bad}))
    sys.stdout.flush()
    import os; os._exit(0)

if __name__ == "__main__":
    main()
"""


def _run(code: str, *args: str) -> dict[str, object]:
    """The JSON line a benchmark step prints in a fresh interpreter (check_throughput's runner)."""
    from check_throughput import _peak_rss

    result, _rss = _peak_rss(code, *args)
    return dict(result)


def _sources(histories: str | None) -> tuple[list[Path], str, str]:
    """History files, workflow modules and plugin references of the corpus."""
    if histories:
        return sorted(Path(histories).rglob("*.json")), "", ""
    ref_config = ROOT / "benchmarks" / "plugin_corpus.json"
    if ref_config.exists():
        cfg = json.loads(ref_config.read_text())
        files = [
            p
            for pattern in cfg["folders"]
            for p in sorted((ROOT / "fixtures" / "integration_histories").glob(f"{pattern}/*.json"))
        ]
        if files:
            return files, ",".join(cfg["workflows"]), ",".join(cfg["plugins"])
    folder = OUT / "plugin-src"
    files = sorted(folder.rglob("travel-1.json"))
    if not files:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from replaykit.cli import run; run()",
                "record",
                "tests/data/plugins/oa_scenarios.py",
                "-k",
                "travel",
                "--out",
                str(folder),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        files = sorted(folder.rglob("travel-1.json"))
    return files, _TEST_DATA[0], _TEST_DATA[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--histories", default=None, help="a folder of plugin histories")
    parser.add_argument("--workflows", default=None, help="workflow modules (comma-separated)")
    parser.add_argument("--plugins", default=None, help="plugin references (comma-separated)")
    args = parser.parse_args()
    from _corpus import make_corpus

    sources, modules, plugins = _sources(args.histories)
    modules = args.workflows or modules
    plugins = args.plugins or plugins
    if not sources or not modules:
        raise SystemExit("no plugin histories (give --histories, --workflows and --plugins)")
    work = Path(tempfile.mkdtemp(prefix="rk-plugin-bench-"))
    try:
        corpus = work / "corpus"
        make_corpus(sources, corpus, args.count)
        events = sum(len(json.loads(p.read_text())["events"]) for p in corpus.glob("*.json"))
        print(
            f"plugin corpus: {args.count} histories from {len(sources)} recordings "
            f"({events / args.count:.0f} events each on average), plugins {plugins}, "
            f"{os.cpu_count()} cores"
        )
        stock = _run(STOCK, str(corpus), modules, plugins)
        if stock["failures"]:
            print(f"  note: the stock replayer failed {stock['failures']} histories")
        base = args.count / float(stock["seconds"])  # type: ignore[arg-type]
        print(
            f"  stock Replayer(plugins=...), sandboxed, 1 process {base:7.1f} histories/s   1.00x"
        )
        cache = str(work / "cache")
        for label, jobs in (
            ("replaykit check (default), cold cache", os.cpu_count() or 1),
            ("replaykit check (default), warm cache", os.cpu_count() or 1),
            ("replaykit 1 process, strict, warm cache", 0),
        ):
            res = _run(REPLAYKIT, str(corpus), modules, plugins, str(jobs), cache)
            if res["clean"] != args.count:
                raise SystemExit(f"not every history checked clean: {res}")
            rate = args.count / float(res["seconds"])  # type: ignore[arg-type]
            print(f"  {label:47s} {rate:7.1f} histories/s  {rate / base:5.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
