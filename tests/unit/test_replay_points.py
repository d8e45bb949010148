"""`--break-at` points: parsing, and resolving them against a recorded history."""

from __future__ import annotations

from pathlib import Path

import pytest

from replaykit.debug import BreakPoint, parse_break_point
from replaykit.debug._points import PointError
from replaykit.debug._targets import _Index, _resolve
from replaykit.history import load_history

ROOT = Path(__file__).resolve().parents[2]
APPROVAL = ROOT / "fixtures" / "histories" / "approval_edited_and_approved" / "approval-1.json"


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("42", BreakPoint("42", "event", number=42)),
        ("divergence", BreakPoint("divergence", "divergence")),
        ("timer:2", BreakPoint("timer:2", "timer", number=2)),
        ("activity:search_web", BreakPoint("activity:search_web", "activity", name="search_web")),
        ("activity:search_web@3", BreakPoint("activity:search_web@3", "activity", "search_web", 3)),
        ("signal:approve", BreakPoint("signal:approve", "signal", name="approve")),
        ("child:Executor@1", BreakPoint("child:Executor@1", "child", name="Executor", number=1)),
    ],
)
def test_points_parse(text: str, point: BreakPoint) -> None:
    assert parse_break_point(text) == point


@pytest.mark.parametrize(
    "text", ["0", "-1", "timer:", "timer:x", "activity:", "act:x", "activity:x@0", "signal", ""]
)
def test_bad_points_are_errors(text: str) -> None:
    with pytest.raises(PointError, match="--break-at"):
        parse_break_point(text)


def test_points_map_to_commands_deliveries_and_tasks() -> None:
    hf = load_history(APPROVAL)
    index = _Index(hf)
    points = [
        parse_break_point(p)
        for p in ("activity:execute_plan_step@2", "timer:1", "signal:approve", "7", "6", "4")
    ]
    targets = _resolve(points, index, None, "approval-1.json")
    # event 28 is the 5th ordered command (5 generate_plan, 11 timer, 21 cancel, 22, 28)
    assert targets.commands == {1: ["timer:1"], 4: ["activity:execute_plan_step@2"]}
    assert targets.deliveries == {17: ["signal:approve"], 7: ["7"]}
    # ActivityTaskStarted 6 is consumed by nobody: the task after it; 4 is its own task's end
    assert targets.tasks == {9: ["6"], 3: ["4"]}


def test_a_missing_point_lists_what_occurs() -> None:
    index = _Index(load_history(APPROVAL))
    with pytest.raises(PointError) as err:
        _resolve([parse_break_point("child:X"), parse_break_point("99")], index, None, "f.json")
    text = str(err.value)
    assert text.startswith("f.json: --break-at child:X, 99 never occurs in this history.")
    assert "activities: activity:generate_plan (x1), activity:execute_plan_step (x3)" in text
