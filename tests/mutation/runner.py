"""Run the mutation corpus: apply each mutant to a copy of ``reference_agents`` and replay.

Each mutant gets its own temporary copy of the package (same import name) with the change
applied, and one subprocess (``_child.py``) that replays the mutant's histories three ways:
replaykit strict, replaykit ``strict=False`` (the stock verdict) and the SDK's own Replayer.
Mutants run ``jobs`` at a time (2 by default: CI machines have 2 cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._model import CATEGORIES, Mutant

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "reference_agents"
HISTORIES = REPO / "fixtures" / "histories"
#: Histories of the agents on AI-framework plugins (they replay only with their plugins).
INTEGRATION_HISTORIES = REPO / "fixtures" / "integration_histories"
CHILD = Path(__file__).with_name("_child.py")

__all__ = [
    "CorpusError",
    "Outcome",
    "Scores",
    "apply_mutant",
    "histories_for",
    "run_corpus",
    "run_mutant",
    "score",
    "score_table",
    "validate_corpus",
]


class CorpusError(Exception):
    """The corpus itself is wrong (a stale anchor, a duplicate id, an unknown category)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one mutant.

    Attributes:
        mutant: The mutant.
        skipped: Why it was not run (optional mutant without histories), else None.
        error: Why it could not be judged (history error, child crash), else None.
        replaykit: replaykit (strict, default options) failed at least one history.
        stock: The SDK's own Replayer failed at least one history.
        stock_mode: replaykit with ``strict=False`` failed at least one history.
        kinds: Every divergence kind replaykit reported (failing or not).
        causes: Every divergence cause replaykit reported.
        histories: Per-history verdicts as the child reported them.
        seconds: Wall time of the mutant's subprocess.
    """

    mutant: Mutant
    skipped: str | None = None
    error: str | None = None
    replaykit: bool = False
    stock: bool = False
    stock_mode: bool = False
    kinds: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    histories: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def replaykit_correct(self) -> bool:
        """replaykit flagged it exactly when it is labelled breaking."""
        return self.replaykit == self.mutant.breaking

    @property
    def stock_correct(self) -> bool:
        """The stock replayer flagged it exactly when it is labelled breaking."""
        return self.stock == self.mutant.breaking


def validate_corpus(mutants: Sequence[Mutant]) -> None:
    """Every id unique, every category known, every anchor present exactly once.

    Raises:
        CorpusError: listing every problem found.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        if m.category not in CATEGORIES:
            problems.append(f"{m.id}: unknown category {m.category!r}")
        if m.old == m.new:
            problems.append(f"{m.id}: old and new are the same text")
        path = AGENTS / m.file
        if not path.is_file():
            problems.append(f"{m.id}: no file reference_agents/{m.file}")
            continue
        text = path.read_text()
        for old, _new in ((m.old, m.new), *m.extra):
            count = text.count(old)
            if count != 1:
                problems.append(
                    f"{m.id}: anchor occurs {count} times in reference_agents/{m.file} "
                    f"(must be exactly once): {old[:60]!r}"
                )
    if problems:
        raise CorpusError("mutation corpus is stale:\n  " + "\n  ".join(problems))


