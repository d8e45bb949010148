"""The ``replaykit_faults`` fixture and marker, through pytester, on one embedded dev server.

One in-process pytest run of a generated test file covers the marker feeding the fixture (a
plan, every-step with a budget), a call overriding the marker, a violation turned into an
``AssertionError`` that carries the report, and ``raise_on_failure=False``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import replaykit.faults._runner  # noqa: F401  (imported once, outside the in-process run)

pytest_plugins = ["pytester"]

DATA = Path(__file__).resolve().parents[1] / "data" / "faults"

TESTS = """
import pytest

from replaykit.faults import FailActivity, KillWorker, Point

KILL_AFTER_CHARGE = KillWorker(Point("activity-returned", activity="charge"))


@pytest.mark.replaykit_faults(KILL_AFTER_CHARGE, scenario="order_scenarios.py::order_idempotent")
def test_marker_plan(replaykit_faults):
    result = replaykit_faults()
    assert result.ok and result.kills == 1
    assert {v.name: v.verdict for v in result.verdicts}["exactly-once"] == "ok"


@pytest.mark.replaykit_faults(crash="every-step", max_runs=2, points="activity-returned")
def test_every_step_blind_charge(replaykit_faults):
    replaykit_faults("order_scenarios.py::order_blind")


@pytest.mark.replaykit_faults(plan=KILL_AFTER_CHARGE)
def test_call_overrides_marker(replaykit_faults):
    result = replaykit_faults(
        "order_scenarios.py", name="order_hand_retry",
        plan=[FailActivity("charge", error_type="CardDeclined")], raise_on_failure=False,
    )
    assert not result.ok
    verdict = {v.name: v for v in result.verdicts}["retry-policy"]
    assert verdict.verdict == "violation", verdict
    assert "non-retryable error CardDeclined" in verdict.message


@pytest.mark.replaykit_faults(colour="red")
def test_unknown_marker_option(replaykit_faults):
    replaykit_faults("order_scenarios.py::order_idempotent")
"""


def test_fault_marker_feeds_the_fixture(pytester: pytest.Pytester) -> None:
    for name in ("order_app.py", "order_scenarios.py"):
        shutil.copy(DATA / name, pytester.path / name)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_faults_sample=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    out = result.stdout.str()
    # The every-step violation fails the test with the readable report.
    blind = out.split("test_every_step_blind_charge", 2)[-1]
    assert "AssertionError" in blind
    assert "activity `charge` ran its side effect twice" in blind
    assert "minimal failing plan:" in blind and "reproduce: replaykit faults" in blind
    assert "unknown option(s) colour" in out
