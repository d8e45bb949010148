"""Verdict cache: a re-check that costs what changed, against the stock SDK replayer.

Corpus: ``--count`` history files (default 600) made from the recorded reference-agent
histories, in a scratch project holding its own copy of ``reference_agents`` (so a workflow
module can be edited). Measured, each in a fresh process, the timer starting after the
workflow modules are imported (as for the stock replayer):

* stock:  one process, sandboxed, ``WorkflowHistory.from_json`` + ``Replayer.replay_workflows``
  over all histories;
* replaykit check with an empty verdict cache (every history replays; passes are stored);
* replaykit check of the unchanged folder (every verdict reused): ratio vs stock;
* the same through the ``replaykit`` executable, start-up and imports included (wall time);
* after editing one workflow module (a comment appended): how many histories replay (only
  that workflow type's), and the time, next to the time the cold check would take for them.

Run: ``python benchmarks/verdict_cache.py [--count 600]``. Prints ratios; it never asserts
times (the machines are shared and noisy).
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from check_throughput import STOCK  # noqa: E402 - the same stock measurement

REPLAYKIT = r"""
import json, sys, time
from collections import Counter
from replaykit import CheckOptions, check_histories, collect_workflows

def main():
    folder, modules, verdicts, cache = sys.argv[1:5]
    collect_workflows(modules.split(","))  # import the workflows before timing, as for stock
    t = time.perf_counter()
    report = check_histories(
        [folder], workflows=modules.split(","),
        options=CheckOptions(cache_dir=cache, verdict_cache=verdicts or None))
    replayed = [r for r in report.results if not r.reused]
    print(json.dumps({
        "seconds": time.perf_counter() - t,
        "clean": len(report.clean),
        "total": len(report.results),
        "reused": len(report.reused),
        "replayed_types": Counter(r.workflow_type for r in replayed),
        "reasons": Counter(r.recheck_reason for r in replayed),
        "not_stored": Counter(r.not_stored for r in replayed if r.not_stored),
        "not_clean": [r.describe()[:400] for r in report.results if r.status != "clean"][:3],
    }))
    sys.stdout.flush()
    import os; os._exit(0)

if __name__ == "__main__":
    main()
"""

#: The workflow module edited, and the workflow type whose histories must replay.
EDITED_MODULE = "approval.py"
EDITED_TYPE = "ApprovalRequiredAgentWorkflow"


def _workflow_type(path: Path) -> str | None:
    meta = json.loads(path.read_text()).get("replaykit") or {}
    value = meta.get("workflow_type")
    return value if isinstance(value, str) else None


def _run(code: str, project: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    result: dict[str, object] = json.loads(line)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=600)
    args = parser.parse_args()
    from _corpus import make_corpus

    count = args.count
    work = Path(tempfile.mkdtemp(prefix="rk-bench-verdicts-"))
    try:
        project = work / "project"
        shutil.copytree(
            ROOT / "reference_agents",
            project / "reference_agents",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        sources = sorted((ROOT / "fixtures" / "histories").rglob("*.json"))
        corpus = project / "histories"
        make_corpus(sources, corpus, count)
        verdicts, cache = str(work / "verdicts"), str(work / "parsed")
        print(f"corpus: {count} histories, {os.cpu_count()} cores")
        # Every replaykit run below starts with the parsed-history cache warm (it is not
        # what is measured here), so the first one is not favoured or penalised.
        sys.path.insert(0, str(ROOT))
        from replaykit.history._cache import HistoryCache

        parsed = HistoryCache(cache)
        for path in sorted(corpus.glob("*.json")):
            parsed.load(path)

        wall = time.perf_counter()
        stock = _run(STOCK, project, str(corpus), "reference_agents")
        stock_wall = time.perf_counter() - wall
        stock_s = float(stock["seconds"])  # type: ignore[arg-type]
        print(f"  stock Replayer, sandboxed, 1 process         {stock_s:7.2f} s   1.00x")
        print(f"  stock Replayer (wall, start-up and imports)  {stock_wall:7.2f} s")

        def rk(label: str, folder: Path = corpus, verdict_dir: str = verdicts) -> dict[str, object]:
            res = _run(REPLAYKIT, project, str(folder), "reference_agents", verdict_dir, cache)
            count = int(res["total"])  # type: ignore[call-overload]
            if res["clean"] != count:  # a shared machine can time a replay out: say so
                print(f"    NOT CLEAN ({count - int(res['clean'])}): {res['not_clean']}")  # type: ignore[call-overload]
            seconds = float(res["seconds"])  # type: ignore[arg-type]
            print(
                f"  {label:44s} {seconds:7.2f} s  {stock_s / seconds:6.1f}x stock   "
                f"replayed {count - int(res['reused']):4d}, reused {res['reused']}"  # type: ignore[call-overload]
            )
            return res

        off = rk("replaykit check, verdict cache off", verdict_dir="")
        cold = rk("replaykit check, empty verdict cache")
        off_s = float(off["seconds"])  # type: ignore[arg-type]
        print(
            f"    dependency tracking overhead: {100 * (float(cold['seconds']) / off_s - 1):+.1f}%"  # type: ignore[arg-type]
        )
        if cold["not_stored"]:
            print(f"    not stored: {cold['not_stored']}")
        warm = rk("replaykit check, unchanged folder")
        cli_t = time.perf_counter()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "replaykit"),
                "check",
                str(corpus),
                "-w",
                "reference_agents",
                "--verdict-cache",
                verdicts,
                "-q",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": f"{project}{os.pathsep}{ROOT}",
                "REPLAYKIT_CACHE_DIR": cache,
            },
        )
        cli_s = time.perf_counter() - cli_t
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
        print(
            f"  {'replaykit check CLI, unchanged (wall)':44s} {cli_s:7.2f} s  "
            f"{stock_wall / cli_s:6.1f}x stock wall   ({summary})"
        )
        print(
            "    (both walls include importing the workflow modules, here the AI frameworks "
            "of reference_agents; the rows above time the check only)"
        )
        module = project / "reference_agents" / EDITED_MODULE
        module.write_text(module.read_text() + "\n# edited by the benchmark\n")
        edited = rk(f"replaykit check, {EDITED_MODULE} edited")
        types = edited["replayed_types"]
        only = project / "only-edited-type"
        only.mkdir()
        for p in corpus.glob("*.json"):
            if _workflow_type(p) == EDITED_TYPE:
                shutil.copy(p, only / p.name)
        expected = len(list(only.glob("*.json")))
        print(f"    replayed by type: {types} (histories of {EDITED_TYPE}: {expected})")
        print(f"    reasons: {edited['reasons']}")
        alone = rk(f"  for scale: those {expected} alone, no cache", folder=only, verdict_dir="")
        cold_s = float(cold["seconds"])  # type: ignore[arg-type]
        edited_s = float(edited["seconds"])  # type: ignore[arg-type]
        replayed = count - int(edited["reused"])  # type: ignore[call-overload]
        print(
            f"    {replayed} of {count} replayed in {edited_s:.2f} s; checking only them without "
            f"a cache takes {float(alone['seconds']):.2f} s; the full cold check "
            f"{cold_s:.2f} s"  # type: ignore[arg-type]
        )
        print(f"  unchanged re-check vs stock: {stock_s / float(warm['seconds']):.1f}x")  # type: ignore[arg-type]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