def apply_mutant(mutant: Mutant, dest: Path) -> Path:
    """Copy ``reference_agents`` into ``dest`` and apply the mutant; returns the package dir."""
    package = dest / "reference_agents"
    shutil.copytree(AGENTS, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    path = package / mutant.file
    text = path.read_text()
    for old, new in ((mutant.old, mutant.new), *mutant.extra):
        if text.count(old) != 1:
            raise CorpusError(f"{mutant.id}: anchor not found exactly once: {old[:60]!r}")
        text = text.replace(old, new)
    compile(text, str(path), "exec")  # a mutant that does not even parse is a corpus bug
    path.write_text(text)
    return package


def histories_for(mutant: Mutant) -> list[Path]:
    """The history files the mutant's globs match (sorted, each once)."""
    found: set[Path] = set()
    for pattern in mutant.histories:
        for root in (HISTORIES, INTEGRATION_HISTORIES):
            found.update(p.resolve() for p in root.glob(pattern) if p.is_file())
    return sorted(found)


# Reference agents built on an AI framework (OpenAI Agents SDK, LangGraph, Pydantic AI): importing
# them costs seconds per child process, so a mutant of a plain agent replays without them.
FRAMEWORK_MODULES = ("openai_agents_agent", "langgraph_agent", "pydantic_ai_agent")


def workflow_modules(mutant: Mutant) -> list[str]:
    """The modules whose workflows the mutant's replays register.

    The whole package for a framework agent (or one replayed with plugins); otherwise every
    plain reference agent module that defines a workflow, so children and other workflows
    the histories start are still registered.
    """
    if mutant.plugins or Path(mutant.file).stem in FRAMEWORK_MODULES:
        return ["reference_agents"]
    return sorted(
        f"reference_agents.{path.stem}"
        for path in (REPO / "reference_agents").glob("*.py")
        if path.stem not in FRAMEWORK_MODULES and "@workflow.defn" in path.read_text()
    )


def run_mutant(
    mutant: Mutant, *, timeout: float = 300.0, extra_path: Sequence[str] = ()
) -> Outcome:
    """Apply one mutant in a temporary folder and replay its histories in a subprocess.

    Args:
        mutant: The mutant.
        timeout: Seconds before the subprocess is killed (an error outcome).
        extra_path: Folders put after the mutant and before the project on PYTHONPATH (to
            try a patched ``replaykit`` against the corpus).
    """
    paths = histories_for(mutant)
    if not paths:
        if mutant.optional:
            return Outcome(mutant, skipped=f"no history matches {list(mutant.histories)}")
        return Outcome(mutant, error=f"no history matches {list(mutant.histories)}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        root = Path(tmp)
        try:
            apply_mutant(mutant, root)
        except (CorpusError, SyntaxError) as err:
            return Outcome(mutant, error=f"cannot apply: {type(err).__name__}: {err}")
        env = dict(os.environ)
        # The mutant first, then the project (replaykit); the child is started as a script
        # from its own folder, so the working directory's reference_agents never shadows it.
        env["PYTHONPATH"] = os.pathsep.join([str(root), *extra_path, str(REPO)])
        env.pop("PYTHONSAFEPATH", None)
        try:
            proc = subprocess.run(
                [sys.executable, str(CHILD)],
                input=json.dumps(
                    {
                        "root": str(root),
                        "histories": [str(p) for p in paths],
                        "plugins": list(mutant.plugins),
                        "workflows": workflow_modules(mutant),
                    }
                ),
                capture_output=True,
                text=True,
                cwd=root,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return Outcome(mutant, error=f"replay did not finish within {timeout:g} s")
    seconds = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return Outcome(
            mutant,
            error=f"child exited {proc.returncode} without a result: {proc.stderr[-2000:]}",
            seconds=seconds,
        )
    data = json.loads(lines[-1])
    if "fatal" in data:
        return Outcome(mutant, error=data["fatal"], seconds=seconds)
    return _judge(mutant, data["histories"], seconds)


def _judge(mutant: Mutant, histories: dict[str, Any], seconds: float) -> Outcome:
    errors: list[str] = []
    kinds: set[str] = set()
    causes: set[str] = set()
    replaykit = stock = stock_mode = False
    for path, verdicts in histories.items():
        name = os.path.relpath(path, HISTORIES)
        for mode in ("strict", "stock_mode"):
            v = verdicts.get(mode)
            if v is None or v["status"] == "error":
                errors.append(f"{name} ({mode}): {v['error'] if v else 'no result'}")
        if "stock" not in verdicts:
            errors.append(f"{name} (stock): no result")
        if errors:
            continue
        strict = verdicts["strict"]
        replaykit |= strict["status"] == "divergent"
        stock_mode |= verdicts["stock_mode"]["status"] == "divergent"
        stock |= bool(verdicts["stock"]["failed"])
        for d in strict["divergences"]:
            kinds.add(d["kind"])
            causes.add(d["cause"])
    return Outcome(
        mutant,
        error="; ".join(errors) or None,
        replaykit=replaykit,
        stock=stock,
        stock_mode=stock_mode,
        kinds=tuple(sorted(kinds)),
        causes=tuple(sorted(causes)),
        histories=histories,
        seconds=seconds,
    )


def run_corpus(
    mutants: Iterable[Mutant],
    *,
    jobs: int = 2,
    on_outcome: Callable[[Outcome], None] | None = None,
    extra_path: Sequence[str] = (),
) -> list[Outcome]:
    """Validate the corpus, then run every mutant, ``jobs`` at a time; outcomes in corpus order."""
    mutants = list(mutants)
    validate_corpus(mutants)

    def one(m: Mutant) -> Outcome:
        outcome = run_mutant(m, extra_path=extra_path)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, mutants))


@dataclass(frozen=True)
class Scores:
    """Totals over a corpus run (skipped and errored mutants excluded)."""

    breaking: int
    benign: int
    caught_replaykit: int
    caught_stock: int
    false_pos_replaykit: int
    false_pos_stock: int
    skipped: int
    errors: int

    def summary(self) -> str:
        """One line: replaykit's and the stock replayer's scores side by side."""

        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.0f}%" if b else "-"

        return (
            f"breaking caught: replaykit {self.caught_replaykit}/{self.breaking} "
            f"({pct(self.caught_replaykit, self.breaking)}), stock {self.caught_stock}/"
            f"{self.breaking} ({pct(self.caught_stock, self.breaking)}); benign flagged: "
            f"replaykit {self.false_pos_replaykit}/{self.benign}, stock "
            f"{self.false_pos_stock}/{self.benign}"
        )


