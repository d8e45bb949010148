"""Resolving ``module:attr`` / ``path/to/file.py:attr`` references given on the command line.

A ``file.py`` is executed once per process, as an import is: the module is kept by its
resolved path, so naming the same file again (another ``--plugin``, a worker pipeline
restarted, the pytest plugin and a command in one process) returns the same objects.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import ConfigError

__all__ = ["load_file_module", "put_workdir_on_path", "resolve_ref"]


def put_workdir_on_path() -> None:
    """Put the working directory (the project root) on ``sys.path``, first, once.

    As ``python -m`` and pytest's rootdir do: the project's own packages import from a
    scenario file, a ``--plugin`` or ``--data-converter`` module, a ``--workflows`` module.
    Every command that imports the user's code calls it, so they all import the same things.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


_FILE_MODULES: dict[Path, ModuleType] = {}
_FILE_MODULES_LOCK = threading.RLock()


def load_file_module(path: Path, *, option: str, ref: str) -> ModuleType:
    """The module a ``.py`` file defines, executed once per process (kept by resolved path).

    A file whose execution fails is not kept: naming it again executes it again.
    """
    path = path.resolve()
    with _FILE_MODULES_LOCK:
        module = _FILE_MODULES.get(path)
        if module is not None:
            return module
        name = f"_replaykit_ref_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"{option} {ref}: cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            if sys.modules.get(name) is module:
                del sys.modules[name]
            raise
        _FILE_MODULES[path] = module
        return module


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
            module: Any = load_file_module(Path(module_ref), option=option, ref=ref)
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
