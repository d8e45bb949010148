"""The parts of ``shadow`` that need no server: the sample, the selector, the store, the
token bucket's accounting and the settings it reads."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from replaykit._internal._errors import ConfigError
from replaykit.config._config import ProjectConfig
from replaykit.config._settings import Resolver, default_shadow_store
from replaykit.history._files import load_history, make_meta
from replaykit.record._pull import pull_file_name
from replaykit.shadow import HistoryStore, in_sample
from replaykit.shadow._fetch import TokenBucket
from replaykit.shadow._select import Selector, validate_selection

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "histories"
RUN_IDS = [str(uuid.UUID(int=i * 7919 + 13)) for i in range(2000)]


def test_the_sample_is_decided_by_the_run_id_alone_and_grows_monotonically() -> None:
    small = {r for r in RUN_IDS if in_sample(r, 0.1)}
    again = {r for r in reversed(RUN_IDS) if in_sample(r, 0.1)}
    large = {r for r in RUN_IDS if in_sample(r, 0.5)}
    assert small == again
    assert small < large
    assert 100 < len(small) < 300 and 850 < len(large) < 1150  # about the rate
    assert all(in_sample(r, 1.0) for r in RUN_IDS[:50])


def test_the_selector_judges_each_run_once_and_stops_at_the_limit() -> None:
    selector = Selector(limit=3)
    verdicts = [selector.admit(r) for r in ["a", "b", "a", "c", "b", "d", "e"]]
    assert verdicts == [
        "selected",
        "selected",
        "duplicate",
        "selected",
        "duplicate",
        "stop",
        "stop",
    ]
    assert (selector.selected, selector.duplicates, selector.stopped) == (3, 2, "limit")


def test_the_selector_stops_after_its_deadline() -> None:
    selector = Selector(deadline=time.monotonic() - 1)
    assert selector.admit("a") == "stop" and selector.stopped == "max-duration"


def test_the_selector_counts_what_the_sample_leaves_out() -> None:
    selector = Selector(sample=0.2)
    for r in RUN_IDS[:500]:
        selector.admit(r)
    assert selector.selected + selector.sampled_out == 500
    assert selector.selected == sum(in_sample(r, 0.2) for r in RUN_IDS[:500])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sample": 0.0, "limit": None, "max_duration": None},
        {"sample": 1.5, "limit": None, "max_duration": None},
        {"sample": 1.0, "limit": 0, "max_duration": None},
        {"sample": 1.0, "limit": None, "max_duration": -1.0},
    ],
)
def test_selection_options_out_of_range_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        validate_selection(**kwargs)  # type: ignore[arg-type]


def test_the_store_keeps_histories_by_run_id_and_last_event_id(tmp_path: Path) -> None:
    source = load_history(next(FIXTURE.rglob("*.json")))
    meta = make_meta(
        workflow_id="wf/1",
        run_id="run-1",
        workflow_type=source.workflow_type,
        task_queue="q",
        namespace="ns",
    )
    store = HistoryStore(tmp_path)
    assert store.get("ns", "run-1") is None
    stored = store.put("ns", source.history, meta=meta, closed=True)
    assert stored.path.name == pull_file_name("wf/1", "run-1")
    assert stored.last_event_id == source.events[-1].event_id
    store.save()
    reopened = HistoryStore(tmp_path).get("ns", "run-1")
    assert reopened == stored
    assert load_history(reopened.path).workflow_id == "wf/1"
    assert HistoryStore(tmp_path).get("other-namespace", "run-1") is None
    # A file gone or an index that is not ours: fetched again, never trusted.
    index = stored.path.parent / ".index.json"
    stored.path.unlink()
    assert HistoryStore(tmp_path).get("ns", "run-1") is None
    index.write_text(json.dumps({"format": 99, "runs": {}}))
    assert HistoryStore(tmp_path).get("ns", "run-1") is None


def test_the_token_bucket_counts_every_request_and_refuses_a_bad_rate() -> None:
    async def take(bucket: TokenBucket, n: int) -> None:
        for _ in range(n):
            await bucket.take()

    bucket = TokenBucket(None)
    asyncio.run(take(bucket, 25))
    assert bucket.taken == 25
    limited = TokenBucket(1000.0)
    asyncio.run(take(limited, 5))
    assert limited.taken == 5
    with pytest.raises(ConfigError):
        TokenBucket(0)


def test_the_store_folder_comes_from_the_one_resolver(tmp_path: Path) -> None:
    assert Resolver().shadow_store().value == default_shadow_store()
    project = ProjectConfig(root=tmp_path, shadow_store="cache/shadow")
    got = Resolver(project=project).shadow_store()
    assert (got.value, got.source) == (str(tmp_path / "cache/shadow"), "pyproject")
    got = Resolver(project=project, flags={"shadow_store": "/x"}).shadow_store()
    assert (got.value, got.source) == ("/x", "flag")


def test_a_verdict_survives_the_trip_through_the_coordinators_history() -> None:
    """Workers send verdicts as compact JSON; the CLI rebuilds the same results from them."""
    import dataclasses

    from replaykit.check import CheckOptions, check_histories
    from replaykit.check._divergence import Divergence, HistoryResult
    from replaykit.history._versioning import VersioningView
    from replaykit.shadow._distributed import _compact

    path = next((FIXTURE / "monitoring_continue_as_new").rglob("*.json"))
    (clean,) = check_histories(
        [path], workflows=["reference_agents"], options=CheckOptions(), jobs=0
    ).results
    assert clean.status == "clean" and clean.budget is not None
    drift = Divergence(
        kind="drift",
        cause="prompt",
        message="agent 'Triage' (OpenAI Agents): instructions changed",
        event_id=5,
        event_type="ActivityTaskScheduled",
        subject="activity invoke_model_activity",
        field="input.system_instructions",
        recorded="be polite",
        current="be brief",
        diff="[-polite-]{+brief+}",
        agent="Triage",
        integration="OpenAI Agents",
        items=({"name": "lookup", "change": "added", "recorded": None, "current": {}},),
    )
    diverged = dataclasses.replace(
        clean,
        status="divergent",
        divergences=(drift,),
        allowed=(dataclasses.replace(drift, cause="tools"),),
        versioning=VersioningView(behavior="pinned", version="app.v1", versions=("app.v1",)),
    )
    for result in (clean, diverged):
        again = HistoryResult.from_json(json.loads(json.dumps(_compact(result))))
        budget = {"budget": None}  # sent only when it flags something
        assert again.to_json() | budget == result.to_json() | budget
        assert again.divergences == result.divergences and again.allowed == result.allowed
    flagged = dataclasses.replace(clean.budget, findings=(), loops=clean.budget.loops)
    assert HistoryResult.from_json({"status": "clean", "budget": flagged.to_json()}).budget


def test_workers_judge_with_the_commands_verdict_options_and_their_own_code() -> None:
    from replaykit.check import CheckOptions
    from replaykit.config._budgets import BudgetLimits
    from replaykit.shadow._distributed import _check_options, judge_settings

    command = CheckOptions(
        strict=False,
        fail_on=frozenset({"drift"}),
        allow=("prompt",),
        volatile=("activity:a.b",),
        timeout=7.0,
        deployment_version="app.v2",
        include_pinned=True,
        budget=BudgetLimits(events_warn=10),
        plugins=("the.commands:Plugin",),
    )
    worker = CheckOptions(plugins=("the.workers:Plugin",), data_converter="w:conv")
    mixed = _check_options(judge_settings(command), worker)
    assert (mixed.plugins, mixed.data_converter) == (("the.workers:Plugin",), "w:conv")
    assert mixed == CheckOptions(
        **{
            **{f: getattr(command, f) for f in command.__dataclass_fields__},
            "plugins": worker.plugins,
            "data_converter": worker.data_converter,
        }
    )


def test_listings_leave_out_the_shadows_own_coordinators() -> None:
    from replaykit.shadow._fetch import without_own_coordinators

    assert without_own_coordinators(None) == "WorkflowType != 'ReplaykitShadow'"
    assert without_own_coordinators("  ") == "WorkflowType != 'ReplaykitShadow'"
    assert without_own_coordinators("TaskQueue = 'a' OR TaskQueue = 'b'") == (
        "(TaskQueue = 'a' OR TaskQueue = 'b') AND WorkflowType != 'ReplaykitShadow'"
    )


def test_continuous_listing_after_the_first_interval_asks_only_for_what_can_change() -> None:
    import datetime

    from replaykit.shadow._continuous import changed_since

    since = datetime.datetime(2026, 12, 7, 5, 0, 1, 250000, tzinfo=datetime.timezone.utc)
    changed = "(ExecutionStatus = 'Running' OR CloseTime >= '2026-12-07T05:00:01.250000Z')"
    assert changed_since(None, since) == changed
    assert changed_since("TaskQueue = 'q'", since) == f"(TaskQueue = 'q') AND {changed}"
    ordered = "TaskQueue = 'q' ORDER BY StartTime"
    assert changed_since(ordered, since) == ordered  # no condition may follow an ORDER BY


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"interval": 0.0}, "interval must be positive"),
        ({"max_count": 0}, "max count must be at least 1"),
    ],
)
def test_continuous_options_out_of_range_are_refused(
    kwargs: dict[str, object], message: str
) -> None:
    from replaykit.shadow import ContinuousOptions, ShadowOptions
    from replaykit.shadow._continuous import _validate

    with pytest.raises(ConfigError, match=message):
        _validate(ContinuousOptions(**kwargs), ShadowOptions())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max-count"):
        _validate(ContinuousOptions(), ShadowOptions(limit=5))
