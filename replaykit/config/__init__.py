"""Configuration: ``[tool.replaykit]`` in pyproject.toml and the one settings resolver.

This layer imports no temporalio (the pytest plugin reads it in every session).

- ``_config``: reading and validating ``[tool.replaykit]``.
- ``_settings``: which value of each setting applies, and from where (flag > environment >
  pyproject > scenario > default).
- ``_server_spec``: server specs (``embedded``, ``timeskip``, ``HOST:PORT``) as values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._config": (
        "ProjectConfig",
        "find_pyproject",
        "load_project_config",
    ),
}

__all__ = [
    "ProjectConfig",
    "find_pyproject",
    "load_project_config",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._config import ProjectConfig as ProjectConfig
    from ._config import find_pyproject as find_pyproject
    from ._config import load_project_config as load_project_config
