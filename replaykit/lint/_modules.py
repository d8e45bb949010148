"""One checked file's module-level facts: its dotted name, what its imports bind, and the
:class:`ModuleInfo` record the analysis fills in (see ``_project.build_module``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class ModuleInfo:
    """One parsed file and the module-level facts the checks need."""

    path: str
    name: str
    package: str
    tree: ast.Module
    suppressions: dict[int, frozenset[str] | None]
    lines: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = field(
        default_factory=dict
    )
    assigned: set[str] = field(default_factory=set)
    mutable: set[str] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)


def module_name_for(path: Path) -> tuple[str, str]:
    """The dotted module name of ``path`` and its package, from the ``__init__.py`` chain."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    parent = path.parent
    while (parent / "__init__.py").is_file():
        parts.insert(0, parent.name)
        if parent.parent == parent:
            break
        parent = parent.parent
    name = ".".join(parts) or path.stem
    if path.stem == "__init__":
        return name, name
    return name, name.rpartition(".")[0]


def _top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking inside if/try/with blocks (not into defs)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _top_level_statements(stmt.body)
            yield from _top_level_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_level_statements(stmt.body)
            for handler in stmt.handlers:
                yield from _top_level_statements(handler.body)
            yield from _top_level_statements(stmt.orelse)
            yield from _top_level_statements(stmt.finalbody)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _top_level_statements(stmt.body)


def import_aliases(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, str]:
    """The names an import statement binds, mapped to the qualified names they stand for."""
    result: dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                result[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                result[root] = root
        return result
    base = node.module or ""
    if node.level:
        parts = package.split(".") if package else []
        if node.level > 1:
            parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    for alias in node.names:
        if alias.name == "*":
            continue
        result[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return result
