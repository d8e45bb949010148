"""Quiet by default: budget projections only over the horizon a history's evidence
supports, ``-q`` keeps only what fails, nothing is printed twice, what workflow code prints
is shown only under a failing history, and ``-v`` lists each passing finding."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from replaykit.check._budget import BudgetLimits, measure_budget, parse_budget_limits
from replaykit.check._divergence import OUTPUT_LINES, format_output
from replaykit.cli.check import command as check_command
from replaykit.cli.shadow import command as shadow_command

DATA = Path(__file__).resolve().parents[1] / "data"
HISTORIES = DATA / "core" / "histories"
CORE_WORKFLOWS = (DATA / "core" / "core_workflows.py").read_text()

# ---------------------------------------------------------------------------------------
# Budget projections: only over the horizon the history's evidence supports


def _loop_history(iterations: int, growth: int) -> list[HistoryEvent]:
    """A run calling ``call_llm`` ``iterations`` times, its input ``growth`` bytes larger
    each time (the whole conversation sent on every call)."""
    events = [HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)]

    def add(kind: EventType.ValueType) -> HistoryEvent:
        event = HistoryEvent(event_id=len(events) + 1, event_type=kind)
        events.append(event)
        return event

    events[0].event_id = 1
    for n in range(iterations):
        add(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
        add(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        add(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        scheduled = add(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        attrs = scheduled.activity_task_scheduled_event_attributes
        attrs.activity_type.name = "call_llm"
        data = json.dumps(["m" * (growth * (n + 1))]).encode()
        attrs.input.CopyFrom(
            Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=data)])
        )
        add(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        add(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    return events


#: The payload limit a 4 KB-per-iteration input reaches within ~20 iterations.
TIGHT = BudgetLimits(payload_error=100 * 1024)


def test_three_iterations_are_no_evidence_for_a_projection() -> None:
    budget = measure_budget(_loop_history(3, 4096), TIGHT)
    (loop,) = budget.loops
    limit, left = loop.first_limit() or ("", 0)
    assert limit == "payload" and left < 30  # projected close, and within the horizon ...
    assert not budget.flagged  # ... but three points fit anything: not flagged
    # the same loop, observed long enough, is flagged
    longer = measure_budget(_loop_history(6, 4096), TIGHT)
    (finding,) = longer.findings
    assert finding.limit == "projected-payload" and finding.value < 60
    assert "measured over 6" in finding.message and "within the 60 iterations" in finding.message


def test_projection_reaches_only_a_small_multiple_of_what_was_observed() -> None:
    wide = BudgetLimits(payload_error=1024 * 1024)
    budget = measure_budget(_loop_history(6, 4096), wide)
    (loop,) = budget.loops
    left = (loop.first_limit() or ("", 0))[1]
    assert 60 < left <= wide.horizon  # within the 1,000 horizon, past 10x the 6 observed
    assert not budget.flagged
    trusting = parse_budget_limits(["projection_factor=100"], base=wide)
    assert measure_budget(_loop_history(6, 4096), trusting).flagged
    assert not measure_budget(
        _loop_history(6, 4096), parse_budget_limits(["horizon=50"], base=trusting)
    ).flagged  # never past the horizon


def test_projection_reach_is_the_one_rule() -> None:
    limits = BudgetLimits()
    assert [limits.projection_reach(n) for n in (3, 4, 5, 12, 200)] == [0, 0, 50, 120, 1000]
    with pytest.raises(ValueError, match="must be positive"):
        parse_budget_limits(["projection_factor=0"])


# ---------------------------------------------------------------------------------------
# The check's text report


@pytest.fixture
def workflows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/data/quiet (printing workflows) and a folder for changed core workflows."""
    monkeypatch.syspath_prepend(str(DATA / "quiet"))
    monkeypatch.syspath_prepend(str(DATA / "core"))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        check_command, [str(HISTORIES), "--no-verdict-cache", *args], catch_exceptions=False
    )
    return result.exit_code, result.output


