"""Temporal plugins, the AI-framework integrations among them.

- ``_plugins``: naming, loading and applying plugins (``--plugin``) to clients, workers and
  replayers, and the hints when one is missing.
- ``_agents``: each framework's model-call activity read in agent terms (prompt, tools, model,
  settings) and its built-in volatile values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._plugins": ("load_plugins",),
}

__all__ = [
    "load_plugins",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._plugins import load_plugins as load_plugins
