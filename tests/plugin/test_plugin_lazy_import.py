"""A pytest session that does not use replaykit does not import temporalio (issue 12 item 8).

Run as a separate pytest process in a fresh project, with the plugin loaded through its
installed ``pytest11`` entry point, as in any project that merely has replaykit installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = """
import sys
from pathlib import Path

def pytest_sessionfinish(session):
    Path("modules.txt").write_text("\\n".join(sorted(sys.modules)))
"""

PYPROJECTS = {
    "no-replaykit-config": "[project]\nname = 'plain'\nversion = '0'\n",
    # replaykit configured for this project, but this run uses none of it
    "replaykit-configured": (
        "[tool.replaykit]\nworkflows = ['agent_workflows']\nhistories = 'histories'\n"
        "server = 'embedded'\n"
    ),
}


@pytest.mark.parametrize("project", sorted(PYPROJECTS))
def test_a_session_without_replaykit_never_imports_temporalio(tmp_path: Path, project: str) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECTS[project])
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_plain.py").write_text("def test_sum():\n    assert sum([1, 2]) == 3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "replaykit",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:randomly",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    modules = set((tmp_path / "modules.txt").read_text().split())
    assert "replaykit_pytest.plugin" in modules  # the plugin was loaded...
    assert not {m for m in modules if m == "temporalio" or m.startswith("temporalio.")}, (
        "temporalio imported by: "
        + ", ".join(sorted(m for m in modules if m.startswith(("replaykit", "temporalio.c"))))
    )
