"""FaultRunOptions: the options every fault run shares, and how the functions take them.

No server: a conflict or a bad option fails before any run starts, and the sync twins are
checked by standing in for the async twin they call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from replaykit import ConfigError
from replaykit.faults import Baseline, FaultPlan, FaultRunOptions, _explore, _runner
from replaykit.faults._options import NOT_GIVEN, resolve_options

TODAY = {  # the defaults run_fault_plan had before the options object
    "server": None,
    "baseline": None,
    "concurrency": 1,
    "standby": True,
    "workflow_task_timeout": 2.0,
    "check_replay": True,
    "scenario_files": None,
    "worker_context": None,
    "data_converter": None,
    "plugins": (),
}


def test_the_fields_and_defaults_are_todays() -> None:
    opts = FaultRunOptions()
    assert {f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)} == TODAY


def test_the_keyword_defaults_read_as_the_options_defaults() -> None:
    params = inspect.signature(_runner.run_fault_plan).parameters
    for name, default in TODAY.items():
        assert repr(params[name].default) == repr(default), name
    assert str(params["concurrency"]) == "concurrency: 'int' = 1"


def test_frozen_and_keyword_only() -> None:
    opts = FaultRunOptions(concurrency=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.concurrency = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        FaultRunOptions("embedded")  # type: ignore[misc]
    assert hash(opts) == hash(FaultRunOptions(concurrency=2))


def test_sequences_are_kept_as_tuples() -> None:
    opts = FaultRunOptions(plugins=["a:b"], scenario_files=["s.py"])  # type: ignore[arg-type]
    assert opts.plugins == ("a:b",) and opts.scenario_files == ("s.py",)
    assert opts == FaultRunOptions(plugins=("a:b",), scenario_files=("s.py",))


def test_replace_changes_the_named_options_only() -> None:
    opts = FaultRunOptions(concurrency=2, plugins=("a:b",))
    assert opts.replace(standby=False) == FaultRunOptions(
        concurrency=2, plugins=("a:b",), standby=False
    )
    assert opts.concurrency == 2 and opts.standby is True
    with pytest.raises(TypeError, match="'nope' is not an option"):
        opts.replace(nope=1)


def test_merge_without_options_makes_them_from_the_keywords() -> None:
    assert FaultRunOptions.merge(None) == FaultRunOptions()
    assert FaultRunOptions.merge(None, concurrency=3, plugins=["p:q"]) == FaultRunOptions(
        concurrency=3, plugins=("p:q",)
    )


def test_merge_keeps_the_options_the_keywords_do_not_give() -> None:
    opts = FaultRunOptions(concurrency=3, worker_context="m:ctx")
    assert FaultRunOptions.merge(opts) is opts
    assert FaultRunOptions.merge(opts, concurrency=NOT_GIVEN.concurrency) is opts
    # a keyword fills an option the options leave at its default ...
    assert FaultRunOptions.merge(opts, standby=False, plugins=("p:q",)) == FaultRunOptions(
        concurrency=3, worker_context="m:ctx", standby=False, plugins=("p:q",)
    )
    # ... and may repeat one they set to the same value (sequences compared as tuples)
    assert FaultRunOptions.merge(opts, concurrency=3) == opts
    files = FaultRunOptions(scenario_files=("a.py",))
    assert FaultRunOptions.merge(files, scenario_files=["a.py"]) == files


def test_merge_of_a_keyword_against_another_value_names_it() -> None:
    opts = FaultRunOptions(concurrency=3, standby=False, plugins=("a:b",))
    with pytest.raises(TypeError, match=r"concurrency=2 conflicts with options.concurrency=3"):
        FaultRunOptions.merge(opts, concurrency=2)
    # an explicit keyword equal to the default still conflicts with a value options set
    with pytest.raises(TypeError, match=r"^standby=True conflicts with options.standby=False"):
        FaultRunOptions.merge(opts, standby=True)
    with pytest.raises(TypeError, match=r"^plugins=\('c:d',\) conflicts"):
        FaultRunOptions.merge(opts, plugins=["c:d"])


def test_merge_rejects_an_unknown_option() -> None:
    with pytest.raises(TypeError, match=r"'concurency' is not an option \(options: server, "):
        FaultRunOptions.merge(None, concurency=2)
    with pytest.raises(TypeError, match="'kill', 'seed' are not options"):
        FaultRunOptions.merge(FaultRunOptions(), kill="server", seed=1)
    with pytest.raises(TypeError):
        FaultRunOptions(concurency=2)  # type: ignore[call-arg]
    with pytest.raises(AttributeError, match="no option 'concurency'"):
        NOT_GIVEN.concurency  # type: ignore[attr-defined]  # noqa: B018


def test_resolve_options_takes_the_options_among_a_functions_parameters() -> None:
    params = {
        "scenario": object(),
        "kill": "worker",
        "concurrency": 2,
        "plugins": NOT_GIVEN.plugins,
        "options": None,
    }
    assert resolve_options(None, params) == FaultRunOptions(concurrency=2)


# --------------------------------------------------------------------------- the functions

RESULT = SimpleNamespace(ok=True)  # what the stand-in async twins return


def _capture(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    async def fake(*args: object, **kwargs: Any) -> object:
        calls.append({"args": args, **kwargs})
        return RESULT

    monkeypatch.setattr(module, name, fake)
    return calls


def test_run_fault_plan_is_its_async_twin_run_sync_and_merges_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sync twin is generated from the async one (``sync_twin``): same parameters by
    construction, and its options reach the run merged the same way."""
    assert inspect.signature(_runner.run_fault_plan) == inspect.signature(
        _runner.run_fault_plan_async
    )
    assert "Run ``scenario`` under ``plan``" in (inspect.getdoc(_runner.run_fault_plan) or "")
    calls = _capture(monkeypatch, _runner, "run_fault_plan_pooled_async")
    scn, plan = object(), FaultPlan()
    given = FaultRunOptions(concurrency=3, standby=False, plugins=("a:b",))
    assert _runner.run_fault_plan(scn, plan, options=given) is RESULT  # type: ignore[arg-type]
    assert (
        _runner.run_fault_plan(
            scn,
            plan,
            options=given,  # type: ignore[arg-type]
            worker_context="m:ctx",
            check_replay=False,
        )
        is RESULT
    )
    assert (
        _runner.run_fault_plan(
            scn,
            plan,
            server="timeskip",  # type: ignore[arg-type]
            workflow_task_timeout=None,
        )
        is RESULT
    )
    assert [c["args"] for c in calls] == [(scn, plan)] * 3
    assert [set(c) for c in calls] == [{"args", "options"}] * 3  # nothing else re-listed
    assert calls[0]["options"] is given
    assert calls[1]["options"] == given.replace(worker_context="m:ctx", check_replay=False)
    assert calls[2]["options"] == FaultRunOptions(server="timeskip", workflow_task_timeout=None)


