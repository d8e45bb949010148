"""Resolving ``module:attr`` / ``path/to/file.py:attr`` references given on the command line."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ._errors import ConfigError

__all__ = ["resolve_ref"]


def resolve_ref(ref: str, *, option: str, default_attr: str | None = None) -> Any:
    """Import the module part of ``ref`` and walk its dotted attribute part.

    Args:
        ref: ``package.module:name.attr`` or ``path/to/file.py:name``.
        option: The flag the reference came from, used in error messages (``--spec``).
        default_attr: Used when ``ref`` has no ``:attr`` part.

    Raises:
        ConfigError: The module cannot be imported or lacks the attribute.
    """
    module_ref, _, attr = ref.partition(":")
    module_ref = module_ref.strip()
    try:
        if module_ref.endswith(".py"):
            path = Path(module_ref).resolve()
            name = f"_replaykit_ref_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"{option} {ref}: cannot import {module_ref}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_ref)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"{option} {ref}: cannot import {module_ref}: {err}") from None
    target: Any = module
    for part in (attr.strip() or default_attr or "").split("."):
        if not part:
            continue
        if not hasattr(target, part):
            raise ConfigError(f"{option} {ref}: {module_ref} has no attribute {part!r}")
        target = getattr(target, part)
    return target
