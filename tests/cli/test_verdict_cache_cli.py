"""The verdict cache through the real `replaykit check` executable: a re-check replays what a
change affects, and only that.

The project (``tests/data/verdicts``) has one workflow per way of depending on code:
``Greet`` (a helper two imports down), ``LazyFlow`` (a helper imported inside the run
method), ``PassFlow`` (a helper passed through the sandbox, which imports another),
``DepFlow`` (an installed distribution, ``tinydep``, pip-installed here at two versions)
and ``DataFlow`` (reads a data file at import: never stored, and said why). Its histories
were recorded on the time-skipping server (``tests/data/verdicts/vc_scenarios.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DATA = Path(__file__).parent.parent / "data" / "verdicts"
ROOT = Path(__file__).parent.parent.parent
REPLAYKIT = str(Path(sys.executable).parent / "replaykit")
sys.path.insert(0, str(DATA))
from tinydist import build_wheel  # noqa: E402 - the test's own helper, next to its data

ALL = {
    "data/data-0",
    "dep/dep-0",
    "dep/dep-1",
    "greet/greet-0",
    "greet/greet-1",
    "lazy/lazy-0",
    "lazy/lazy-1",
    "passed/passed-0",
    "passed/passed-1",
}
STORED = ALL - {"data/data-0"}


def _install(project: Path, version: str) -> None:
    """tinydep at ``version`` in ``project/site`` (replacing any other version there)."""
    wheel = build_wheel(project / "wheels", version, factor=3)
    shutil.rmtree(project / "site", ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--target",
            str(project / "site"),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )


def check(project: Path, *args: str) -> tuple[dict[str, dict[str, object]], str, int]:
    """``replaykit check histories -w vc_flows -v``: each history's JSON result by short
    name, the output, the exit code."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project), str(project / "site"), str(ROOT)]),
        "REPLAYKIT_CACHE_DIR": str(project / ".cache"),
    }
    env.pop("REPLAYKIT_VERDICT_CACHE", None)
    env.pop("TEMPORAL_ADDRESS", None)
    proc = subprocess.run(
        [
            REPLAYKIT,
            "check",
            "histories",
            "-w",
            "vc_flows",
            "-v",
            "--jobs",
            "1",
            "--json-report",
            "out.json",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads((project / "out.json").read_text())
    results = {
        str(Path(r["path"]).relative_to("histories").with_suffix("")): r for r in report["results"]
    }
    return results, proc.stdout, proc.returncode


def replayed(results: dict[str, dict[str, object]]) -> set[str]:
    return {name for name, r in results.items() if not r["reused"]}


@pytest.fixture(scope="module")
def warmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project checked once: every pass but DataFlow's stored."""
    project = tmp_path_factory.mktemp("verdicts-template")
    shutil.copytree(DATA / "vc_flows", project / "vc_flows")
    shutil.copytree(DATA / "histories", project / "histories")
    _install(project, "1.0.0")
    results, out, code = check(project)
    assert code == 0, out
    assert replayed(results) == ALL and set(results) == ALL
    for name in ALL:
        assert results[name]["recheck_reason"] == (
            "no stored pass (first check, or it did not pass or was not stored last time)"
        )
    data = results["data/data-0"]["not_stored"]
    assert isinstance(data, str) and "vc_flows/greeting.txt" in data
    return project


@pytest.fixture
def project(warmed: Path, tmp_path: Path) -> Path:
    """A copy of the warmed project, cache included, at another path (as a CI cache is
    restored on another runner): the cache keys hold no absolute path."""
    copy = tmp_path / "checkout"
    shutil.copytree(warmed, copy, ignore=shutil.ignore_patterns("__pycache__", "out.json"))
    _install(copy, "1.0.0")  # the same version, installed at this path
    return copy


def _edit(path: Path, text: str = "\n# an edit\n") -> None:
    path.write_text(path.read_text() + text)


def test_unchanged_folder_reuses_every_stored_pass_and_says_so(project: Path) -> None:
    results, out, code = check(project, "--junit-xml", "out.xml")
    assert code == 0
    assert replayed(results) == {"data/data-0"}  # its data file cannot be pinned
    assert "reused    histories/greet/greet-0.json" in out
    assert "9 clean (8 reused), 0 diverged, 0 errors" in out
    assert "not stored: the workflow code read vc_flows/greeting.txt" in out
    assert json.loads((project / "out.json").read_text())["summary"]["reused"] == 8
    cases = ET.parse(project / "out.xml").getroot().findall(".//testcase")
    reused_cases = [
        c.get("name")
        for c in cases
        if any(p.get("name") == "replaykit.reused" for p in c.iter("property"))
    ]
    assert len(reused_cases) == 8 and "histories/data/data-0.json" not in reused_cases


@pytest.mark.parametrize(
    ("module", "affected"),
    [
        ("greet.py", {"greet/greet-0", "greet/greet-1"}),  # the workflow's module
        ("deep.py", {"greet/greet-0", "greet/greet-1"}),  # a helper two imports down
        ("lazy_helper.py", {"lazy/lazy-0", "lazy/lazy-1"}),  # imported inside run()
        ("pt_deep.py", {"passed/passed-0", "passed/passed-1"}),  # below a passed-through one
        ("unrelated.py", set()),  # nothing imports it
    ],
)
def test_editing_a_module_replays_only_the_histories_that_imported_it(
    project: Path, module: str, affected: set[str]
) -> None:
    _edit(project / "vc_flows" / module)
    results, out, code = check(project)
    assert code == 0, out
    assert replayed(results) == affected | {"data/data-0"}
    name = f"vc_flows.{module.removesuffix('.py')}"
    for history in affected:
        assert results[history]["recheck_reason"] == f"module {name} changed (vc_flows/{module})"
    assert f"rechecked: module {name} changed" in out or not affected
    # stored again: the next check reuses them
    again, _, _ = check(project)
    assert replayed(again) == {"data/data-0"}


def test_another_installed_version_of_a_dependency_replays_its_users(project: Path) -> None:
    _install(project, "1.0.1")  # same code, another patch version
    results, out, code = check(project)
    assert code == 0, out
    assert replayed(results) == {"dep/dep-0", "dep/dep-1", "data/data-0"}
    assert results["dep/dep-0"]["recheck_reason"] == (
        "distribution tinydep changed ('1.0.0' -> '1.0.1')"
    )


def test_changing_allow_or_volatile_replays_everything_once(project: Path) -> None:
    results, _, _ = check(project, "--allow", "timer-duration")
    assert replayed(results) == ALL
    assert results["greet/greet-0"]["recheck_reason"] == (
        "option allow changed ([] -> ['timer-duration'])"
    )
    results, _, _ = check(project, "--allow", "timer-duration")
    assert replayed(results) == {"data/data-0"}
    results, _, _ = check(project, "--allow", "timer-duration", "--volatile", "activity:x.id")
    assert replayed(results) == ALL
    assert results["lazy/lazy-0"]["recheck_reason"] == (
        "option volatile changed ([] -> ['activity:x.id'])"
    )
    # Each option set keeps its own passes (a CI matrix does not evict itself).
    results, _, _ = check(project)
    assert replayed(results) == {"data/data-0"}


def test_changing_a_history_replays_that_history(project: Path) -> None:
    path = project / "histories" / "greet" / "greet-0.json"
    raw = json.loads(path.read_text())
    raw["replaykit"]["extra"] = {"note": "edited"}
    path.write_text(json.dumps(raw))
    results, _, code = check(project)
    assert code == 0
    assert replayed(results) == {"greet/greet-0", "data/data-0"}
    assert results["greet/greet-0"]["recheck_reason"] == "history changed"


def test_a_divergence_is_never_stored(project: Path) -> None:
    _edit(project / "vc_flows" / "deep.py", "\n\ndef shout(text: str) -> str:\n    return text\n")
    for _ in range(2):
        results, out, code = check(project)
        assert code == 1, out
        assert {n for n, r in results.items() if r["status"] == "divergent"} == {
            "greet/greet-0",
            "greet/greet-1",
        }
        assert replayed(results) == {"greet/greet-0", "greet/greet-1", "data/data-0"}


def test_no_verdict_cache_replays_all_and_a_named_folder_starts_empty(project: Path) -> None:
    results, out, _ = check(project, "--no-verdict-cache")
    assert replayed(results) == ALL and "reused" not in out.replace("(0 reused)", "")
    assert all(r["recheck_reason"] is None for r in results.values())
    results, _, _ = check(project, "--verdict-cache", "elsewhere")
    assert replayed(results) == ALL and (project / "elsewhere").is_dir()


def test_shards_and_jobs_share_the_cache(project: Path) -> None:
    _edit(project / "vc_flows" / "greet.py")
    first, _, _ = check(project, "--shard", "1/2", "--jobs", "2")
    second, _, _ = check(project, "--shard", "2/2", "--jobs", "2")
    assert set(first) | set(second) == ALL and not set(first) & set(second)
    assert replayed(first) | replayed(second) == {"greet/greet-0", "greet/greet-1", "data/data-0"}
    results, _, _ = check(project)
    assert replayed(results) == {"data/data-0"}
