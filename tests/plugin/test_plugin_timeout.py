"""A replay that hangs the SDK core fails the test instead of hanging pytest (issue 12 item 6).

The hang stands in for one the core does not announce (its panics are reported at once as a
malformed history: ``tests/unit/test_core_rejections.py``), so the timeout is what ends it.

Run in a pytest subprocess: the stuck replay's thread cannot be killed and stays blocked
until that process exits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CORE = Path(__file__).resolve().parents[1] / "data" / "core"

TEST = """
import dataclasses
import sys
from pathlib import Path

import pytest
import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

CORE = Path(r"{core}")
sys.path.insert(0, str(CORE))
LOOPER = CORE / "histories" / "looper_flow"

from replaykit.history._files import load_history


def hung():
    # validation rejects this shape; built directly it stands in for one it does not know
    hf = load_history(LOOPER / "looper-1.json")
    history = temporalio.api.history.v1.History()
    history.CopyFrom(hf.history)
    next(ev for ev in history.events
         if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).event_type = 0
    return dataclasses.replace(hf, history=history)


@pytest.fixture(autouse=True)
def unannounced(monkeypatch):
    # The core announces this hang (a panic, reported as a malformed history at once);
    # without the announcement the timeout is what ends it.
    monkeypatch.setattr("replaykit.check._engine.core_rejection", lambda seen: None)


def test_hung_replay_fails_the_assertion(assert_replays):
    with pytest.raises(AssertionError, match="did not finish within 2 s"):
        assert_replays(hung(), workflows=["core_workflows"])
    # the process goes on replaying
    assert_replays(LOOPER / "looper-1.run2.json", workflows=["core_workflows"])


def test_a_per_call_timeout(assert_replays):
    with pytest.raises(AssertionError, match="did not finish within 1 s"):
        assert_replays(hung(), workflows=["core_workflows"], timeout=1)
"""


def test_assert_replays_reports_a_core_hang_within_the_timeout(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nreplaykit_timeout = 2\n")
    pytester.makepyfile(test_hang=TEST.format(core=CORE))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", timeout=240
    )
    result.assert_outcomes(passed=2)


def test_a_bad_timeout_stops_pytest(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nreplaykit_timeout = soon\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*replaykit_timeout='soon' is not valid*"])
