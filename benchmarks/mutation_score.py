"""Mutation score: replaykit vs the stock replayer on labelled changes to the reference agents.

Every mutant of ``tests/mutation/corpus.py`` (labelled breaking or benign before it is run) is
applied to a copy of ``reference_agents`` and its recorded histories are replayed against it by
replaykit (strict, default options) and by the SDK's own ``Replayer``. Prints one line per
mutant, then the per-category table: breaking mutants caught, benign mutants flagged.

Usage: ``python benchmarks/mutation_score.py [--jobs N] [--json FILE] [--quiet]``.
Exit code 0 when replaykit flags every breaking mutant and no benign one, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mutation.corpus import MUTANTS  # noqa: E402
from tests.mutation.runner import Outcome, describe, run_corpus, score, score_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants replayed at once")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    parser.add_argument("--quiet", action="store_true", help="only the table")
    args = parser.parse_args(argv)

    started = time.perf_counter()

    def progress(outcome: Outcome) -> None:
        if not args.quiet:
            print(describe(outcome), flush=True)

    outcomes = run_corpus(MUTANTS, jobs=args.jobs, on_outcome=progress)
    elapsed = time.perf_counter() - started
    print()
    print(score_table(outcomes))
    print(f"{len(outcomes)} mutants in {elapsed:.1f} s with {args.jobs} jobs")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "id": o.mutant.id,
                        "category": o.mutant.category,
                        "breaking": o.mutant.breaking,
                        "replaykit": o.replaykit,
                        "stock": o.stock,
                        "stock_mode": o.stock_mode,
                        "kinds": list(o.kinds),
                        "causes": list(o.causes),
                        "skipped": o.skipped,
                        "error": o.error,
                        "seconds": round(o.seconds, 3),
                    }
                    for o in outcomes
                ],
                indent=2,
            )
        )
    s = score(outcomes)
    perfect = (
        s.errors == 0
        and s.caught_replaykit == s.breaking
        and s.false_pos_replaykit == 0
    )
    return 0 if perfect else 1


if __name__ == "__main__":
    sys.exit(main())