def test_run_fault_plan_async_hands_its_options_to_the_pooled_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _capture(monkeypatch, _runner, "run_fault_plan_pooled_async")
    scn, plan = object(), FaultPlan()
    asyncio.run(
        _runner.run_fault_plan_async(
            scn,
            plan,
            concurrency=2,  # type: ignore[arg-type]
            options=FaultRunOptions(data_converter="m:dc"),
        )
    )
    assert calls == [
        {"args": (scn, plan), "options": FaultRunOptions(concurrency=2, data_converter="m:dc")}
    ]


def test_the_explorations_and_rollback_sync_twins_hand_their_options_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from replaykit.sagas import _rollback

    # The exploration twins are generated from their async twins: the same parameters, and
    # the same merge (standing in for it shows what each call resolved).
    for sync, coro in (
        (_explore.explore_every_step, _explore.explore_every_step_async),
        (_explore.explore_examples, _explore.explore_examples_async),
    ):
        assert inspect.signature(sync) == inspect.signature(coro)
    resolved: list[FaultRunOptions] = []
    real = _explore._exploration_options

    class _Stop(Exception):
        pass

    def stand_in(options: Any, params: Any, where: str) -> FaultRunOptions:
        resolved.append(real(options, params, where))
        raise _Stop

    monkeypatch.setattr(_explore, "_exploration_options", stand_in)
    rollback = _capture(monkeypatch, _rollback, "prove_rollback_async")
    given = FaultRunOptions(concurrency=2, standby=False)
    scn = object()
    with pytest.raises(_Stop):
        _explore.explore_every_step(
            scn,
            options=given,
            plugins=["p:q"],  # type: ignore[arg-type]
            kill="server",
            max_runs=3,
            point_kinds=["timer"],
            parallel=2,
        )
    with pytest.raises(_Stop):
        _explore.explore_examples(
            scn,
            options=given,
            examples=5,  # type: ignore[arg-type]
            seed=7,
            worker_context="m:ctx",
            point_kinds=["timer"],
        )
    report = _rollback.prove_rollback(
        scn,
        options=given,
        spec=[("a", "b")],  # type: ignore[arg-type]
        snapshot=dict,
        scenario_files=["s.py"],
        only=["a"],
    )
    assert report is RESULT
    assert resolved == [given.replace(plugins=("p:q",)), given.replace(worker_context="m:ctx")]
    assert len(rollback) == 1
    assert rollback[0]["options"] == given.replace(scenario_files=("s.py",))
    assert rollback[0]["only"] == ["a"] and rollback[0]["raise_on_failure"] is False


