"""prove-rollback on a real dev server with real worker subprocesses and a real SQLite world.

The reference PaymentAgentWorkflow must leave the world as it found it after a failure before
and after each step's side effect and after a cancellation at each step; a copy whose rollback
forgets ``refund_payment`` must be reported with the charge it leaves behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reference_agents.payment import SAGA, world_snapshot
from replaykit.cli.saga import command
from replaykit.record import Scenario, load_scenarios
from replaykit.sagas import Leftover, RollbackError, RollbackReport, prove_rollback
from replaykit.sagas._rollback import diff_worlds, rollback_probes
from replaykit.servers import RunningServer, ServerSpec, start_server

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "rollback"
SCENARIOS = str(DATA / "payment_rollback.py")
STEPS = ["reserve_inventory", "charge_payment", "dispatch_shipment"]
CHARGE_LEFT = {"order_id": "rollback-order-2", "amount_cents": 4200, "status": "charged"}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server(ServerSpec("embedded")) as running:
        yield running


def _scenario(name: str) -> Scenario:
    [scn] = [s for s in load_scenarios([SCENARIOS]) if s.name == name]
    return scn


def test_reference_payment_agent_leaves_no_leftovers(
    server: RunningServer, replaykit_prove_rollback: Callable[..., RollbackReport]
) -> None:
    # Through the pytest fixture: it raises AssertionError (the report) on any leftover.
    report = replaykit_prove_rollback(
        SCENARIOS,
        name="reference_payment",
        spec="reference_agents.payment:SAGA",
        snapshot="reference_agents.payment:world_snapshot",
        server=server,
    )
    assert report.ok and report.exit_code == 0 and not report.leftovers
    probes = [(r.probe.step, r.probe.phase) for r in report.runs]
    assert probes == [(s, p) for s in STEPS for p in ("before-effect", "after-effect", "cancel")]
    empty: dict[str, list[Any]] = {
        t: [] for t in ("inventory_reservations", "charges", "shipments")
    }
    for run in report.runs:
        what = run.probe.describe()
        assert run.status == "ok", what
        assert run.before == run.after == empty, what
        assert run.fault is not None and not run.fault.not_reached, what
        verdicts = {v.name: v.verdict for v in run.verdicts}
        assert verdicts["world"] == verdicts["saga"] == verdicts["replay"] == "ok", what
        [saga] = run.sagas
        assert saga.rolled_back, what
        states = {s.forward: s for s in saga.steps}
        hit = states[run.probe.step]
        earlier = STEPS[: STEPS.index(run.probe.step)]
        for name in earlier:  # applied, then undone
            assert states[name].state == "applied" and states[name].compensation_events, what
        if run.probe.phase == "before-effect":
            assert hit.state == "not_applied" and not hit.compensation_events, what
        else:
            # The step may have applied (it did, for after-effect): it was undone as well.
            assert hit.state == "maybe" and hit.compensation_events, what
        if run.probe.phase == "after-effect":
            assert run.fault.kills == 1, what  # its completion was lost with the worker
            assert verdicts["effects"] == "ok", what  # the retries did not apply it again
        if run.probe.phase == "cancel":
            assert saga.trigger and "cancel requested" in saga.trigger, what


def test_forgetful_variant_leaves_the_charge(server: RunningServer) -> None:
    # Failing dispatch (before its effect) rolls back after the charge applied: the broken
    # rollback skips refund_payment and the charge stays.
    report = prove_rollback(
        _scenario("forgetful_payment"),
        spec=SAGA,
        snapshot=world_snapshot,
        server=server,
        only=["charge_payment", "dispatch_shipment"],
        phases=["before-effect"],
        raise_on_failure=False,
    )
    by_step = {r.probe.step: r for r in report.runs}
    # The charge itself failing leaves nothing to refund: that run is clean.
    assert by_step["charge_payment"].status == "ok"
    bad = by_step["dispatch_shipment"]
    assert bad.status == "leftover"
    assert bad.leftovers == (Leftover("charges", "added", CHARGE_LEFT),)
    [line] = bad.lines
    assert line.startswith(
        "leftover after failing `dispatch_shipment` before its side effect: "
        "charges row {order_id: 'rollback-order-2', amount_cents: 4200, "
        "status: 'charged'} left behind"
    )
    assert "`refund_payment` never ran" in line
    # The reservation was released: only the charge is left.
    assert bad.after["inventory_reservations"] == [] and bad.after["charges"] == [CHARGE_LEFT]
    assert {v.name: v.verdict for v in bad.verdicts}["saga"] == "violation"
    assert not report.ok and report.exit_code == 1
    with pytest.raises(RollbackError, match="charges row"):
        prove_rollback(
            _scenario("forgetful_payment"),
            spec=SAGA,
            snapshot=world_snapshot,
            server=server,
            only=["dispatch_shipment"],
            phases=["before-effect"],
        )


def test_cli_reports_the_forgotten_refund_with_exit_1(server: RunningServer) -> None:
    # After the charge applied and its completion was lost, the workflow sees a timeout and
    # rolls back; the forgetful rollback still skips the refund.
    result = CliRunner().invoke(
        command,
        [
            "prove-rollback",
            SCENARIOS,
            "-k",
            "forgetful_payment",
            "--spec",
            "reference_agents.payment:SAGA",
            "--snapshot",
            "reference_agents.payment:world_snapshot",
            "--at",
            "charge_payment",
            "--phase",
            "after-effect",
            "--server",
            server.address,
            "--json",
        ],
    )
    assert result.exit_code == 1, result.output
    [report] = json.loads(result.output)
    [run] = report["runs"]
    assert run["probe"] == "failing `charge_payment` after its side effect"
    assert run["status"] == "leftover"
    assert run["leftovers"] == [
        {"table": "charges", "change": "added", "row": CHARGE_LEFT, "before": None}
    ]
    assert "`charge_payment` may have applied" in run["lines"][0]
    assert run["after"]["inventory_reservations"] == []


def test_cli_usage_errors_exit_2() -> None:
    runner = CliRunner()
    base = [
        "prove-rollback",
        SCENARIOS,
        "-k",
        "reference_payment",
        "--snapshot",
        "reference_agents.payment:world_snapshot",
    ]
    assert runner.invoke(command, base).exit_code == 2  # no saga given
    bad_snapshot = [
        "prove-rollback",
        SCENARIOS,
        "--spec",
        "reference_agents.payment:SAGA",
        "--snapshot",
        "reference_agents.payment:no_such_function",
    ]
    result = runner.invoke(command, bad_snapshot)
    assert result.exit_code == 2 and "no attribute 'no_such_function'" in result.output
    result = runner.invoke(
        command, [*base, "--spec", "reference_agents.payment:SAGA", "--at", "ship_it"]
    )
    assert result.exit_code == 2 and "not a forward step" in result.output
    result = runner.invoke(
        command, [*base, "--spec", "reference_agents.payment:SAGA", "-k", "no_such_scenario"]
    )
    assert result.exit_code == 2 and "no scenario matched" in result.output


def test_diff_worlds_counts_rows_and_ignores_residue() -> None:
    row = {"order_id": "o-1", "status": "charged"}
    before = {"charges": [row], "audit": [], "stock": 10}
    after = {"charges": [row, row], "audit": [{"event": "charged"}], "stock": 8, "new": [1]}
    found = diff_worlds(before, after, ignore=["audit"])
    assert found == [
        Leftover("charges", "added", row),
        Leftover("new", "added", 1),
        Leftover("stock", "changed", 8, before=10),
    ]
    assert diff_worlds(after, before, ignore=["audit", "stock", "new"]) == [
        Leftover("charges", "removed", row)
    ]
    assert diff_worlds({"t": [row, {"a": 1}]}, {"t": [{"a": 1}, row]}) == []
    probes = rollback_probes(SAGA, phases=["cancel"], only=["charge_payment"])
    assert [(p.step, p.compensation, p.phase) for p in probes] == [
        ("charge_payment", "refund_payment", "cancel")
    ]
