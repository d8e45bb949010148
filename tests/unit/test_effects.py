"""The effects ledger on a real SQLite file, with real processes for kills and races."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest

from replaykit import ConfigError
from replaykit.effects import EffectsError, EffectsLedger, current_slot, idempotent, verify_effects


@pytest.fixture
def ledger(tmp_path: Path) -> EffectsLedger:
    led = EffectsLedger(tmp_path / "ledger.db")
    conn = led.connect()
    conn.execute("CREATE TABLE charges (order_id TEXT, amount INTEGER)")
    conn.close()
    return led


def charges(led: EffectsLedger) -> list[tuple[str, int]]:
    conn = led.connect()
    try:
        return conn.execute("SELECT order_id, amount FROM charges ORDER BY rowid").fetchall()
    finally:
        conn.close()


def charge_once(led: EffectsLedger, order_id: str) -> bool:
    with led.once(order_id, effect="charge") as slot:
        if slot.fresh:
            slot.conn.execute("INSERT INTO charges VALUES (?, ?)", (order_id, 500))
        return slot.fresh


def test_once_applies_an_effect_once_per_key(ledger: EffectsLedger) -> None:
    assert charge_once(ledger, "order-1") is True
    assert charge_once(ledger, "order-1") is False
    assert charge_once(ledger, "order-2") is True
    assert charges(ledger) == [("order-1", 500), ("order-2", 500)]
    assert [(a.key, a.status) for a in ledger.attempts()] == [
        ("order-1", "applied"),
        ("order-1", "skipped"),
        ("order-2", "applied"),
    ]
    report = ledger.verify(expect_once=[("charge", "order-1"), ("charge", "order-2")])
    assert report.ok and report.applied_count("charge", "order-1") == 1


def test_effects_are_scoped_by_name(ledger: EffectsLedger) -> None:
    with ledger.once("order-1", effect="charge") as a:
        assert a.fresh
    with ledger.once("order-1", effect="refund") as b:
        assert b.fresh


def test_a_failing_block_rolls_back_the_effect_and_logs_the_failure(
    ledger: EffectsLedger,
) -> None:
    with pytest.raises(RuntimeError), ledger.once("order-1", effect="charge") as slot:
        slot.conn.execute("INSERT INTO charges VALUES ('order-1', 500)")
        raise RuntimeError("card declined")
    assert charges(ledger) == []
    (attempt,) = ledger.attempts()
    assert attempt.status == "failed" and attempt.error == "RuntimeError: card declined"
    assert charge_once(ledger, "order-1") is True  # the key is still free


def test_result_is_kept_for_duplicates(ledger: EffectsLedger) -> None:
    with ledger.once("order-1", effect="charge") as slot:
        slot.result = {"charge_id": "ch_1"}
    with ledger.once("order-1", effect="charge") as slot:
        assert not slot.fresh and slot.result == {"charge_id": "ch_1"}
        assert slot.applied_by == ledger.attempts()[0].id


def test_record_does_not_deduplicate_and_the_verifier_reports_it(
    ledger: EffectsLedger,
) -> None:
    for _ in range(2):
        with ledger.record("order-1", effect="charge") as slot:
            assert slot.fresh
            slot.conn.execute("INSERT INTO charges VALUES ('order-1', 500)")
    assert len(charges(ledger)) == 2
    with pytest.raises(EffectsError) as caught:
        ledger.verify()
    (violation,) = caught.value.report.violations
    assert violation.kind == "duplicate"
    assert violation.message == (
        "effect not exactly once: effect `charge` applied key order-1 twice: "
        "ledger entry 1 (applied), ledger entry 2 (applied)"
    )
    report = verify_effects(ledger.path, raise_on_failure=False)
    assert not report.ok and report.format() == violation.message


def _killed_mid_effect(path: str) -> None:
    led = EffectsLedger(path)
    with led.once("order-1", effect="charge") as slot:
        slot.conn.execute("INSERT INTO charges VALUES ('order-1', 500)")
        os._exit(9)  # killed before the transaction commits


def test_a_killed_attempt_counts_as_maybe_applied_never_as_not_applied(
    ledger: EffectsLedger,
) -> None:
    proc = multiprocessing.get_context("spawn").Process(
        target=_killed_mid_effect, args=(str(ledger.path),)
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9
    (killed,) = ledger.attempts()
    assert killed.status == "started" and killed.maybe_applied
    assert killed.pid == proc.pid
    # Expected once: the maybe-applied attempt may be the one, so it is not "missing".
    assert ledger.verify(expect_once=[("charge", "order-1")]).ok
    # A later attempt applies; together with the maybe, the outcome is indeterminate.
    assert charge_once(ledger, "order-1") is True
    report = ledger.verify()
    assert report.ok and report.indeterminate == (("charge", "order-1"),)
    with ledger.record("order-1", effect="charge"):
        pass
    with pytest.raises(EffectsError, match=r"maybe applied: started, never finished"):
        ledger.verify()


def test_expected_effect_that_never_applied_is_reported(ledger: EffectsLedger) -> None:
    with pytest.raises(RuntimeError), ledger.once("order-9", effect="charge"):
        raise RuntimeError("declined")
    report = ledger.verify(expect_once=[("charge", "order-9")], raise_on_failure=False)
    (violation,) = report.violations
    assert violation.kind == "missing"
    assert violation.message == (
        "effect not exactly once: effect `charge` never applied key order-9: "
        "ledger entry 1 (failed: RuntimeError: declined)"
    )


def _race(path: str, barrier: object, results: object) -> None:
    led = EffectsLedger(path)
    barrier.wait()  # type: ignore[attr-defined]
    results.put(charge_once(led, "order-1"))  # type: ignore[attr-defined]


def test_concurrent_processes_apply_a_key_exactly_once(ledger: EffectsLedger) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(ledger.path), barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert sorted(outcomes) == [False, False, False, True]
    assert charges(ledger) == [("order-1", 500)]
    assert ledger.verify().ok


def test_ledger_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLAYKIT_LEDGER", raising=False)
    with pytest.raises(ConfigError, match="REPLAYKIT_LEDGER"):
        EffectsLedger()
    monkeypatch.setenv("REPLAYKIT_LEDGER", str(tmp_path / "env.db"))
    led = EffectsLedger()
    assert led.path == tmp_path / "env.db"
    conn = sqlite3.connect(led.path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_effect_name_is_required_outside_an_activity(ledger: EffectsLedger) -> None:
    with pytest.raises(ConfigError, match="effect="), ledger.once("k"):
        pass


def test_idempotent_decorator_runs_once_and_replays_the_result(ledger: EffectsLedger) -> None:
    calls: list[str] = []

    @idempotent(key=lambda order_id: f"{order_id}:charge", ledger=ledger)
    def charge(order_id: str) -> str:
        calls.append(order_id)
        current_slot().conn.execute("INSERT INTO charges VALUES (?, 700)", (order_id,))
        return f"ch-{order_id}"

    assert charge("o1") == "ch-o1"
    assert charge("o1") == "ch-o1"
    assert calls == ["o1"]
    assert charges(ledger) == [("o1", 700)]
    assert [a.effect for a in ledger.attempts()] == ["charge", "charge"]


async def test_idempotent_decorator_on_async_functions(ledger: EffectsLedger) -> None:
    calls: list[str] = []

    @idempotent(key=lambda order_id: order_id, effect="mail", ledger=lambda: ledger)
    async def send_mail(order_id: str) -> int:
        calls.append(order_id)
        return len(calls)

    assert await send_mail("o1") == 1
    assert await send_mail("o1") == 1
    assert await send_mail("o2") == 2
    assert calls == ["o1", "o2"]
