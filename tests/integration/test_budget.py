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

from replaykit.check import CheckOptions, check_histories
from replaykit.check._budget import BudgetLimits, format_budget
from replaykit.cli.check import command as check_command
from replaykit.record import load_scenarios, record_scenarios_async
from replaykit.servers import parse_server, start_server_async

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
            report = await record_scenarios_async([scn], client, out_dir=out)
            assert report.ok, [s.error for s in report.scenarios]

    asyncio.run(main())
    return out / "chat_loops"


def test_quadratic_agent_loop_is_flagged_with_its_projection(recorded: Path) -> None:
    report = check_histories([recorded / "quadratic-1.json"], workflows=["quadratic_agent"], jobs=0)
    (result,) = report.results
    assert result.status == "clean"  # report-only by default
    budget = result.budget
    assert budget is not None
    (loop,) = [lp for lp in budget.loops if lp.subject == "call_llm"]
    assert loop.iterations == 30 and loop.quadratic and not loop.continues_as_new
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
    report = check_histories([recorded / "windowed-1.json"], workflows=["quadratic_agent"], jobs=0)
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
    failing = runner.invoke(
        check_command,
        [
            *paths,
            "-w",
            "quadratic_agent",
            "-j",
            "0",
            "--fail-on",
            "budget",
            "--json-report",
            str(out),
        ],
    )
    assert failing.exit_code == 1, failing.output
    data = json.loads(out.read_text())
    status = {r["workflow_id"]: r["status"] for r in data["results"]}
    assert status == {"quadratic-1": "divergent", "windowed-1": "clean"}
    assert data["results"][0]["budget"]["loops"][0]["first_limit"]["limit"] == "bytes"
    # A tighter cluster: the windowed loop reaches a 300-event limit within the horizon.
    tight = runner.invoke(
        check_command, [*paths, "-w", "quadratic_agent", "-j", "0", "--budget", "events_error=300"]
    )
    assert "History budgets: 2 histories flagged" in tight.output, tight.output
    bad = runner.invoke(check_command, [*paths, "-w", "quadratic_agent", "--budget", "nope=1"])
    assert bad.exit_code == 2 and "unknown budget 'nope'" in bad.output


def test_measured_against_custom_limits(recorded: Path) -> None:
    limits = BudgetLimits(payload_warn=8 * 1024)
    report = check_histories(
        [recorded / "quadratic-1.json"],
        workflows=["quadratic_agent"],
        jobs=0,
        options=CheckOptions(budget=limits),
    )
    budget = report.results[0].budget
    assert budget is not None
    assert any(f.limit == "payload" and f.level == "warning" for f in budget.findings)
    assert budget.largest_payload > 8 * 1024


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference support agent (12 turns, continue-as-new every 3, LLM from the scripted
    local endpoint) and monitoring agent (60 checks, continue-as-new past 40 events)."""
    import os

    out = tmp_path_factory.mktemp("long")
    cassettes = tmp_path_factory.mktemp("cassettes")
    (support,) = load_scenarios([DATA / "support_long.py"])
    (monitoring,) = load_scenarios([DATA / "monitoring_long.py"])
    saved = {k: os.environ.get(k) for k in ("REPLAYKIT_RECORD_CASSETTES", "REPLAYKIT_CASSETTE_DIR")}
    os.environ.update(REPLAYKIT_RECORD_CASSETTES="scripted", REPLAYKIT_CASSETTE_DIR=str(cassettes))

    async def main(scn: object, kind: str) -> None:
        async with await start_server_async(parse_server(kind)) as server:
            report = await record_scenarios_async([scn], await server.client(), out_dir=out)  # type: ignore[list-item]
            assert report.ok, [s.error for s in report.scenarios]

    try:
        asyncio.run(main(support, "embedded"))
        asyncio.run(main(monitoring, "timeskip"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return out


def _chain_report(folder: Path) -> list:
    report = check_histories([folder], workflows=["reference_agents"], jobs=0)
    assert report.exit_code == 0, [r.describe() for r in report.results]
    by_run = sorted(report.results, key=lambda r: r.budget.chain_runs if r.budget else 0)
    return [r.budget for r in by_run]


def test_support_agent_conversation_grows_through_continue_as_new(long_runs: Path) -> None:
    budgets = _chain_report(long_runs / "support_long")
    last = budgets[-1]
    assert last.chain_runs == 5 and not last.flagged
    (reply,) = [lp for lp in last.loops if lp.subject == "generate_support_reply"]
    assert reply.iterations == 12 and reply.quadratic and reply.continues_as_new
    assert reply.growing_argument == "args[0]['memory']" and reply.items_growth == 2.0
    assert 150 < reply.input_growth < 400  # a question and a reply per turn
    assert reply.iterations_left["events"] is None  # continue-as-new bounds the events...
    assert reply.first_limit()[0] == "payload"  # ...but not the memory it carries
    (chain,) = [lp for lp in last.loops if lp.kind == "chain"]
    assert chain.quadratic and chain.first_limit()[0] == "payload"
    # Each run's history is larger than the one before (the whole memory is resent).
    sizes = [b.bytes for b in budgets[:4]]
    assert sizes == sorted(sizes) and sizes[-1] > 2 * sizes[0]
    print("\n".join(line for b in budgets for line in format_budget(b)))


def test_monitoring_agent_is_kept_bounded_by_continue_as_new(long_runs: Path) -> None:
    budgets = _chain_report(long_runs / "monitoring_long")
    last = budgets[-1]
    assert last.chain_runs > 5 and not any(b.flagged for b in budgets)
    assert max(b.events for b in budgets) < 80  # continue-as-new past 40 events
    (check,) = [lp for lp in last.loops if lp.subject == "run_monitoring_check"]
    assert check.iterations == 60 and check.continues_as_new and not check.quadratic
    assert check.first_limit() is None
    print("\n".join(line for b in budgets[-1:] for line in format_budget(b)))
