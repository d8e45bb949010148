"""The verdict cache's parts: what a replay depends on, the key, lookups, settings, reports.

End-to-end soundness (edit a module, install another version, change an option: only the
affected histories replay) is in ``tests/cli/test_verdict_cache_cli.py``.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from replaykit.check._divergence import CheckReport, Divergence, HistoryResult
from replaykit.check._engine import CheckOptions
from replaykit.check._report import format_result_line, format_summary, write_junit_xml
from replaykit.check._verdicts import (
    DependencyTracker,
    ReplayDeps,
    VerdictCache,
    _imports_of,
    judgment,
    record_host_imports,
)
from replaykit.config._config import ProjectConfig
from replaykit.config._settings import Resolver

FIXTURE = Path(__file__).parent.parent.parent / "fixtures" / "histories"
HISTORY = FIXTURE / "payment_happy_path" / "payment-happy.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp folder on sys.path holding package ``vcu_pkg`` (removed again afterwards)."""
    pkg = tmp_path / "vcu_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "leaf.py").write_text("VALUE = 1\n")
    (pkg / "mid.py").write_text("from . import leaf\n\ndef f():\n    from vcu_pkg import lazy\n")
    (pkg / "lazy.py").write_text("X = 2\n")
    (pkg / "reads.py").write_text(
        "from pathlib import Path\nDATA = (Path(__file__).parent / 'data.txt').read_text()\n"
    )
    (pkg / "data.txt").write_text("hello")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in [n for n in sys.modules if n == "vcu_pkg" or n.startswith("vcu_pkg.")]:
        del sys.modules[name]


# ---------------------------------------------------------------------------- dependencies


def test_modules_are_classified_by_where_they_come_from(project: Path) -> None:
    tracker = DependencyTracker()
    import json as stdlib_json

    import temporalio

    leaf = importlib.import_module("vcu_pkg.leaf")
    assert tracker.classify("json", stdlib_json).kind == "skip"  # the Python version pins it
    dist = tracker.classify("temporalio", temporalio)
    assert (dist.kind, dist.a) == ("dist", "temporalio") and dist.b == temporalio.__version__
    mod = tracker.classify("vcu_pkg.leaf", leaf)
    # keyed by the path below its sys.path root: no absolute path in the key
    assert (mod.kind, mod.a, mod.b) == ("module", "vcu_pkg.leaf", "vcu_pkg/leaf.py")
    assert str(project) not in json.dumps([mod.a, mod.b, mod.c])
    fileless = tracker.classify("made_up", types.ModuleType("made_up"))
    assert fileless.kind == "unpinned" and "no source file" in fileless.a


def test_static_imports_cover_relative_and_lazy_imports(project: Path) -> None:
    found = _imports_of(str(project / "vcu_pkg" / "mid.py"), "vcu_pkg")
    assert "vcu_pkg.leaf" in found  # from . import leaf
    assert "vcu_pkg.lazy" in found  # inside a function


def test_a_passed_through_module_brings_its_own_imports(project: Path) -> None:
    mid = importlib.import_module("vcu_pkg.mid")
    importlib.import_module("vcu_pkg.lazy")
    tracker = DependencyTracker()
    # The sandbox saw only vcu_pkg.mid, passed through from the host (the same object).
    deps = tracker.describe({"vcu_pkg.mid": mid})
    names = [m[0] for m in deps.modules]
    assert names == ["vcu_pkg", "vcu_pkg.lazy", "vcu_pkg.leaf", "vcu_pkg.mid"]
    # A module re-imported inside the sandbox (another object) is not followed: the
    # sandbox's importer saw its imports itself.
    fresh = types.ModuleType("vcu_pkg.mid")
    fresh.__file__ = mid.__file__
    assert [m[0] for m in tracker.describe({"vcu_pkg.mid": fresh}).modules] == ["vcu_pkg.mid"]


def test_a_data_file_read_while_replaying_or_at_import_is_not_pinned(project: Path) -> None:
    tracker = DependencyTracker()
    leaf = importlib.import_module("vcu_pkg.leaf")
    opened = [str(project / "vcu_pkg" / "data.txt"), str(project / "vcu_pkg" / "leaf.py")]
    deps = tracker.describe({"vcu_pkg.leaf": leaf}, opened=opened)
    assert deps.unpinned is not None and "vcu_pkg/data.txt" in deps.unpinned
    assert tracker.describe({"vcu_pkg.leaf": leaf}, opened=opened[1:]).unpinned is None
    with record_host_imports():
        reads = importlib.import_module("vcu_pkg.reads")
    deps = DependencyTracker().describe({"vcu_pkg.reads": reads})
    assert deps.unpinned is not None
    assert "module vcu_pkg.reads read vcu_pkg/data.txt when it imported" in deps.unpinned


