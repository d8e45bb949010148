"""The mutation corpus: replaykit flags every breaking mutant and no benign one.

Runs every mutant of :mod:`tests.mutation.corpus` (about 130, two at a time; ~1.5 minutes on
2 cores) against its recorded histories, with replaykit's strict check and with the SDK's own
Replayer. No Temporal server is needed: replay runs the workflow code only. The score table
(replaykit vs stock) is printed in the terminal summary and included in every failure message.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .corpus import CATEGORIES, MUTANTS
from .runner import Outcome, describe, run_corpus, score, score_table, validate_corpus

# The corpus runs in the first test's fixture: ~5 min on 2 idle cores, far more on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return run_corpus(MUTANTS, jobs=2)


@pytest.fixture(scope="module")
def table(outcomes: list[Outcome]) -> str:
    return score_table(outcomes)


def _lines(items: list[Outcome]) -> str:
    return "\n".join(describe(o) for o in items)


def test_corpus_is_well_formed() -> None:
    validate_corpus(MUTANTS)
    required = [m for m in MUTANTS if not m.optional]
    breaking = [m for m in required if m.breaking]
    benign = [m for m in required if not m.breaking]
    assert len(breaking) >= 30, f"only {len(breaking)} breaking mutants"
    assert len(benign) >= 20, f"only {len(benign)} benign mutants"
    for category in CATEGORIES:
        assert any(m.category == category for m in required), f"no mutant for {category}"
        if category != "refactor":  # a refactor is benign by definition
            assert any(m.category == category and m.breaking for m in required), (
                f"no breaking mutant for {category}"
            )
    for m in MUTANTS:
        if m.engine_bug:
            assert m.breaking, f"{m.id}: engine_bug only makes sense on a breaking mutant"


def test_every_mutant_was_judged(
    outcomes: list[Outcome], table: str, record_property: Callable[[str, object], None]
) -> None:
    record_property("mutation_score_table", table)
    broken = [o for o in outcomes if o.error]
    assert not broken, f"mutants that could not be judged:\n{_lines(broken)}\n\n{table}"
    skipped = [o for o in outcomes if o.skipped]
    assert all(o.mutant.optional for o in skipped)


def test_replaykit_flags_every_breaking_mutant(outcomes: list[Outcome], table: str) -> None:
    missed = [
        o
        for o in outcomes
        if o.mutant.breaking and not o.mutant.engine_bug and not o.skipped and not o.replaykit
    ]
    assert not missed, f"replaykit missed breaking mutants:\n{_lines(missed)}\n\n{table}"


def test_replaykit_flags_no_benign_mutant(outcomes: list[Outcome], table: str) -> None:
    flagged = [o for o in outcomes if not o.mutant.breaking and not o.skipped and o.replaykit]
    detail = "\n".join(f"{describe(o)}\n    {o.histories}" for o in flagged)
    assert not flagged, f"replaykit flagged benign mutants:\n{detail}\n\n{table}"


def test_known_engine_bugs_are_still_missed(outcomes: list[Outcome], table: str) -> None:
    # Strict on purpose: when the engine is fixed this fails, and the marker must go.
    fixed = [o for o in outcomes if o.mutant.engine_bug and not o.skipped and o.replaykit]
    assert not fixed, (
        "these engine bugs are fixed: remove `engine_bug=` from the mutants:\n"
        f"{_lines(fixed)}\n\n{table}"
    )


def test_expected_divergence_kinds_are_reported(outcomes: list[Outcome], table: str) -> None:
    wrong = [
        o
        for o in outcomes
        if o.mutant.expect_kind
        and not o.mutant.engine_bug
        and not o.skipped
        and o.mutant.expect_kind not in o.kinds
    ]
    detail = "\n".join(
        f"{describe(o)} (expected a {o.mutant.expect_kind} divergence, got {list(o.kinds)})"
        for o in wrong
    )
    assert not wrong, f"{detail}\n\n{table}"


def test_option_changes_are_reported_but_pass(outcomes: list[Outcome], table: str) -> None:
    options = [o for o in outcomes if o.mutant.expect_kind == "option-change" and not o.skipped]
    assert len(options) >= 5, table
    for o in options:
        assert not o.mutant.breaking
        assert "option-change" in o.kinds, f"{describe(o)}\n\n{table}"
        assert not o.replaykit, f"{describe(o)}: an option change failed the check\n\n{table}"


def test_stock_mode_is_the_sdk_replayers_verdict(outcomes: list[Outcome], table: str) -> None:
    # CheckOptions(strict=False) claims to be the stock verdict: it must agree with the SDK's
    # own Replayer on every mutant.
    differ = [o for o in outcomes if not o.skipped and o.stock_mode != o.stock]
    detail = "\n".join(f"{describe(o)} stock_mode={o.stock_mode}" for o in differ)
    assert not differ, f"{detail}\n\n{table}"


def test_replaykit_beats_the_stock_replayer(outcomes: list[Outcome], table: str) -> None:
    s = score(outcomes)
    # The corpus exists to show what the stock replayer misses; if it caught as much, the
    # corpus (or the claim) would be wrong.
    assert s.caught_stock < s.caught_replaykit, table
    assert s.false_pos_stock == 0, f"the stock replayer failed a benign mutant\n\n{table}"
