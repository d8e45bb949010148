"""Readable and JSON reports of fault runs and explorations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._runner import FaultRunResult

__all__ = ["format_result", "result_to_json"]

_MARK = {"ok": "ok  ", "violation": "FAIL", "skipped": "skip"}


def format_result(result: FaultRunResult, *, header: str | None = None) -> str:
    """Multi-line text: the plan, what was injected, each invariant's verdict, reproduce."""
    lines = [header or f"{result.scenario}: {result.plan.describe()}"]
    if result.error:
        lines.append(f"  ERROR {result.error}")
    for item in result.injected:
        lines.append(f"  injected {item}")
    for item in result.not_reached:
        lines.append(f"  not reached {item}")
    if result.recoveries:
        rec = ", ".join(f"{r * 1000:.0f} ms" for r in result.recoveries)
        lines.append(f"  recovery after kill: {rec}")
    for v in result.verdicts:
        lines.append(f"  [{_MARK[v.verdict]}] {v.name}: {v.message}")
        if v.verdict == "violation":
            for extra in v.details[1:]:
                lines.append(f"         {extra}")
    if not result.ok and result.reproduce:
        lines.append(f"  minimal failing plan: {result.plan.dumps()}")
        lines.append(f"  reproduce: {result.reproduce}")
    lines.append(f"  ({result.seconds:.1f} s)")
    return "\n".join(lines)


def result_to_json(result: FaultRunResult) -> dict[str, Any]:
    """A JSON-ready dict of one run."""
    return {
        "scenario": result.scenario,
        "plan": result.plan.to_json(),
        "ok": result.ok,
        "error": result.error,
        "injected": list(result.injected),
        "not_reached": list(result.not_reached),
        "kills": result.kills,
        "recoveries": list(result.recoveries),
        "verdicts": [
            {"name": v.name, "verdict": v.verdict, "message": v.message, "details": list(v.details)}
            for v in result.verdicts
        ],
        "seconds": round(result.seconds, 3),
        "reproduce": result.reproduce,
    }


def exit_code(results: Sequence[FaultRunResult], *, errors: Sequence[str] = ()) -> int:
    """2 when any run could not be carried out, else 1 on any violation, else 0."""
    if errors or any(r.error for r in results):
        return 2
    return 1 if any(not r.ok for r in results) else 0
