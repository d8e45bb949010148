"""`make bench`: every benchmark, each comparing against the stock SDK in the same run.

Runs, in order: check throughput + long history (check_throughput.py), the verdict
cache's re-check of an unchanged and of a one-module-edited corpus (verdict_cache.py), check
throughput on plugin (AI-integration) histories vs ``Replayer(plugins=...)``
(plugin_throughput.py), a cluster's executions via pull + check vs shadow vs the stock SDK
(shadow_throughput.py, with --on-temporal on 1 and 2 workers), the on-Temporal coordinator's
bound over 5,000 executions (shadow_coordinator.py), crash-recovery cost (crash_recovery.py), the mutation score
(mutation_score.py) and the cost of ``pytest --replaykit-harvest`` on a suite
(harvest_overhead.py). Extra arguments are not forwarded; run a script directly for its
options.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = [
    ["check_throughput.py"],
    ["verdict_cache.py"],
    ["plugin_throughput.py"],
    ["shadow_throughput.py"],
    ["shadow_coordinator.py"],
    ["crash_recovery.py"],
    ["mutation_score.py", "--quiet"],
    ["harvest_overhead.py"],
]


def main() -> int:
    failed = []
    for step in STEPS:
        print(f"\n##### {' '.join(step)}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / step[0]), *step[1:]], cwd=HERE.parent)
        if code != 0:
            failed.append((step[0], code))
    if failed:
        print(f"\nfailed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
