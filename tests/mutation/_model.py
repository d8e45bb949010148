"""The data model of the mutation corpus (kept apart so the corpus file is pure data)."""

from __future__ import annotations

from dataclasses import dataclass

#: Every category the corpus must cover (the issue's list).
CATEGORIES: tuple[str, ...] = (
    "argument",
    "prompt",
    "tool-list",
    "timer",
    "child",
    "continue-as-new",
    "result",
    "signal",
    "reorder",
    "add/remove",
    "option",
    "refactor",
    "model-settings",
    "handoff",
)


@dataclass(frozen=True)
class Mutant:
    """One labelled change to one reference agent module.

    Attributes:
        id: Unique, stable name.
        category: One of :data:`CATEGORIES`.
        breaking: The label, fixed before running: True when a recorded execution would now
            do something else (different commands or command values), False for a refactor
            whose commands are identical for every recorded history it is checked against.
        file: Path of the mutated module, relative to ``reference_agents/``.
        old: Anchor text; must occur exactly once in ``file``.
        new: Replacement text.
        histories: Glob(s) under ``fixtures/histories`` of the histories to replay.
        expect_kind: A divergence kind that must be reported for this mutant (for breaking
            mutants the kind that flags it; for benign option changes ``option-change``,
            reported but passing).
        why: One line on why the label is what it is.
        optional: Skip (and say so) when ``histories`` match no file yet.
        extra: Further ``(old, new)`` edits in the same file that keep the mutant importable
            (a helper or an import the change uses); each anchor must occur exactly once.
        plugins: ``module:attr`` plugin references the replayers get (the agents built on
            Temporal's AI-framework integrations replay only with their plugin).
        engine_bug: Set on a breaking mutant replaykit is known to miss: what is wrong in the
            engine. The test then asserts it is *still* missed, so the marker must be removed
            (and the mutant counts as caught) once the engine is fixed.
    """

    id: str
    category: str
    breaking: bool
    file: str
    old: str
    new: str
    histories: tuple[str, ...]
    expect_kind: str | None = None
    why: str = ""
    optional: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    engine_bug: str | None = None
    plugins: tuple[str, ...] = ()
