"""A ``--plugin`` factory is called at most once per process; a ``file.py`` loads once.

``LangGraphPlugin`` rewrites module-level tasks in place when it is built, so building it a
second time in a process fails; the factories here count their calls and file executions
(a log file beside the module, which survives a re-execution), and one fails when called
twice, as that plugin does. They are checked over many histories in one process, loaded
under two spellings of the same file.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from replaykit import CheckOptions, check_histories
from replaykit._internal._imports import resolve_ref
from replaykit.integrations._plugins import load_plugins

ROOT = Path(__file__).resolve().parent.parent.parent
HISTORIES = sorted((ROOT / "fixtures" / "histories").glob("payment_*"))

FACTORIES = textwrap.dedent(
    """
    from pathlib import Path

    from temporalio.plugin import SimplePlugin

    with (Path(__file__).parent / "executions.log").open("a") as log:
        log.write("executed\\n")

    CALLS = 0
    BUILT = False


    def counted():
        global CALLS
        CALLS += 1
        return SimplePlugin("replaykit-test-counted")


    def once():
        # like LangGraphPlugin(entrypoints=..., tasks=...): the second build fails
        global BUILT
        if BUILT:
            raise ValueError("Cannot identify task wrapper: closures are not supported")
        BUILT = True
        return SimplePlugin("replaykit-test-once")
    """
)


@pytest.fixture
def factories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "factories.py"
    path.write_text(FACTORIES)
    monkeypatch.chdir(tmp_path)
    return path


def test_a_factory_is_called_once_over_many_histories(factories: Path) -> None:
    import temporalio.workflow

    if not hasattr(temporalio.workflow, "cancellation_reason"):
        pytest.skip(
            "the payment reference agent these histories replay calls "
            "workflow.cancellation_reason (temporalio >= 1.28)"
        )
    assert len(HISTORIES) >= 3
    refs = ("factories.py:counted", f"{factories}:once")  # two spellings of one file
    for _ in range(2):  # two checks in one process, each validating refs and replaying
        report = check_histories(
            HISTORIES,
            workflows=["reference_agents"],
            jobs=0,
            options=CheckOptions(plugins=refs, cache=False),
        )
        assert {r.status for r in report.results} == {"clean"}, [
            r.describe() for r in report.results
        ]
    assert len(report.results) >= 3
    assert resolve_ref(f"{factories}:CALLS", option="--plugin") == 1
    assert resolve_ref("factories.py:BUILT", option="--plugin") is True
    assert (factories.parent / "executions.log").read_text().count("executed") == 1


def test_a_factory_that_fails_when_called_twice_still_loads(factories: Path) -> None:
    first = load_plugins([f"{factories}:once"])
    again = load_plugins(["factories.py:once", "factories.py:once"])
    assert [p.name() for p in again] == ["replaykit-test-once"] * 2
    assert again[0] is first[0]  # the very plugin the first call made


def test_a_scenarios_own_factory_is_called_for_every_run(factories: Path) -> None:
    # A scenario's own plugins= give each run its own (a scripted test model is consumed).
    load_plugins(["factories.py:counted"], fresh=True)
    load_plugins(["factories.py:counted"], fresh=True)
    assert resolve_ref("factories.py:CALLS", option="--plugin") == 2
