"""The static analysis behind `replaykit lint`.

Only workflow code is checked: every method of a class decorated ``@workflow.defn`` (and of
its base classes found among the checked files), plus whatever those methods reach through
calls or references: module-level functions, methods called through ``self`` or through an
object of a known class, and classes instantiated (their ``__init__``). The call graph spans
every file given to one lint run, so a workflow in ``workflows.py`` that calls a helper in
``helpers.py`` gets the helper checked when both files (or their folder) are given. Functions
decorated ``@activity.defn`` are never followed: they are not workflow code.

The analysis is flow-insensitive and deliberately conservative about types: a name counts
as a set (or a path, a timedelta, a client, an instance of a class) only when every binding
of it in the function says so, so an unclear case is not reported.

This module is the driver (:func:`analyse`); the parts live beside it: ``_modules`` (one
file's module-level facts), ``_suppress`` (``# replaykit: ignore`` comments), ``_scope``
(name resolution and kind inference), ``_project`` (building modules, cross-file lookups),
``_checker`` (the visitor and the per-call rule checks) and ``_history`` (RK601, which needs
the whole reachable code of a workflow).
"""

from __future__ import annotations

import ast

from replaykit.lint._checker import _Checker, _Unit
from replaykit.lint._history import _unbounded_history
from replaykit.lint._model import Finding
from replaykit.lint._modules import ModuleInfo
from replaykit.lint._project import Project
from replaykit.lint._project import build_module as build_module

__all__ = ["ModuleInfo", "Project", "analyse", "build_module"]


def analyse(project: Project) -> list[Finding]:
    """Every hazard in workflow-reachable code of the project (before suppression/selection)."""
    pending: list[_Unit] = []
    for module in project.modules:
        for cls in project.workflow_classes(module):
            classes: list[tuple[ModuleInfo, ast.ClassDef]] = [(module, cls)]
            seen_classes: set[int] = set()
            while classes:
                owner_module, owner = classes.pop()
                if id(owner) in seen_classes:
                    continue
                seen_classes.add(id(owner))
                for stmt in owner.body:
                    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        if not project.is_activity(stmt, owner_module):
                            pending.append(_Unit(owner_module, owner, stmt))
                classes.extend(project.bases(owner_module, owner))
    roots: dict[int, list[_Unit]] = {}  # workflow class -> its methods
    for unit in pending:
        if unit.cls is not None:
            roots.setdefault(id(unit.cls), []).append(unit)
    done: set[int] = set()
    edges: dict[int, list[_Unit]] = {}
    findings: list[Finding] = []
    while pending:
        unit = pending.pop()
        if id(unit.func) in done:
            continue
        done.add(id(unit.func))
        checker = _Checker(project, unit)
        checker.run()
        findings.extend(checker.findings)
        edges[id(unit.func)] = checker.reachable
        pending.extend(checker.reachable)
    for units in roots.values():
        findings.extend(_unbounded_history(units, edges))
    return findings