def test_judgment_refuses_what_it_cannot_key() -> None:
    assert isinstance(judgment(CheckOptions(), workflow_id=None), dict)
    plugin_object = judgment(CheckOptions(plugins=(object(),)), workflow_id=None)
    assert isinstance(plugin_object, str) and "module:attr" in plugin_object
    budget = judgment(CheckOptions(fail_on=frozenset({"drift", "budget"})), workflow_id=None)
    assert isinstance(budget, str) and "budget" in budget


# ---------------------------------------------------------------------------- the cache


def _workflow_classes() -> list[type]:
    from reference_agents.payment import PaymentAgentWorkflow

    return [PaymentAgentWorkflow]


def _pass(path: Path, deps: ReplayDeps) -> HistoryResult:
    return HistoryResult(
        path=str(path),
        workflow_id="payment-happy",
        workflow_type="PaymentAgentWorkflow",
        status="clean",
        events=10,
        allowed=(Divergence(kind="drift", cause="timer-duration", message="allowed"),),
        dependencies=deps,
    )


def _cache(folder: Path, options: CheckOptions | None = None) -> VerdictCache:
    return VerdictCache(
        folder, options=options or CheckOptions(), workflows=_workflow_classes(), workflow_id=None
    )


def test_a_pass_is_reused_until_a_part_of_its_key_changes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = project / "h.json"
    shutil.copy(HISTORY, history)
    leaf = importlib.import_module("vcu_pkg.leaf")
    deps = DependencyTracker().describe({"vcu_pkg.leaf": leaf})
    folder = tmp_path / "verdicts"
    cache = _cache(folder)
    assert "no stored pass" in str(cache.lookup(history))
    assert cache.store(_pass(history, deps)) is None
    reused = _cache(folder).lookup(history)
    assert isinstance(reused, HistoryResult) and reused.reused and reused.status == "clean"
    assert reused.allowed[0].cause == "timer-duration"
    # every entry is small JSON; no absolute path in it
    (entry,) = [p for p in folder.rglob("*.json") if "paths" not in p.parts]
    assert str(project) not in entry.read_text() and entry.stat().st_size < 4096
    # another option
    changed = _cache(folder, CheckOptions(allow=("drift",))).lookup(history)
    assert changed == "option allow changed ([] -> ['drift'])"
    # another module content
    (project / "vcu_pkg" / "leaf.py").write_text("VALUE = 2\n")
    assert _cache(folder).lookup(history) == "module vcu_pkg.leaf changed (vcu_pkg/leaf.py)"
    (project / "vcu_pkg" / "leaf.py").write_text("VALUE = 1\n")
    assert isinstance(_cache(folder).lookup(history), HistoryResult)
    # another history content at the same path
    history.write_text(history.read_text().replace("{", "{ ", 1))
    assert _cache(folder).lookup(history) == "history changed"


