"""Review mends (no behaviour change): the check's one setup before any replay
(``_prepare``, shared by ``check_histories`` and ``check_history_stream``), and the
harvester's blocking fetches on ``call_in_thread``'s fresh thread."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from replaykit import ConfigError
from replaykit.check import CheckOptions, check_histories
from replaykit.check._engine import _prepare, check_history_stream
from replaykit.record._harvest import Harvester, HarvestOptions, _Start

CORE = Path(__file__).resolve().parents[1] / "data" / "core"


@pytest.fixture(autouse=True)
def _core_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(CORE))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (CheckOptions(volatile=("nonsense",)), "volatile"),
        (CheckOptions(data_converter="no_such_module_here:conv"), "no_such_module_here"),
        (CheckOptions(plugins=("no_such_module_here:plugin",)), "no_such_module_here"),
    ],
)
def test_both_entry_points_fail_the_same_way_before_any_replay(
    options: CheckOptions, message: str
) -> None:
    histories = sorted((CORE / "histories").rglob("*.json"))
    seen: list[object] = []
    errors = []
    for check in (
        lambda: check_histories(histories, workflows=["core_workflows"], options=options, jobs=0),
        lambda: check_history_stream(
            iter(histories),
            workflows=["core_workflows"],
            options=options,
            jobs=0,
            on_result=seen.append,
        ),
    ):
        with pytest.raises(ConfigError, match=message) as err:
            check()
        errors.append(str(err.value))
    assert errors[0] == errors[1] and not seen


def test_jobs_follow_what_can_reach_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = _prepare(["core_workflows"], CheckOptions())
    assert [c.__name__ for c in prepared.classes] == ["Child", "Looper", "Parent"]
    assert prepared.module_specs == ["core_workflows"]
    options = CheckOptions()
    assert prepared.jobs(None, options) == (os.cpu_count() or 1)  # a stream: no count
    assert prepared.jobs(None, options, count=1) == 1
    assert prepared.jobs(8, options, count=3) == 3 and prepared.jobs(0, options, count=3) == 0
    import core_workflows

    local = _prepare([core_workflows.Parent], options)
    assert local.module_specs == ["core_workflows:Parent"]

    monkeypatch.setattr(core_workflows.Parent, "__module__", "__main__")
    assert (
        _prepare([core_workflows.Parent], options).jobs(4, options, count=4) == 0
    )  # not importable


def test_harvest_fetches_run_on_a_fresh_thread_without_a_loop() -> None:
    harvester = Harvester(HarvestOptions(folder=None))
    seen: list[tuple[str, bool]] = []

    async def fetch(starts: Any, *, final: bool) -> list[Any]:
        seen.append((threading.current_thread().name, final))
        return []

    harvester._fetch = fetch  # type: ignore[method-assign]
    harvester._pending.append(_Start(client=None, workflow_id="w", run_id=None, test="t"))

    async def inside_a_running_loop() -> None:
        assert harvester.fetch_test("t") == []  # a loop runs here: the fetch cannot use it
        harvester.fetch_rest()

    asyncio.run(inside_a_running_loop())
    assert seen == [("replaykit-harvest", False), ("replaykit-harvest", True)]
