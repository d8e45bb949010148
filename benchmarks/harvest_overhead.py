"""What ``pytest --replaykit-harvest`` costs, and whether it harvests every execution a suite runs.

Runs each suite twice in the same invocation, in fresh pytest processes: without the flag, then
with ``--replaykit-harvest`` into a temporary folder, and prints the wall times, their ratio and
the harvest's own count: executions the tests started, executions harvested (children and
continue-as-new runs included) and each execution skipped with its reason.

Suites:

* ``sample``: the stock-style sample project of ``tests/plugin/harvest_sample`` (its own
  ``WorkflowEnvironment.start_time_skipping()``, ``Worker`` and OpenAI Agents plugin; no replaykit
  API), copied into a temporary project;
* ``servers``: this repository's own ``tests/integration/test_servers.py`` (replaykit's server
  management on real servers; some tests kill or restart their server on purpose);
* any test path of this repository (``--suite tests/integration/test_plugins.py``).

Run: ``python benchmarks/harvest_overhead.py [--suite sample --suite servers] [--repeat 1]
[--warmup 1]``. Wall times on a shared machine are noisy; the harvest's own time (fetches and
writes, measured inside the run) is the figure that isolates its cost.
Prints numbers; never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SAMPLE_PYPROJECT = """
[tool.pytest.ini_options]
pythonpath = ["."]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""

_SUMMARY = re.compile(r"replaykit: (\d+) executions harvested from (\d+) tests into (.+)")
_STARTED = re.compile(r"(\d+) started by the tests")
_SKIPPED = re.compile(r"; (\d+) skipped(?:: (.*?))? \(mode")
_SECONDS = re.compile(r"([\d.]+) s fetching and writing")


def _suite(name: str, workdir: Path) -> tuple[Path, list[str]]:
    """The folder to run pytest in and its arguments."""
    if name == "sample":
        project = workdir / "sample"
        if not project.exists():
            shutil.copytree(
                ROOT / "tests" / "plugin" / "harvest_sample", project / "harvest_sample"
            )
            (project / "pyproject.toml").write_text(SAMPLE_PYPROJECT)
        return project, ["harvest_sample"]
    if name == "servers":
        return ROOT, ["tests/integration/test_servers.py"]
    if (ROOT / name.split("::")[0]).exists():
        return ROOT, [name]  # any test file or folder of this repository
    raise SystemExit(f"unknown suite {name!r}: choose sample, servers or a test path")


def _run(cwd: Path, args: list[str], harvest: Path | None) -> tuple[float, str, int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-p",
        "no:xdist",
        *args,
    ]
    if harvest is not None:
        cmd += ["--replaykit-harvest", str(harvest), "--replaykit-harvest-mode", "all"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - started, proc.stdout + proc.stderr, proc.returncode


def _outcome(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1].strip("= ") if lines else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite", action="append", help="sample, servers, or a test path of this repository"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant (median)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed runs first (bytecode, server binaries)"
    )
    ns = parser.parse_args()
    suites = ns.suite or ["sample", "servers"]
    with tempfile.TemporaryDirectory(prefix="replaykit-harvest-bench-") as tmp:
        workdir = Path(tmp)
        for name in suites:
            cwd, args = _suite(name, workdir)
            plain: list[float] = []
            harvested: list[float] = []
            output = ""
            plain_outcome = "?"
            for _ in range(ns.warmup):
                _run(cwd, args, None)
            for i in range(ns.repeat):
                # Alternate the order so neither variant always runs on a warmer machine.
                order = (None, workdir / f"harvest-{name}-{i}")
                for folder in order if i % 2 == 0 else order[::-1]:
                    seconds, out, _ = _run(cwd, args, folder)
                    if folder is None:
                        plain.append(seconds)
                        plain_outcome = _outcome(out)
                    else:
                        harvested.append(seconds)
                        output = out
            base, with_flag = statistics.median(plain), statistics.median(harvested)
            summary = _SUMMARY.search(output)
            started = _STARTED.search(output)
            skipped = _SKIPPED.search(output)
            own = _SECONDS.search(output)
            files = len(list((workdir / f"harvest-{name}-0").rglob("*.json")))
            print(f"suite {name}: pytest {' '.join(args)}")
            print(f"  without the flag: {base:.2f} s ({plain_outcome})")
            print(f"  with --replaykit-harvest: {with_flag:.2f} s ({_outcome(output)})")
            print(
                f"  overhead: {with_flag - base:+.2f} s, ratio {with_flag / base:.2f}x "
                f"(median of {ns.repeat})"
            )
            if summary is None:
                print("  no harvest summary line found; output tail:")
                print("\n".join(output.splitlines()[-15:]))
                continue
            print(
                f"  the harvest's own time (history fetches and file writes, measured inside "
                f"the run): {own.group(1) if own else '?'} s"
            )
            print(f"  executions started by the tests: {started.group(1) if started else '?'}")
            print(
                f"  executions harvested: {summary.group(1)} (children and continue-as-new runs "
                f"included) from {summary.group(2)} tests; files written: {files}"
            )
            if skipped is not None and skipped.group(1) != "0":
                print(f"  skipped: {skipped.group(1)}: {skipped.group(2)}")
            else:
                print("  skipped: 0")
            for line in output.splitlines():
                if line.startswith("replaykit: not importable"):
                    print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