def score(outcomes: Sequence[Outcome]) -> Scores:
    """Count catches and false positives (skipped and errored mutants are not counted)."""
    judged = [o for o in outcomes if o.skipped is None and o.error is None]
    brk = [o for o in judged if o.mutant.breaking]
    ben = [o for o in judged if not o.mutant.breaking]
    return Scores(
        breaking=len(brk),
        benign=len(ben),
        caught_replaykit=sum(o.replaykit for o in brk),
        caught_stock=sum(o.stock for o in brk),
        false_pos_replaykit=sum(o.replaykit for o in ben),
        false_pos_stock=sum(o.stock for o in ben),
        skipped=sum(o.skipped is not None for o in outcomes),
        errors=sum(o.error is not None for o in outcomes),
    )


def score_table(outcomes: Sequence[Outcome]) -> str:
    """The per-category table: breaking caught and benign flagged, replaykit vs stock."""
    header = (
        f"{'category':<16}{'breaking':>9}{'replaykit':>11}{'stock':>7}"
        f"{'benign':>9}{'rk FP':>7}{'stock FP':>10}"
    )
    rows = [header, "-" * len(header)]
    for category in CATEGORIES:
        group = [o for o in outcomes if o.mutant.category == category]
        s = score(group)
        rows.append(
            f"{category:<16}{s.breaking:>9}{s.caught_replaykit:>11}{s.caught_stock:>7}"
            f"{s.benign:>9}{s.false_pos_replaykit:>7}{s.false_pos_stock:>10}"
        )
    total = score(outcomes)
    rows.append("-" * len(header))
    rows.append(
        f"{'total':<16}{total.breaking:>9}{total.caught_replaykit:>11}{total.caught_stock:>7}"
        f"{total.benign:>9}{total.false_pos_replaykit:>7}{total.false_pos_stock:>10}"
    )
    rows.append(total.summary())
    known = [o.mutant.id for o in outcomes if o.mutant.engine_bug and not o.replaykit]
    if known:
        rows.append(f"replaykit misses (known engine bugs, patch proposed): {', '.join(known)}")
    if total.skipped:
        skipped = ", ".join(o.mutant.id for o in outcomes if o.skipped)
        rows.append(f"skipped (no histories recorded yet): {skipped}")
    return "\n".join(rows)


def describe(outcome: Outcome) -> str:
    """One line per mutant: label, verdicts and what replaykit reported."""
    m = outcome.mutant
    label = "breaking" if m.breaking else "benign"
    if outcome.skipped:
        return f"{m.id:<38} {label:<8} skipped: {outcome.skipped}"
    if outcome.error:
        return f"{m.id:<38} {label:<8} ERROR: {outcome.error[:300]}"
    mark = "ok " if outcome.replaykit_correct else "MISS" if m.breaking else "FP "
    if m.engine_bug and not outcome.replaykit:
        mark = "MISS (known engine bug)"
    return (
        f"{m.id:<38} {label:<8} replaykit={'flag' if outcome.replaykit else 'pass':<4} "
        f"stock={'flag' if outcome.stock else 'pass':<4} {mark} "
        f"causes={','.join(outcome.causes) or '-'}"
    )
