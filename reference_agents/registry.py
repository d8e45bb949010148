"""Every reference agent module, and their workflows and activities merged (deduplicated)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

AGENT_MODULES = [
    "reference_agents.research",
    "reference_agents.monitoring",
    "reference_agents.weekly",
    "reference_agents.approval",
    "reference_agents.planner",
    "reference_agents.support",
    "reference_agents.openai_agent",
    "reference_agents.versioned",
]
#: Agent modules written elsewhere; hosted when present.
OPTIONAL_MODULES = ["reference_agents.payment"]


def agent_modules() -> list[ModuleType]:
    """The agent modules (optional ones only if they exist)."""
    modules = [importlib.import_module(name) for name in AGENT_MODULES]
    for name in OPTIONAL_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            if err.name != name:  # the module exists but one of its imports is missing
                raise
    return modules


def all_workflows() -> list[type]:
    """Every agent's ``WORKFLOWS``, once each."""
    out: list[type] = []
    for module in agent_modules():
        for wf in getattr(module, "WORKFLOWS", []):
            if wf not in out:
                out.append(wf)
    return out


def all_activities() -> list[Callable[..., Any]]:
    """Every agent's ``ACTIVITIES``, once each (by activity name)."""
    out: dict[str, Callable[..., Any]] = {}
    for module in agent_modules():
        for fn in getattr(module, "ACTIVITIES", []):
            name = (
                getattr(getattr(fn, "__temporal_activity_definition", None), "name", None)
                or fn.__name__
            )
            out.setdefault(name, fn)
    return list(out.values())
