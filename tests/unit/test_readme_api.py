"""README examples use the public API only: no ``replaykit._private`` import, and every name
they import from replaykit exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _imports() -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []
    for block in _python_blocks():
        try:
            tree = ast.parse(block)
        except SyntaxError:  # an excerpt with "..." in odd places: read its import lines
            tree = ast.parse("\n".join(
                ln for ln in block.splitlines() if ln.startswith(("import ", "from "))
            ))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append((node.module, tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                found.extend((a.name, ()) for a in node.names)
    return found


def test_readme_has_python_examples_importing_replaykit() -> None:
    assert any(m.startswith("replaykit") for m, _ in _imports())


def test_readme_examples_import_no_private_replaykit_module() -> None:
    private = [m for m, _ in _imports()
               if m.startswith("replaykit") and any(p.startswith("_") for p in m.split("."))]
    assert private == []


def test_names_readme_examples_import_from_replaykit_exist() -> None:
    missing = []
    for module, names in _imports():
        if not module.startswith("replaykit"):
            continue
        mod = importlib.import_module(module)
        missing += [f"{module}.{n}" for n in names if not hasattr(mod, n)]
    assert missing == []
