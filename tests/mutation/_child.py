"""Replay histories against a mutated copy of ``reference_agents`` (run in a subprocess).

Reads ``{"root": ..., "histories": [...], "plugins": [...], "workflows": [...]}`` on stdin; ``root`` holds the
mutated ``reference_agents`` package and must come first on ``sys.path`` (PYTHONPATH);
``plugins`` are ``module:attr`` plugin references every replayer gets (as production workers
of the agents built on Temporal's AI-framework integrations do); ``workflows`` the modules
whose workflows are registered (default: the whole ``reference_agents`` package). Writes one JSON
object on stdout with three verdicts per history:

* ``strict``: replaykit's default check (``CheckOptions(strict=True)``);
* ``stock_mode``: replaykit with ``CheckOptions(strict=False)`` (the stock replayer's verdict);
* ``stock``: the SDK's own ``temporalio.worker.Replayer``, untouched, as a cross-check.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from typing import Any


def _main() -> dict[str, Any]:
    spec = json.load(sys.stdin)
    root = os.path.realpath(spec["root"])
    import reference_agents

    where = os.path.realpath(reference_agents.__file__)
    if not where.startswith(root + os.sep):
        raise RuntimeError(f"reference_agents imported from {where}, not from the mutant in {root}")

    import temporalio.worker

    from replaykit.check import CheckOptions, check_histories, collect_workflows
    from replaykit.history import load_history
    from replaykit.integrations import load_plugins

    paths: list[str] = spec["histories"]
    plugins: list[str] = spec.get("plugins", [])
    modules: list[str] = spec.get("workflows", ["reference_agents"])
    out: dict[str, Any] = {"histories": {p: {} for p in paths}}
    for mode, strict in (("strict", True), ("stock_mode", False)):
        report = check_histories(
            paths,
            workflows=modules,
            options=CheckOptions(strict=strict, cache=False, plugins=tuple(plugins)),
            jobs=0,
        )
        for r in report.results:
            entry = out["histories"].setdefault(r.path or "?", {})
            entry[mode] = {
                "status": r.status,
                "error": r.error,
                "stock_error": r.stock_error,
                "divergences": [
                    {"kind": d.kind, "cause": d.cause, "message": d.message} for d in r.divergences
                ],
            }

    workflows = collect_workflows(modules)
    loaded = {p: load_history(p) for p in paths}

    async def stock() -> dict[str, str | None]:
        replayer = temporalio.worker.Replayer(workflows=workflows, plugins=load_plugins(plugins))
        order = list(loaded)
        found: dict[str, str | None] = {}

        async def histories() -> Any:
            for p in order:
                yield loaded[p].to_workflow_history()

        async with replayer.workflow_replay_iterator(histories()) as results:
            index = 0
            async for result in results:  # one result per history, in input order
                failure = result.replay_failure
                found[order[index]] = (
                    f"{type(failure).__name__}: {failure}"[:500] if failure is not None else None
                )
                index += 1
        return found

    for path, failure in asyncio.run(stock()).items():
        out["histories"][path]["stock"] = {"failed": failure is not None, "error": failure}
    return out


if __name__ == "__main__":
    try:
        result = _main()
    except BaseException:  # report anything, so the corpus runner can show it
        result = {"fatal": traceback.format_exc()}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # The SDK runtime can crash at interpreter exit (DESIGN.md): leave without finalizers.
    os._exit(0)
