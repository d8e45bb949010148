"""README and docs examples use the public API only: no ``replaykit._private`` import, and
every name they import from replaykit exists (python blocks of README.md and docs/**/*.md)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _example_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _python_blocks() -> list[str]:
    return [
        block
        for path in _example_files()
        for block in re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    ]


def test_the_examples_come_from_the_readme_and_the_docs() -> None:
    files = _example_files()
    assert README in files and len(files) > 20


def _imports() -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []
    for block in _python_blocks():
        try:
            tree = ast.parse(block)
        except SyntaxError:  # an excerpt with "..." in odd places: read its import lines
            tree = ast.parse(
                "\n".join(ln for ln in block.splitlines() if ln.startswith(("import ", "from ")))
            )
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append((node.module, tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                found.extend((a.name, ()) for a in node.names)
    return found


def test_readme_has_python_examples_importing_replaykit() -> None:
    assert any(m.startswith("replaykit") for m, _ in _imports())


def test_readme_examples_import_no_private_replaykit_module() -> None:
    private = [
        m
        for m, _ in _imports()
        if m.startswith("replaykit") and any(p.startswith("_") for p in m.split("."))
    ]
    assert private == []


def _private_replaykit_imports(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.relative_to(folder.parent)}:{node.lineno}: {m}"
                for m in modules
                if m.split(".")[0] == "replaykit" and any(p.startswith("_") for p in m.split("."))
            ]
    return found


def test_reference_agents_import_no_private_replaykit_module() -> None:
    """The reference agents are documentation users copy: public imports only."""
    assert _private_replaykit_imports(README.parent / "reference_agents") == []


def test_the_private_import_finder_finds_one() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pkg"
        folder.mkdir()
        (folder / "m.py").write_text("import os\nfrom replaykit.check._engine import x\n")
        assert _private_replaykit_imports(folder) == ["pkg/m.py:2: replaykit.check._engine"]


def test_names_readme_examples_import_from_replaykit_exist() -> None:
    missing = []
    for module, names in _imports():
        if not module.startswith("replaykit"):
            continue
        mod = importlib.import_module(module)
        missing += [f"{module}.{n}" for n in names if not hasattr(mod, n)]
    assert missing == []


# ---------------------------------------------------------------------------------------
# The public API itself: every exported name resolves, one name and one home per concept


import inspect  # noqa: E402
import pkgutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from types import ModuleType  # noqa: E402

import pytest  # noqa: E402

import replaykit  # noqa: E402


def _public_modules() -> list[ModuleType]:
    """Every public submodule of replaykit (the cli package aside: it is the command line)."""
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(replaykit.__path__)
        if not m.name.startswith("_") and m.name != "cli"
    )
    return [importlib.import_module(f"replaykit.{n}") for n in names]


def test_the_public_submodules_are_the_ones_documented() -> None:
    assert [m.__name__ for m in _public_modules()] == [
        f"replaykit.{name}"
        for name in (
            "check",
            "config",
            "debug",
            "effects",
            "faults",
            "history",
            "integrations",
            "lint",
            "patches",
            "record",
            "sagas",
            "servers",
            "shadow",
            "strategies",
            "views",
        )
    ]


def test_every_name_in_every_public_all_resolves() -> None:
    missing = [f"replaykit.{n}" for n in replaykit.__all__ if not hasattr(replaykit, n)]
    for mod in _public_modules():
        assert hasattr(mod, "__all__"), f"{mod.__name__} has no __all__"
        missing += [f"{mod.__name__}.{n}" for n in mod.__all__ if not hasattr(mod, n)]
    assert missing == []
    assert sorted(dir(replaykit)) == sorted(replaykit.__all__)


def _exports() -> list[tuple[str, str, object]]:
    found = [("replaykit", n, getattr(replaykit, n)) for n in replaykit.__all__]
    for mod in _public_modules():
        found += [(mod.__name__, n, getattr(mod, n)) for n in mod.__all__]
    # Constants (strings, tuples) can be equal by chance; concepts are classes and functions.
    return [(m, n, o) for m, n, o in found if inspect.isclass(o) or callable(o)]


def test_one_name_and_one_public_home_per_concept() -> None:
    names: dict[int, set[str]] = {}
    homes: dict[int, set[str]] = {}
    labels: dict[int, str] = {}
    for module, name, obj in _exports():
        names.setdefault(id(obj), set()).add(name)
        labels[id(obj)] = f"{module}.{name}"
        if module != "replaykit":
            homes.setdefault(id(obj), set()).add(module)
    aliased = {labels[k]: sorted(v) for k, v in names.items() if len(v) > 1}
    assert aliased == {}, "one object exported under several names"
    two_homes = {labels[k]: sorted(v) for k, v in homes.items() if len(v) > 1}
    assert two_homes == {}, "one object exported by several public submodules"


def test_top_level_hoists_each_public_submodule_whole_and_from_it() -> None:
    """A name a public submodule exports is re-exported at the top level from that module,
    not from the private one behind it: the list is kept once (the effects ledger used to be
    exported from ``replaykit.effects._ledger`` and ``replaykit.effects`` with lists that drifted)."""
    exports: dict[str, tuple[str, ...]] = replaykit._EXPORTS
    home_of = {
        id(getattr(mod, n)): mod.__name__
        for mod in _public_modules()
        for n in mod.__all__
        if inspect.isclass(getattr(mod, n)) or callable(getattr(mod, n))
    }
    wrong = [
        f"{n} from replaykit{source} (public home: {home_of[id(getattr(replaykit, n))]})"
        for source, ns in exports.items()
        if source.startswith("._")
        for n in ns
        if id(getattr(replaykit, n)) in home_of
    ]
    assert wrong == []
    for source, ns in exports.items():
        if not source.startswith("._"):
            mod = importlib.import_module(source, "replaykit")
            assert sorted(ns) == sorted(mod.__all__), f"replaykit{source}"


@pytest.mark.parametrize(
    "name",
    [
        "FaultPlan",
        "Point",
        "FailActivity",
        "KillWorker",
        "KillServer",
        "TimeoutActivity",
        "CancelWorkflow",
        "SignalWorkflow",
        "run_fault_plan",
        "explore_every_step",
        "explore_examples",
        "verify_saga",
        "verify_saga_files",
        "SagaRunReport",
        "prove_rollback",
        "EffectsLedger",
        "idempotent",
        "start_server",
        "ServerSpec",
        "scenario",
        "load_scenarios",
        "check_histories",
        "CheckOptions",
        "analyze_patches",
        "scan_patch_sites",
        "show_history",
        "diff_histories",
        "lint_paths",
    ],
)
def test_each_concept_has_a_public_name(name: str) -> None:
    obj = getattr(replaykit, name)
    assert not name.startswith("_") and obj is not None


def test_verify_saga_files_returns_a_public_type() -> None:
    hints = inspect.signature(replaykit.verify_saga_files).return_annotation
    assert hints in ("SagaRunReport", replaykit.SagaRunReport)


def test_import_replaykit_and_its_all_import_no_temporalio() -> None:
    code = (
        "import sys, replaykit; assert replaykit.__all__; "
        "assert 'temporalio' not in sys.modules, 'temporalio imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------
# Sync and async twins take the same parameters


def _twins() -> list[tuple[str, object, object]]:
    found = []
    modules = [
        "replaykit",
        *sorted(
            m.name
            for m in pkgutil.walk_packages(replaykit.__path__, "replaykit.")
            if not m.name.startswith("replaykit.cli")
        ),
    ]
    seen: set[tuple[int, int]] = set()
    for name in modules:
        mod = importlib.import_module(name)
        for attr in [*replaykit.__all__] if name == "replaykit" else dir(mod):
            if not attr.endswith("_async") or attr.startswith("_"):
                continue
            twin_async = getattr(mod, attr)
            twin_sync = getattr(mod, attr[: -len("_async")], None)
            if twin_sync is None or (id(twin_sync), id(twin_async)) in seen:
                continue
            seen.add((id(twin_sync), id(twin_async)))
            found.append((f"{name}.{attr}", twin_sync, twin_async))
    return found


def test_the_twins_are_found() -> None:
    found = {label.rpartition(".")[2] for label, _, _ in _twins()}
    assert {
        "run_fault_plan_async",
        "prove_rollback_async",
        "explore_every_step_async",
        "start_server_async",
    } <= found


@pytest.mark.parametrize(
    "label,sync,async_", _twins(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_sync_and_async_twins_have_identical_parameters(
    label: str, sync: object, async_: object
) -> None:
    assert inspect.iscoroutinefunction(async_), label
    s, a = inspect.signature(sync), inspect.signature(async_)  # type: ignore[arg-type]
    assert list(s.parameters.values()) == list(a.parameters.values()), label
    assert s.return_annotation == a.return_annotation, label


# ---------------------------------------------------------------------------------------
# The saga is ``spec=`` everywhere; ``steps=`` is its deprecated name


STEPS = [("reserve", "release"), ("charge", "refund")]


def test_verify_saga_takes_spec_and_warns_on_steps() -> None:
    from temporalio.api.history.v1 import History

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_spec = replaykit.verify_saga(History(), spec=STEPS, raise_on_failure=False)
        by_spec_obj = replaykit.verify_saga(
            History(), spec=replaykit.SagaSpec(STEPS), raise_on_failure=False
        )
    with pytest.warns(DeprecationWarning, match=r"verify_saga\(steps=...\) is deprecated"):
        by_steps = replaykit.verify_saga(History(), steps=STEPS, raise_on_failure=False)
    assert by_steps == by_spec == by_spec_obj
    assert [s.forward for s in by_steps.steps] == ["reserve", "charge"]
    with pytest.raises(replaykit.ConfigError, match="exactly one"):
        replaykit.verify_saga(History(), steps=STEPS, spec=STEPS)
    with pytest.raises(replaykit.ConfigError, match="spec="):
        replaykit.verify_saga(History())


@pytest.mark.parametrize("fn", ["prove_rollback", "prove_rollback_async"])
def test_prove_rollback_takes_spec_and_warns_on_steps(fn: str) -> None:
    import asyncio

    def call(**saga: object) -> None:
        # A step the saga does not have fails before any server starts, naming the saga's
        # steps: proof the saga arrived.
        kwargs = dict(snapshot=dict, only=["nope"], **saga)
        result = getattr(replaykit, fn)(object(), **kwargs)
        if asyncio.iscoroutine(result):
            asyncio.run(result)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(replaykit.ConfigError, match=r"saga \(reserve, charge\)"):
            call(spec=STEPS)
    with pytest.warns(DeprecationWarning, match=rf"{fn}\(steps=...\) is deprecated"):
        with pytest.raises(replaykit.ConfigError, match=r"saga \(reserve, charge\)"):
            call(steps=replaykit.SagaSpec(STEPS))
    with pytest.raises(replaykit.ConfigError, match="exactly one"):
        call(spec=STEPS, steps=STEPS)
    with pytest.raises(replaykit.ConfigError, match="spec="):
        call()


# ---------------------------------------------------------------------------------------
# Fault runs, explorations and prove-rollback take the shared run options as ``options=``
# (replaykit.faults.FaultRunOptions); the options each also takes as keywords are merged in
# one place, so one dropped from a twin or left out of the merge fails here.


import dataclasses  # noqa: E402


def _option_takers() -> dict[str, tuple[object, frozenset[str]]]:
    from replaykit.faults import _runner

    every = frozenset(f.name for f in dataclasses.fields(replaykit.FaultRunOptions))
    explore = frozenset(
        {"server", "concurrency", "scenario_files", "worker_context", "data_converter", "plugins"}
    )
    rollback = frozenset({"server", "worker_context", "plugins", "scenario_files"})
    return {
        "run_fault_plan": (replaykit.run_fault_plan, every),
        "run_fault_plan_async": (replaykit.run_fault_plan_async, every),
        "run_fault_plan_pooled_async": (_runner.run_fault_plan_pooled_async, every),
        "explore_every_step": (replaykit.explore_every_step, explore),
        "explore_every_step_async": (replaykit.explore_every_step_async, explore),
        "explore_examples": (replaykit.explore_examples, explore),
        "explore_examples_async": (replaykit.explore_examples_async, explore),
        "prove_rollback": (replaykit.prove_rollback, rollback),
        "prove_rollback_async": (replaykit.prove_rollback_async, rollback),
    }


def test_explore_examples_and_its_async_twin_have_identical_parameters() -> None:

    s = inspect.signature(replaykit.explore_examples)
    a = inspect.signature(replaykit.explore_examples_async)
    assert list(s.parameters.values()) == list(a.parameters.values())


@pytest.mark.parametrize("name", sorted(_option_takers()))
def test_each_fault_function_takes_options_and_its_option_keywords(name: str) -> None:
    from replaykit.faults._options import NOT_GIVEN

    fn, keywords = _option_takers()[name]
    params = inspect.signature(fn).parameters  # type: ignore[arg-type]
    options = params["options"]
    assert options.kind is inspect.Parameter.KEYWORD_ONLY and options.default is None
    assert options.annotation == "FaultRunOptions | None"
    fields = {f.name for f in dataclasses.fields(replaykit.FaultRunOptions)}
    assert {p for p in params if p in fields} == keywords
    for keyword in keywords:
        # the not-given marker: merge tells the keywords the caller gave from the defaults
        assert params[keyword].default is getattr(NOT_GIVEN, keyword), (name, keyword)
        assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY


def _two_values(field: str) -> tuple[object, object]:
    baseline = replaykit.Baseline(scenario_ok=True, scenario_result="a", executions=())
    return {
        "server": (replaykit.ServerSpec("timeskip"), "embedded"),
        "baseline": (baseline, replaykit.Baseline(True, "b", ())),
        "concurrency": (3, 2),
        "standby": (False, True),
        "workflow_task_timeout": (5.0, None),
        "check_replay": (False, True),
        "scenario_files": (("a.py",), ["b.py"]),
        "worker_context": ("m:a", "m:b"),
        "data_converter": ("m:a", "m:b"),
        "plugins": (("m:a",), ["m:b"]),
    }[field]


@pytest.mark.parametrize(
    "name,field",
    [
        (name, field)
        for name, (_, keywords) in sorted(_option_takers().items())
        for field in sorted(keywords)
    ],
)
def test_each_option_keyword_reaches_the_merge(name: str, field: str) -> None:
    # A keyword that disagrees with options= fails before any server starts, naming itself:
    # proof that the function merges that keyword (and not only accepts it).
    import asyncio

    fn, _ = _option_takers()[name]
    in_options, as_keyword = _two_values(field)
    kwargs: dict[str, object] = {
        field: as_keyword,
        "options": replaykit.FaultRunOptions(**{field: in_options}),
    }
    args: tuple[object, ...] = (object(),)
    if "fault_plan" in name:
        args += (replaykit.FaultPlan(),)
    if "examples" in name:
        kwargs["examples"] = 1
    if "rollback" in name:
        kwargs.update(spec=STEPS, snapshot=dict)
    with pytest.raises(TypeError, match=rf"^{field}=.* conflicts with options\.{field}="):
        result = fn(*args, **kwargs)  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def test_every_public_coroutine_function_is_named_async_and_has_its_sync_twin() -> None:
    """One convention for sync/async pairs: ``NAME_async`` is the coroutine function and
    ``NAME`` its generated sync twin (``replaykit._internal._sync.sync_twin``)."""
    unnamed, unpaired = [], []
    for name in replaykit.__all__:
        obj = getattr(replaykit, name)
        if inspect.iscoroutinefunction(obj):
            if not name.endswith("_async"):
                unnamed.append(name)
            elif not callable(getattr(replaykit, name.removesuffix("_async"), None)):
                unpaired.append(name)
    assert unnamed == [], "public coroutine functions must end in _async"
    assert unpaired == [], "each NAME_async needs its sync twin NAME"