@pytest.mark.parametrize(
    "call",
    [
        lambda opts: _explore.explore_every_step(object(), options=opts),  # type: ignore[arg-type]
        lambda opts: _explore.explore_examples(
            object(),
            examples=1,  # type: ignore[arg-type]
            options=opts,
        ),
        lambda opts: asyncio.run(_explore.explore_every_step_async(object(), options=opts)),  # type: ignore[arg-type]
    ],
)
def test_an_exploration_refuses_a_baseline_it_would_not_use(
    call: Callable[[FaultRunOptions], object],
) -> None:
    baseline = Baseline(scenario_ok=True, scenario_result="", executions=())
    with pytest.raises(ConfigError, match="options.baseline is not used"):
        call(FaultRunOptions(baseline=baseline))


@pytest.mark.parametrize("fn", ["prove_rollback", "prove_rollback_async"])
def test_prove_rollback_refuses_a_baseline(fn: str) -> None:
    import replaykit

    baseline = Baseline(scenario_ok=True, scenario_result="", executions=())
    with pytest.raises(ConfigError, match=rf"{fn}: options.baseline is not used"):
        result = getattr(replaykit, fn)(
            object(), spec=[("a", "b")], snapshot=dict, options=FaultRunOptions(baseline=baseline)
        )
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def test_the_cli_examples_mode_passes_the_point_kinds_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """``replaykit faults --examples --points …`` narrows the kill points (as docs/tutorials/faults.md says)."""
    import asyncio
    from types import SimpleNamespace

    from replaykit.faults import _session

    seen: dict[str, object] = {}

    class _Stop(Exception):
        pass

    async def fake_examples(scn: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(_session, "explore_examples_async", fake_examples)
    request = _session.FaultsRequest(
        files=("s.py",), mode="examples", point_kinds=("timer", "activity-start")
    )
    with pytest.raises(_Stop):
        asyncio.run(
            _session._run_group(
                request, [SimpleNamespace(name="s")], SimpleNamespace(), lambda _: None, [], []
            )
        )
    assert seen["point_kinds"] == ("timer", "activity-start")


def test_loose_option_keywords_are_deprecated_in_favour_of_options() -> None:
    import warnings as _warnings

    from replaykit.faults._options import resolve_options

    def run(*, options: FaultRunOptions | None = None, server: object = NOT_GIVEN.server) -> None:
        resolve_options(options, locals(), where="run")

    with pytest.warns(DeprecationWarning, match=r"run\(server=\.\.\.\) is deprecated: pass "):
        run(server="embedded")
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        run(options=FaultRunOptions(server="embedded"))
        run()
