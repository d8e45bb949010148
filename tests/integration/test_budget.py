"""History budgets on real runs: a deliberately quadratic agent loop is flagged with its
projection; its bounded twin is not; `--fail-on budget` fails the check."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from replaykit._budget import BudgetLimits
from replaykit._check import CheckOptions, check_histories
from replaykit._record import record_scenarios
from replaykit._scenario import load_scenarios
from replaykit._servers import parse_server, start_server_async
from replaykit.cli.check import command as check_command

pytestmark = [pytest.mark.integration]

DATA = Path(__file__).resolve().parents[1] / "data" / "budget"


@pytest.fixture(scope="module", autouse=True)
def data_path() -> Iterator[None]:
    sys.path.insert(0, str(DATA))
    try:
        yield
    finally:
        sys.path.remove(str(DATA))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("budget")
    (scn,) = load_scenarios([DATA / "budget_scenarios.py"])

    async def main() -> None:
        async with await start_server_async(parse_server("embedded")) as server:
            client = await server.client()
            report = await record_scenarios([scn], client, out_dir=out)
            assert report.ok, [s.error for s in report.scenarios]

    asyncio.run(main())
    return out / "chat_loops"


def test_quadratic_agent_loop_is_flagged_with_its_projection(recorded: Path) -> None:
    report = check_histories([recorded / "quadratic-1.json"], workflows=["quadratic_agent"],
                             jobs=0)
    (result,) = report.results
    assert result.status == "clean"  # report-only by default
    budget = result.budget
    assert budget is not None
    (loop,) = [lp for lp in budget.loops if lp.subject == "call_llm"]
    assert loop.iterations == 12 and loop.quadratic and not loop.continues_as_new
    # Each turn adds a ~600 B question and a ~570 B reply to the conversation sent.
    assert 1000 < loop.input_growth < 1400
    assert loop.growing_argument == "args[0]" and loop.items_growth == pytest.approx(2.0)
    limit, left = loop.first_limit() or ("", 0)
    assert limit == "bytes" and 150 < left < 600
    (finding,) = budget.findings
    assert finding.limit == "projected-bytes" and finding.value == left
    assert "`call_llm` loop (quadratic" in finding.message and "after ~" in finding.message
    assert "never continues as new" in finding.message
    print("\n".join(f"{k}: {v}" for k, v in loop.to_json().items()))


def test_bounded_twin_is_not_flagged(recorded: Path) -> None:
    report = check_histories([recorded / "windowed-1.json"], workflows=["quadratic_agent"],
                             jobs=0)
    budget = report.results[0].budget
    assert budget is not None and not budget.flagged
    (loop,) = budget.loops
    assert not loop.quadratic and loop.growing_argument is None
    assert (loop.first_limit() or ("", 0))[0] == "events"  # linear: only the event count


def test_fail_on_budget_and_limits_from_flags(recorded: Path, tmp_path: Path) -> None:
    paths = [str(recorded / "quadratic-1.json"), str(recorded / "windowed-1.json")]
    runner = CliRunner()
    passing = runner.invoke(check_command, [*paths, "-w", "quadratic_agent", "-j", "0"])
    assert passing.exit_code == 0, passing.output
    assert "History budgets: 1 history flagged" in passing.output
    assert "grows quadratically" in passing.output
    out = tmp_path / "r.json"
    failing = runner.invoke(check_command, [*paths, "-w", "quadratic_agent", "-j", "0",
                                            "--fail-on", "budget", "--json-report", str(out)])
    assert failing.exit_code == 1, failing.output
    data = json.loads(out.read_text())
    status = {r["workflow_id"]: r["status"] for r in data["results"]}
    assert status == {"quadratic-1": "divergent", "windowed-1": "clean"}
    assert data["results"][0]["budget"]["loops"][0]["first_limit"]["limit"] == "bytes"
    # A tighter cluster: the windowed loop reaches a 300-event limit within the horizon.
    tight = runner.invoke(check_command, [*paths, "-w", "quadratic_agent", "-j", "0",
                                          "--budget", "events_error=300"])
    assert "History budgets: 2 histories flagged" in tight.output, tight.output
    bad = runner.invoke(check_command, [*paths, "-w", "quadratic_agent", "--budget", "nope=1"])
    assert bad.exit_code == 2 and "unknown budget 'nope'" in bad.output


def test_measured_against_custom_limits(recorded: Path) -> None:
    limits = BudgetLimits(payload_warn=8 * 1024)
    report = check_histories([recorded / "quadratic-1.json"], workflows=["quadratic_agent"],
                             jobs=0, options=CheckOptions(budget=limits))
    budget = report.results[0].budget
    assert budget is not None
    assert any(f.limit == "payload" and f.level == "warning" for f in budget.findings)
    assert budget.largest_payload > 8 * 1024
