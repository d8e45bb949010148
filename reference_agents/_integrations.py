"""The reference agents' imports from Temporal's AI-framework integration modules.

``temporalio.openai_agents`` and ``temporalio.langgraph`` exist from temporalio 1.35 (the
``replaykit[openai-agents]`` and ``replaykit[langgraph]`` extras), Pydantic AI's
``pydantic_ai.durable_exec.temporal`` needs temporalio >= 1.27; replaykit's core supports
older SDKs. ``--workflows reference_agents`` imports every module of the package, so an agent
module must import without its integration: it imports the integration's names from here
(``from reference_agents._integrations import activity_as_tool``), each resolved on first
import. On an SDK without the integration a function is one that raises
``ModuleNotFoundError`` (naming the module and what to install) when the agent runs, the
Pydantic AI workflow base is ``object`` and the agent gets no durability capability: the
agent's plugin factory (``integration_plugins``) then fails with the same import error, so
nothing runs without the integration and nothing stands in for it.
"""

from __future__ import annotations

import importlib
from typing import Any, NoReturn

#: name here -> (integration module, name there)
_NAMES = {
    "activity_as_tool": ("temporalio.openai_agents.workflow", "activity_as_tool"),
    "registered_graph": ("temporalio.langgraph", "graph"),
    "PydanticAIWorkflow": ("pydantic_ai.durable_exec.temporal", "PydanticAIWorkflow"),
}

#: What a missing class resolves to (a base class must stay a class).
_MISSING_CLASS = {"PydanticAIWorkflow": object}


def __getattr__(attr: str) -> Any:
    if attr not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    module, name = _NAMES[attr]
    try:
        value = getattr(importlib.import_module(module), name)
    except ImportError as err:
        value = _MISSING_CLASS.get(attr) or _missing(module, name, str(err))
    globals()[attr] = value
    return value


def temporal_durability() -> list[Any]:
    """Pydantic AI's ``[TemporalDurability()]``, or ``[]`` without the integration."""
    try:
        from pydantic_ai.durable_exec.temporal import TemporalDurability
    except ImportError:
        return []
    return [TemporalDurability()]


def _missing(module: str, name: str, reason: str) -> Any:
    def missing(*args: Any, **kwargs: Any) -> NoReturn:
        raise ModuleNotFoundError(
            f"{module}.{name} is not available ({reason}): this reference agent needs "
            "temporalio>=1.35 with the integration's extra, e.g. replaykit[openai-agents]",
            name=module,
        )

    missing.__name__ = name
    return missing
