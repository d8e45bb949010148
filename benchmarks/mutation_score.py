"""Mutation score: replaykit vs the stock replayer on labelled changes to the reference agents.

Every mutant of ``tests/mutation/corpus.py`` (labelled breaking or benign before it is run) is
applied to a copy of ``reference_agents`` and its recorded histories are replayed against it by
replaykit (strict, default options) and by the SDK's own ``Replayer``. Prints one line per
mutant, then the per-category table: breaking mutants caught, benign mutants flagged.

Usage: ``python benchmarks/mutation_score.py [--jobs N] [--json FILE] [--quiet]
[--only ID ...] [--extra-path DIR]``. ``--only`` runs the named mutants and prints every
divergence per history (a reproduction); ``--extra-path`` puts a folder holding a patched
``replaykit`` package before the project's (to try an engine fix against the corpus).
Exit code 0 when every verdict is as labelled (known engine bugs missed as recorded), else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mutation.corpus import MUTANTS  # noqa: E402
from tests.mutation.runner import Outcome, describe, run_corpus, score_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants replayed at once")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    parser.add_argument("--quiet", action="store_true", help="only the table")
    parser.add_argument("--only", action="append", default=[], help="run only this mutant id")
    parser.add_argument(
        "--extra-path", action="append", default=[], help="PYTHONPATH before the project"
    )
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.id in args.only]
    unknown = set(args.only) - {m.id for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutant ids: {sorted(unknown)}")

    started = time.perf_counter()

    def progress(outcome: Outcome) -> None:
        if not args.quiet:
            print(describe(outcome), flush=True)

    outcomes = run_corpus(mutants, jobs=args.jobs, on_outcome=progress, extra_path=args.extra_path)
    if args.only:
        for o in outcomes:
            print(f"\n== {o.mutant.id}: {o.mutant.why}")
            for path, verdicts in o.histories.items():
                print(
                    f"  {Path(path).name}: replaykit {verdicts['strict']['status']}, "
                    f"stock {'failed' if verdicts['stock']['failed'] else 'passed'}"
                )
                for d in verdicts["strict"]["divergences"]:
                    print(f"    [{d['kind']}] {d['cause']}: {d['message']}")
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
    as_labelled = all(
        o.skipped
        or (o.error is None and o.replaykit == (o.mutant.breaking and not o.mutant.engine_bug))
        for o in outcomes
    )
    return 0 if as_labelled else 1


if __name__ == "__main__":
    sys.exit(main())
