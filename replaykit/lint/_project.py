"""Every module of one lint run: building each file's facts (:func:`build_module`) and the
cross-file lookups of :class:`Project` (definitions, methods through bases, class attribute
kinds, activities, workflow classes)."""

from __future__ import annotations

import ast
from pathlib import Path

from replaykit.lint._modules import (
    ModuleInfo,
    _top_level_statements,
    import_aliases,
    module_name_for,
)
from replaykit.lint._scope import Scope, _self_attribute
from replaykit.lint._suppress import parse_suppressions

from . import _hazards as hz


def build_module(path: str, source: str, tree: ast.Module, file_path: Path) -> ModuleInfo:
    """Collect the module-level facts of one parsed file."""
    name, package = module_name_for(file_path)
    info = ModuleInfo(
        path=path,
        name=name,
        package=package,
        tree=tree,
        suppressions=parse_suppressions(source),
        lines=source.splitlines(),
    )
    statements = list(_top_level_statements(tree.body))
    for stmt in statements:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            info.aliases.update(import_aliases(stmt, package))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            info.defs[stmt.name] = stmt
    for stmt in statements:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            targets, value = [stmt.target], stmt.value
        for target in targets:
            for name_node in ast.walk(target):
                if isinstance(name_node, ast.Name):
                    info.assigned.add(name_node.id)
    scope = Scope(info, None, None)
    for stmt in statements:
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names = [stmt.target.id]
            value = stmt.value
            declared = scope.annotation_kind(stmt.annotation)
            if declared is not None:
                info.kinds[stmt.target.id] = declared
        else:
            continue
        if value is None:
            continue
        if _is_mutable_literal(value, scope):
            info.mutable.update(names)
        kind = scope.kind(value)
        for bound in names:
            if kind is not None:
                info.kinds.setdefault(bound, kind)
    return info


def _is_mutable_literal(value: ast.expr, scope: Scope) -> bool:
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        return scope.qualified(value.func) in hz.MUTABLE_FACTORIES
    return False


def _decorator_target(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


class Project:
    """Every module of one lint run, indexed by dotted name for cross-file lookups."""

    def __init__(self, modules: list[ModuleInfo]) -> None:
        self.modules = modules
        self.by_name: dict[str, ModuleInfo] = {}
        for index, module in enumerate(modules):
            if module.name in self.by_name:
                # Two files with one dotted name (e.g. two loose scripts): keep lookups of
                # the second one inside itself.  "#" cannot occur in an identifier.
                module.name = f"{module.name}#{index}"
            self.by_name[module.name] = module
        self._class_kinds: dict[int, dict[str, str]] = {}

    def lookup(
        self, qualified: str, depth: int = 0
    ) -> tuple[ModuleInfo, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | str] | None:
        """Find what a qualified name denotes inside the project.

        Returns:
            (module, definition) where definition is a function/class node, or the bare name
            of a module-level variable; None when the name is not defined in a checked file.
        """
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.by_name.get(".".join(parts[:cut]))
            if module is None:
                continue
            rest = parts[cut:]
            head = rest[0]
            if head in module.defs:
                node = module.defs[head]
                if len(rest) == 1:
                    return module, node
                if len(rest) == 2 and isinstance(node, ast.ClassDef):
                    method = self.find_method(module, node, rest[1])
                    return method
                return None
            if head in module.aliases and depth < 8:
                target = ".".join([module.aliases[head], *rest[1:]])
                return self.lookup(target, depth + 1)
            if head in module.assigned and len(rest) == 1:
                return module, head
            return None
        return None

    def find_method(
        self, module: ModuleInfo, cls: ast.ClassDef, name: str, depth: int = 0
    ) -> tuple[ModuleInfo, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """A method defined on ``cls`` or on one of its bases among the checked files."""
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                return module, stmt
        if depth > 8:
            return None
        for base_module, base in self.bases(module, cls):
            found = self.find_method(base_module, base, name, depth + 1)
            if found is not None:
                return found
        return None

    def bases(self, module: ModuleInfo, cls: ast.ClassDef) -> list[tuple[ModuleInfo, ast.ClassDef]]:
        """The base classes of ``cls`` that are defined in checked files."""
        scope = Scope(module, None, None)
        found: list[tuple[ModuleInfo, ast.ClassDef]] = []
        for base in cls.bases:
            qualified = scope.qualified(base)
            target = self.lookup(qualified) if qualified else None
            if target is not None and isinstance(target[1], ast.ClassDef):
                found.append((target[0], target[1]))
        return found

    def class_of(self, qualified: str) -> tuple[ModuleInfo, ast.ClassDef] | None:
        """The class a qualified name denotes, when it is defined in a checked file."""
        target = self.lookup(qualified)
        if target is not None and isinstance(target[1], ast.ClassDef):
            return target[0], target[1]
        return None

    def class_kinds(self, module: ModuleInfo, cls: ast.ClassDef) -> dict[str, str]:
        """Kinds of instance attributes (``self.x``) from annotations and assignments."""
        cached = self._class_kinds.get(id(cls))
        if cached is not None:
            return cached
        self._class_kinds[id(cls)] = {}  # guards against recursion through self.x = self.y
        scope = Scope(module, None, None, project=self)
        kinds: dict[str, set[str | None]] = {}
        declared: dict[str, str] = {}
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                kind = scope.annotation_kind(stmt.annotation)
                if kind is not None:
                    declared[stmt.target.id] = kind
        for stmt in cls.body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            method_scope = Scope(module, cls, stmt, project=self)
            self_name = method_scope.self_name
            if self_name is None:
                continue
            for node in ast.walk(stmt):
                if isinstance(node, ast.AnnAssign):
                    attr = _self_attribute(node.target, self_name)
                    kind = method_scope.annotation_kind(node.annotation)
                    if attr is not None and kind is not None:
                        declared[attr] = kind
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        attr = _self_attribute(target, self_name)
                        if attr is not None:
                            kinds.setdefault(attr, set()).add(method_scope.kind(node.value))
        result = {attr: next(iter(ks)) for attr, ks in kinds.items() if len(ks) == 1}
        final = {k: v for k, v in result.items() if v is not None}
        final.update(declared)
        self._class_kinds[id(cls)] = final
        return final

    def is_activity(self, node: ast.AST, module: ModuleInfo) -> bool:
        """True when ``node`` is a function decorated ``@activity.defn``."""
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        scope = Scope(module, None, None)
        return any(
            scope.qualified(_decorator_target(d)) == hz.ACTIVITY_DEFN for d in node.decorator_list
        )

    def workflow_classes(self, module: ModuleInfo) -> list[ast.ClassDef]:
        """Classes of ``module`` decorated ``@workflow.defn`` (with or without arguments)."""
        scope = Scope(module, None, None)
        return [
            node
            for node in _top_level_statements(module.tree.body)
            if isinstance(node, ast.ClassDef)
            and any(
                scope.qualified(_decorator_target(d)) == hz.WORKFLOW_DEFN
                for d in node.decorator_list
            )
        ]
