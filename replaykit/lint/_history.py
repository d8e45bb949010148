"""RK601: a workflow whose unbounded loop awaits, while none of the code it reaches continues
as new or consults the history length."""

from __future__ import annotations

import ast

from replaykit.lint._checker import _Unit
from replaykit.lint._model import RULES_BY_ID, Finding

#: Calls that keep a history bounded: continuing as new, or asking how long it got.
_HISTORY_GUARDS = frozenset(
    {
        "continue_as_new",
        "is_continue_as_new_suggested",
        "get_current_history_length",
        "get_current_history_size",
    }
)


def _is_unbounded_loop(node: ast.AST) -> bool:
    """``while True:`` (any constant truthy test) or ``for ... in itertools.count()``."""
    if isinstance(node, ast.While):
        return isinstance(node.test, ast.Constant) and bool(node.test.value)
    if isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.iter, ast.Call):
        func = node.iter.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name == "count"
    return False


def _unbounded_history(units: list[_Unit], edges: dict[int, list[_Unit]]) -> list[Finding]:
    """RK601: an unbounded loop that awaits, in a workflow whose reachable code never
    continues as new nor consults the history length."""
    reached: list[_Unit] = []
    seen: set[int] = set()
    queue = list(units)
    while queue:
        unit = queue.pop()
        if id(unit.func) in seen:
            continue
        seen.add(id(unit.func))
        reached.append(unit)
        queue.extend(edges.get(id(unit.func), []))
    for unit in reached:
        for node in ast.walk(unit.func):
            if isinstance(node, ast.Attribute) and node.attr in _HISTORY_GUARDS:
                return []
            if isinstance(node, ast.Name) and node.id in _HISTORY_GUARDS:
                return []
    out: list[Finding] = []
    rule = RULES_BY_ID["RK601"]
    for unit in units:
        for node in ast.walk(unit.func):
            if not isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
                continue
            if not _is_unbounded_loop(node):
                continue
            body = node.body
            if not any(isinstance(n, ast.Await) for stmt in body for n in ast.walk(stmt)):
                continue  # nothing awaited: it adds no history (and is another problem)
            cls = unit.cls.name if unit.cls is not None else "?"
            head = "while True" if isinstance(node, ast.While) else "for ... in count()"
            out.append(
                Finding(
                    rule.id,
                    rule.name,
                    unit.module.path,
                    node.lineno,
                    node.col_offset + 1,
                    f"`{head}` in {cls}.{getattr(unit.func, 'name', '<lambda>')} grows the history without bound and "
                    f"{cls} never calls workflow.continue_as_new() nor checks "
                    "workflow.info().is_continue_as_new_suggested()",
                )
            )
    return out