def test_a_restored_cache_hits_at_another_path(project: Path, tmp_path: Path) -> None:
    history = project / "h.json"
    shutil.copy(HISTORY, history)
    leaf = importlib.import_module("vcu_pkg.leaf")
    deps = DependencyTracker().describe({"vcu_pkg.leaf": leaf})
    first = _cache(tmp_path / "v1")
    first.lookup(history)
    assert first.store(_pass(history, deps)) is None
    shutil.copytree(tmp_path / "v1", tmp_path / "restored")  # another runner, another folder
    elsewhere = tmp_path / "checkout2"
    elsewhere.mkdir()
    shutil.copytree(
        project / "vcu_pkg", elsewhere / "vcu_pkg", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(history, elsewhere / "h.json")
    sys.path.remove(str(project))
    sys.path.insert(0, str(elsewhere))
    try:
        got = _cache(tmp_path / "restored").lookup(elsewhere / "h.json")
    finally:
        sys.path.remove(str(elsewhere))
        sys.path.insert(0, str(project))
    assert isinstance(got, HistoryResult) and got.reused


def test_only_pinned_passes_are_stored(project: Path, tmp_path: Path) -> None:
    history = project / "h.json"
    shutil.copy(HISTORY, history)
    cache = _cache(tmp_path / "v")
    cache.lookup(history)
    divergent = HistoryResult(
        path=str(history),
        workflow_id="x",
        workflow_type="PaymentAgentWorkflow",
        status="divergent",
        dependencies=ReplayDeps(),
    )
    assert cache.store(divergent) is None and cache.stored == 0
    unpinned = _pass(history, ReplayDeps(unpinned="read data.txt"))
    assert cache.store(unpinned) == "read data.txt" and cache.stored == 0
    assert "no stored pass" in str(_cache(tmp_path / "v").lookup(history))


# ---------------------------------------------------------------------------- settings


def test_verdict_cache_setting_precedence(tmp_path: Path) -> None:
    project = ProjectConfig(root=tmp_path, verdict_cache="ci/verdicts")
    env = {"REPLAYKIT_VERDICT_CACHE": str(tmp_path / "from-env")}
    flag = Resolver(flags={"verdict_cache": str(tmp_path / "flag")}, project=project, env=env)
    assert flag.verdict_cache().value == str(tmp_path / "flag")
    from_env = Resolver(project=project, env=env).verdict_cache()
    assert (from_env.value, from_env.source) == (
        str(tmp_path / "from-env"),
        "env REPLAYKIT_VERDICT_CACHE",
    )
    from_pyproject = Resolver(project=project, env={}).verdict_cache()
    assert from_pyproject.value == str(tmp_path / "ci" / "verdicts")  # relative to pyproject
    default = Resolver(project=ProjectConfig(root=tmp_path), env={}).verdict_cache()
    assert default.value == str(tmp_path / ".replaykit" / "verdicts")
    off = Resolver(flags={"verdict_cache": False}, project=project, env=env).verdict_cache()
    assert off.value is None
    assert (
        Resolver(project=project, env={"REPLAYKIT_VERDICT_CACHE": "off"}).verdict_cache().value
        is None
    )
    no_cache = ProjectConfig(root=tmp_path, verdict_cache=False)
    assert Resolver(project=no_cache, env={}).verdict_cache().value is None


# ---------------------------------------------------------------------------- reports


def test_reused_verdicts_are_marked_everywhere(tmp_path: Path) -> None:
    reused = HistoryResult(
        path="a.json", workflow_id="a", workflow_type="T", status="clean", reused=True
    )
    fresh = HistoryResult(
        path="b.json",
        workflow_id="b",
        workflow_type="T",
        status="clean",
        recheck_reason="module pkg.helpers changed (pkg/helpers.py)",
        not_stored="the workflow code read data.txt",
    )
    assert format_result_line(reused).startswith("reused    a.json")
    assert format_result_line(fresh) == "ok        b.json"
    why = format_result_line(fresh, why=True)
    assert "rechecked: module pkg.helpers changed" in why and "not stored:" in why
    report = CheckReport(results=(reused, fresh))
    assert "2 clean (1 reused), 0 diverged" in format_summary(report)
    data = report.to_json()
    assert data["summary"]["reused"] == 1
    assert [r["reused"] for r in data["results"]] == [True, False]
    assert data["results"][1]["recheck_reason"].startswith("module pkg.helpers")
    write_junit_xml(report, tmp_path / "out.xml")
    cases = ET.parse(tmp_path / "out.xml").getroot().findall(".//testcase")
    props = {
        c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in cases
    }
    assert props["a.json"] == {"replaykit.reused": "true"}
    assert props["b.json"]["replaykit.recheck_reason"].startswith("module pkg.helpers")


def test_a_plain_export_renamed_replays_its_workflow_id_is_its_name(
    project: Path, tmp_path: Path
) -> None:
    history = project / "order-7.json"
    shutil.copy(HISTORY, history)
    cache = _cache(tmp_path / "v")
    cache.lookup(history)
    plain = HistoryResult(
        path=str(history),
        workflow_id="order-7",  # no metadata: the id is the file name stem
        workflow_type="PaymentAgentWorkflow",
        status="clean",
        dependencies=ReplayDeps(),
    )
    assert cache.store(plain) is None
    assert isinstance(_cache(tmp_path / "v").lookup(history), HistoryResult)
    renamed = project / "order-8.json"
    history.rename(renamed)
    assert _cache(tmp_path / "v").lookup(renamed) == (
        "workflow id (from the file name) changed ('order-7' -> 'order-8')"
    )


def test_trying_a_missing_project_file_is_not_pinned_either(project: Path) -> None:
    leaf = importlib.import_module("vcu_pkg.leaf")
    deps = DependencyTracker().describe(
        {"vcu_pkg.leaf": leaf}, opened=[str(project / "vcu_pkg" / "optional.toml")]
    )
    assert deps.unpinned is not None and "tried to open vcu_pkg/optional.toml" in deps.unpinned


def test_each_option_set_keeps_its_own_pass(project: Path, tmp_path: Path) -> None:
    history = project / "h.json"
    shutil.copy(HISTORY, history)
    deps = DependencyTracker().describe({"vcu_pkg.leaf": importlib.import_module("vcu_pkg.leaf")})
    matrix = [CheckOptions(), CheckOptions(allow=("drift",)), CheckOptions(strict=False)]
    for options in matrix:
        cache = _cache(tmp_path / "v", options)
        assert isinstance(cache.lookup(history), str)
        assert cache.store(_pass(history, deps)) is None
    for options in matrix:
        assert isinstance(_cache(tmp_path / "v", options).lookup(history), HistoryResult)
    # Same options, other code: that pass's reason is the one given.
    (project / "vcu_pkg" / "leaf.py").write_text("VALUE = 3\n")
    got = _cache(tmp_path / "v", CheckOptions(allow=("drift",))).lookup(history)
    assert got == "module vcu_pkg.leaf changed (vcu_pkg/leaf.py)"
