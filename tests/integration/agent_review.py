"""A reviewed agent change: caught once with an agent-level explanation, allowed by exactly
its own cause (``--allow prompt``), and by nothing else.

Shared by the per-integration tests (``test_agent_<name>.py``); builds on
:mod:`agent_support`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replaykit.check._report import format_result_line
from replaykit.integrations._agents import AGENT_CAUSES

from .agent_support import check_agent

__all__ = ["reviewed_change"]


def reviewed_change(history: Path, module: str, cause: str, *, integration: str, agent: str) -> Any:
    """Check ``module`` against ``history``: one finding, of ``cause``, naming the agent and
    the integration; clean with ``allow=(cause,)``, divergent with every other agent cause
    allowed. Returns the finding."""
    _, result = check_agent(history, module)
    assert result.status == "divergent", format_result_line(result)
    by_cause: dict[str, list[Any]] = {}
    for d in result.divergences:
        by_cause.setdefault(d.cause, []).append(d)
    # one finding per model call that changed, all of this cause, and nothing else
    assert set(by_cause) == {cause}, format_result_line(result)
    calls = [d.event_id for d in by_cause[cause]]
    assert len(calls) == len(set(calls)), format_result_line(result)
    first = by_cause[cause][0]
    assert (first.integration, first.agent) == (integration, agent), format_result_line(result)
    assert f"{_who(agent)} ({integration}): " in first.message, first.message
    _, allowed = check_agent(history, module, allow=(cause,))
    assert allowed.status == "clean", format_result_line(allowed)
    assert {d.cause for d in allowed.allowed} == {cause}
    others = tuple(sorted(AGENT_CAUSES - {cause}))
    _, other = check_agent(history, module, allow=others)
    assert other.status == "divergent", (others, format_result_line(other))
    return first


def _who(agent: str) -> str:
    if agent.startswith("workflow "):
        return f"the agent in {agent}"
    return agent if agent.startswith("graph ") else f"agent {agent!r}"
