"""The check engine on committed histories: clean code passes, each kind of change is caught
and classified, and the explanation names the event, the values and the source line."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories
from replaykit.check import HistoryResult

CORE = Path(__file__).parent.parent / "data" / "core"
HISTORIES = CORE / "histories"
ORIGINAL = (CORE / "core_workflows.py").read_text()
_counter = itertools.count()


@pytest.fixture(autouse=True)
def _core_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(CORE))


def mutant(tmp_path: Path, old: str, new: str, *, count: int = 1) -> str:
    """Write a changed copy of core_workflows.py under a fresh module name; return the name."""
    assert ORIGINAL.count(old) >= count, f"mutation anchor not found: {old!r}"
    name = f"core_mutant_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(ORIGINAL.replace(old, new, count))
    sys.path.insert(0, str(tmp_path))
    return name


def check(module: str, *paths: Path, **options: object) -> list[HistoryResult]:
    report = check_histories(
        list(paths) or [HISTORIES],
        workflows=[module],
        jobs=0,
        options=CheckOptions(**options),  # type: ignore[arg-type]
    )
    return list(report.results)


def by_name(results: list[HistoryResult], stem: str) -> HistoryResult:
    (found,) = [r for r in results if r.path and Path(r.path).name == f"{stem}.json"]
    return found


def test_unchanged_code_is_clean() -> None:
    results = check("core_workflows")
    assert len(results) == 5
    assert all(r.status == "clean" and not r.divergences for r in results), [
        r.describe() for r in results
    ]


def test_changed_activity_argument_is_drift_with_value_diff_and_source(tmp_path: Path) -> None:
    mod = mutant(tmp_path, "execute_activity(fetch, topic,", "execute_activity(fetch, topic + '!',")
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent"
    d = r.first
    assert d is not None
    assert (d.kind, d.cause, d.subject, d.event_type) == (
        "drift",
        "activity-input",
        "activity fetch",
        "ActivityTaskScheduled",
    )
    assert d.diff == "args[0]: 'topic' -> 'topic!'"
    assert d.source is not None and f"{mod}.py:" in d.source and "(in run)" in d.source
    line = int(d.source.split(".py:")[1].split()[0])
    assert (
        "execute_activity(fetch, topic"
        in (tmp_path / f"{mod}.py").read_text().splitlines()[line - 1]
    )
    # the stock replayer alone does not see it
    assert by_name(check(mod, strict=False), "parent-1").status == "clean"


def test_changed_timer_duration_is_drift(tmp_path: Path) -> None:
    mod = mutant(tmp_path, "timedelta(days=7)", "timedelta(days=6)")
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent" and r.first is not None
    assert r.first.cause == "timer-duration"
    assert (r.first.recorded, r.first.current) == ("7d", "6d")


def test_reordered_commands_are_nondeterminism_with_source(tmp_path: Path) -> None:
    old = (
        "        a = await workflow.execute_activity(fetch, topic, start_to_close_timeout=timedelta(seconds=10))\n"
        "        await workflow.sleep(timedelta(days=7))\n"
    )
    new = (
        "        await workflow.sleep(timedelta(days=7))\n"
        "        a = await workflow.execute_activity(fetch, topic, start_to_close_timeout=timedelta(seconds=10))\n"
    )
    mod = mutant(tmp_path, old, new)
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent" and r.first is not None
    assert r.first.kind == "nondeterminism"
    assert r.first.event_id == 5
    assert "timer of 7d" in r.first.message and "activity fetch" in r.first.message
    assert r.first.hint is not None and "workflow.patched" in r.first.hint
    assert r.stock_error is not None and "Nondeterminism" in r.stock_error


def test_changed_child_argument_and_continue_as_new_argument(tmp_path: Path) -> None:
    mod = mutant(tmp_path, 'a + "-child"', 'a + "-kid"')
    r = by_name(check(mod), "parent-1")
    assert r.first is not None and r.first.cause == "child-input"
    mod2 = mutant(tmp_path, "workflow.continue_as_new(n + 1)", "workflow.continue_as_new(n + 2)")
    results = check(mod2, HISTORIES / "looper_flow")
    causes = {Path(r.path or "").name: [d.cause for d in r.divergences] for r in results}
    assert causes["looper-1.json"] == ["continue-as-new-input"]
    assert causes["looper-1.run2.json"] == ["continue-as-new-input"]


def test_changed_result_is_drift(tmp_path: Path) -> None:
    mod = mutant(tmp_path, "        return a + b\n", "        return b + a\n")
    r = by_name(check(mod), "parent-1")
    assert r.first is not None and r.first.cause == "result"
    assert r.first.recorded == ["TOPICTOPIC-CHILD"] and r.first.current == ["TOPIC-CHILDTOPIC"]


def test_timeout_change_is_reported_but_passes_unless_asked(tmp_path: Path) -> None:
    mod = mutant(
        tmp_path,
        "execute_activity(fetch, topic, start_to_close_timeout=timedelta(seconds=10))",
        "execute_activity(fetch, topic, start_to_close_timeout=timedelta(seconds=30))",
    )
    r = by_name(check(mod), "parent-1")
    assert r.status == "clean"
    assert [d.kind for d in r.divergences] == ["option-change"]
    assert r.divergences[0].field == "start_to_close_timeout"
    strict_opts = check(mod, fail_on=frozenset({"nondeterminism", "drift", "option-change"}))
    assert by_name(strict_opts, "parent-1").status == "divergent"


def test_allow_rules(tmp_path: Path) -> None:
    mod = mutant(tmp_path, "execute_activity(fetch, topic,", "execute_activity(fetch, topic + '!',")
    for rule in (
        "drift",
        "activity-input",
        "activity:fetch",
        "activity:fetch.input",
        "fetch.input",
    ):
        r = by_name(check(mod, allow=(rule,)), "parent-1")
        assert r.status == "clean", rule
        assert r.allowed and r.allowed[0].cause == "activity-input"
    r = by_name(check(mod, allow=("activity:other",)), "parent-1")
    assert r.status == "divergent"


def test_renamed_signal_handler_is_drift(tmp_path: Path) -> None:
    mod = mutant(
        tmp_path,
        "    @workflow.signal\n    def approve(self)",
        "    @workflow.signal\n    def approve_v2(self)",
    )
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent"
    assert any(d.cause == "signal-dropped" and "approve" in d.message for d in r.divergences)


def test_extra_activity_is_nondeterminism(tmp_path: Path) -> None:
    mod = mutant(
        tmp_path,
        "        await workflow.sleep(timedelta(days=7))\n",
        "        await workflow.sleep(timedelta(days=7))\n"
        "        await workflow.execute_activity(fetch, 'audit', start_to_close_timeout=timedelta(seconds=10))\n",
    )
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent" and r.first is not None
    assert r.first.kind == "nondeterminism"
    assert r.first.source is not None and f"{mod}.py" in r.first.source


def test_unregistered_workflow_type_is_named(tmp_path: Path) -> None:
    mod = mutant(
        tmp_path, "@workflow.defn\nclass Looper:", "@workflow.defn(name='LooperV2')\nclass Looper:"
    )
    results = check(mod, HISTORIES / "looper_flow" / "looper-1.json")
    assert results[0].status == "divergent"
    assert results[0].first is not None and results[0].first.cause == "unregistered-workflow-type"


def test_bad_files_are_errors_and_others_still_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    good = HISTORIES / "parent_flow" / "parent-1-child.json"
    report = check_histories(
        [tmp_path / "bad.json", good, tmp_path / "missing.json"],
        workflows=["core_workflows"],
        jobs=0,
    )
    statuses = sorted((Path(r.path or "").name, r.status) for r in report.results)
    assert statuses == [
        ("bad.json", "error"),
        ("missing.json", "error"),
        ("parent-1-child.json", "clean"),
    ]
    assert report.exit_code == 2


def test_worker_processes_give_the_same_verdicts(tmp_path: Path) -> None:
    mod = mutant(tmp_path, "timedelta(days=7)", "timedelta(days=6)")
    in_proc = {r.path: (r.status, [d.cause for d in r.divergences]) for r in check(mod)}
    report = check_histories([HISTORIES], workflows=[mod], jobs=2)
    pooled = {r.path: (r.status, [d.cause for d in r.divergences]) for r in report.results}
    assert pooled == in_proc
    assert report.exit_code == 1


def test_sharding_splits_without_overlap() -> None:
    parts = [
        {
            r.path
            for r in check_histories(
                [HISTORIES], workflows=["core_workflows"], jobs=0, shard=(k, 3)
            ).results
        }
        for k in (1, 2, 3)
    ]
    assert sum(len(p) for p in parts) == 5
    assert set.union(*parts) == {str(p) for p in sorted(HISTORIES.rglob("*.json"))}


@pytest.mark.parametrize("shard", [(0, 3), (4, 3), (1, 0), (-1, 2), (1.0, 2), (True, 1), [1, 2]])
def test_a_bad_shard_is_refused_by_the_library_too(shard: object) -> None:
    # issue 12 item 7: shard=(0, 3) used to check no history at all, and pass
    from replaykit import ConfigError

    with pytest.raises(ConfigError, match=r"1 <= k <= n"):
        check_histories([HISTORIES], workflows=["core_workflows"], jobs=0, shard=shard)  # type: ignore[arg-type]


def test_workflow_raising_during_replay_is_named(tmp_path: Path) -> None:
    mod = mutant(
        tmp_path, "        return a + b\n", "        raise RuntimeError('boom in replay')\n"
    )
    r = by_name(check(mod), "parent-1")
    assert r.status == "divergent" and r.first is not None
    assert r.first.kind == "nondeterminism"
    assert r.first.cause in ("workflow-raised", "workflow-task-failed")
    # the raised exception, where the workflow code raised it, and no Debug or traceback dump
    assert "RuntimeError: boom in replay" in r.first.message
    assert "stack_trace" not in r.first.message and "Failure {" not in r.first.message
    assert r.first.source is not None and f"{mod}.py:" in r.first.source
    assert "Traceback" not in r.describe() and "Failed activation" not in r.describe()