@pytest.mark.parametrize("jobs", ["0", "1"])
def test_output_of_workflow_code_is_shown_only_under_a_failure(
    workflows: Path, jobs: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """printing_workflows prints in every workflow; only Parent's history diverges."""
    code, out = _check("-w", "printing_workflows", "-j", jobs)
    assert code == 1, out
    lines = out.splitlines()
    diverged = next(i for i, ln in enumerate(lines) if ln.startswith("DIVERGED"))
    assert "parent-1.json" in lines[diverged]
    at = lines.index("    output (printed by the workflow code during replay):")
    assert at > diverged and lines[at + 1] == "      | PARENT-PRINTS Done!PARENT-WARNS on stderr"
    # the clean histories' output is nowhere: not in the report, not on the terminal
    leaked = capfd.readouterr()
    for text in (out, leaked.out, leaked.err):
        assert "CHILD-PRINTS" not in text and "LOOPER-PRINTS" not in text
    assert "PARENT-PRINTS" not in leaked.out + leaked.err
    assert all(ln.startswith(("ok ", "DIVERGED", " ", "5 histories")) for ln in lines), out
    assert sys.stdout is not None and type(sys.stdout).__name__ != "_RoutedStream"


def test_long_output_keeps_its_tail() -> None:
    text = "".join(f"line {n}\n" for n in range(100)) + "x" * 500
    shown = format_output(text, indent="    ").splitlines()
    assert shown[0].endswith(f"last {OUTPUT_LINES} of 101 lines")
    assert len(shown) == OUTPUT_LINES + 1 and shown[1] == "      | line 81"
    assert shown[-1].endswith("…") and len(shown[-1]) < 220


def test_quiet_keeps_only_what_fails(workflows: Path) -> None:
    code, out = _check("-w", "printing_workflows", "-j", "0", "-q", "--budget", "events_warn=10")
    assert code == 1
    assert "ok " not in out and "History budgets" not in out and "budget warning" not in out
    assert out.count("DIVERGED") == 1 and out.splitlines()[-1].startswith("5 histories checked")
    # a budget that fails is kept, and only the histories it fails
    code, out = _check(
        "-w", "core_workflows", "-j", "0", "-q", "--budget", "events_warn=20", "--fail-on", "budget"
    )
    assert code == 1 and "ok " not in out
    assert "History budgets: 1 history failing" in out and out.count("budget warning") == 1
    assert "DIVERGED  " in out and "its history budget fails" in out


def test_a_diverged_history_gets_its_budget_warning_once(workflows: Path) -> None:
    code, out = _check("-w", "printing_workflows", "-j", "0", "--budget", "events_warn=20")
    assert code == 1
    assert out.count("budget warning: 29 events") == 1, out  # parent-1 diverged and flagged
    assert "History budgets: 1 history flagged" in out


def test_verbose_lists_each_passing_option_change(workflows: Path) -> None:
    (workflows / "core_slower.py").write_text(
        CORE_WORKFLOWS.replace("timedelta(seconds=10)", "timedelta(seconds=30)")
    )
    code, out = _check("-w", "core_slower", "-j", "0")
    assert code == 0 and out.count("(1 reported, passing)") == 2 and "reported:" not in out
    code, out = _check("-w", "core_slower", "-j", "0", "-v")
    listed = [ln for ln in out.splitlines() if ln.startswith("    reported: ")]
    assert len(listed) == 2, out
    for line in listed:
        assert "[option-change] activity fetch: start_to_close_timeout: 10.0 → 30.0" in line
        assert "core_slower.py:" in line
    code, out = _check("-w", "core_slower", "-j", "0", "-v", "--allow", "option-change")
    assert code == 0 and out.count("    allowed: [option-change] activity fetch") == 2


def test_shadow_quiet_keeps_only_what_fails(workflows: Path) -> None:
    result = CliRunner().invoke(
        shadow_command,
        ["--from", str(HISTORIES), "-w", "printing_workflows", "-j", "0", "-q", "--no-store"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    assert "ok " not in result.output and result.output.count("DIVERGED") == 1
    assert "PARENT-PRINTS Done!" in result.output and "CHILD-PRINTS" not in result.output


def test_a_failing_result_carries_its_output_and_a_clean_one_none(workflows: Path) -> None:
    from replaykit.check import check_histories

    report = check_histories([HISTORIES], workflows=["printing_workflows"], jobs=0)
    by_name = {Path(r.path or "").name: r for r in report.results}
    parent = by_name["parent-1.json"]
    assert parent.status == "divergent"
    assert parent.output == "PARENT-PRINTS Done!PARENT-WARNS on stderr\n"
    # the pytest items and JUnit failures show it through describe()
    assert "  | PARENT-PRINTS Done!PARENT-WARNS on stderr" in parent.describe()
    assert parent.to_json()["output"] == parent.output
    assert all(r.output is None for r in report.results if r is not parent)


def test_show_prints_the_output_of_a_diverged_history_once(
    workflows: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from replaykit.cli.show import command as show_command

    runner = CliRunner()
    parent = runner.invoke(
        show_command, [str(HISTORIES / "parent_flow" / "parent-1.json"), "-w", "printing_workflows"]
    )
    assert parent.exit_code == 1, parent.output
    assert parent.output.count("  | PARENT-PRINTS Done!PARENT-WARNS on stderr") == 1
    child = runner.invoke(
        show_command,
        [str(HISTORIES / "parent_flow" / "parent-1-child.json"), "-w", "printing_workflows"],
    )
    assert child.exit_code == 0 and "CHILD-PRINTS" not in child.output
    assert "budget warning" not in parent.output + child.output
    leaked = capfd.readouterr()
    assert "PRINTS" not in leaked.out + leaked.err
