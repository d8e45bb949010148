"""Name resolution and light type inference: what a name or expression denotes in module
code or inside one function.

The inference is flow-insensitive and deliberately conservative: a name counts as a set (or a
path, a timedelta, a client, an instance of a class) only when every binding of it in the
function says so, so an unclear case is not reported.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from replaykit.lint._modules import ModuleInfo, _FunctionNode, import_aliases

from . import _hazards as hz

if TYPE_CHECKING:
    from replaykit.lint._project import Project

# Kinds of expressions the checks care about.  Instances and clients carry a payload.
_SET = "set"
_PATH = "path"
_TIMEDELTA = "timedelta"
_INSTANCE = "instance:"  # + qualified class name
_CLIENT = "client:"  # + rule id


def _self_attribute(target: ast.expr, self_name: str) -> str | None:
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == self_name
    ):
        return target.attr
    return None


def _bound_names(func: ast.AST) -> tuple[set[str], set[str]]:
    """(local names, names declared global) of a function.

    Nested functions and lambdas are folded in: they are part of the same workflow code, and
    a flow-insensitive view only needs to know which names are not module-level.
    """
    local: set[str] = set()
    declared_global: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            local.add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node is not func:
                local.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            local.update(node.names)  # a variable of the enclosing (workflow) function
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            local.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            local.add(node.rest)
    return local - declared_global, declared_global


class Scope:
    """Name resolution and light type inference for module level or one function."""

    def __init__(
        self,
        module: ModuleInfo,
        cls: ast.ClassDef | None,
        func: _FunctionNode | None,
        *,
        project: Project | None = None,
    ) -> None:
        self.module = module
        self.cls = cls
        self.func = func
        self.project = project
        self.aliases = dict(module.aliases)
        self.local: set[str] = set()
        self.declared_global: set[str] = set()
        self.kinds: dict[str, str] = {}
        self.self_name: str | None = None
        if func is None:
            return
        self.local, self.declared_global = _bound_names(func)
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for bound, target in import_aliases(node, module.package).items():
                    self.aliases[bound] = target
                    self.local.discard(bound)
        positional = [*func.args.posonlyargs, *func.args.args]
        is_static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in func.decorator_list
        )
        if cls is not None and positional and not is_static:
            self.self_name = positional[0].arg
            self.kinds[self.self_name] = _INSTANCE + f"{module.name}.{cls.name}"
        self._infer_local_kinds(func)

    def _infer_local_kinds(self, func: _FunctionNode) -> None:
        declared: dict[str, str] = {}
        seen: dict[str, set[str | None]] = {}
        all_args = [
            *func.args.posonlyargs,
            *func.args.args,
            *func.args.kwonlyargs,
            *([func.args.vararg] if func.args.vararg else []),
            *([func.args.kwarg] if func.args.kwarg else []),
        ]
        assignments: list[tuple[str, ast.expr | None]] = []
        parameter_kinds: dict[str, str | None] = {}
        for arg in all_args:
            if arg.arg == self.self_name:
                continue
            is_star = arg is func.args.vararg or arg is func.args.kwarg
            annotated = self.annotation_kind(arg.annotation) if arg.annotation else None
            parameter_kinds[arg.arg] = None if is_star else annotated
        for node in ast.walk(func):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                kind = self.annotation_kind(node.annotation)
                if kind is not None:
                    declared[node.target.id] = kind
                if node.value is not None:
                    assignments.append((node.target.id, node.value))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assignments.append((target.id, node.value))
                    else:
                        for sub in ast.walk(target):
                            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                                assignments.append((sub.id, None))
            elif isinstance(node, ast.NamedExpr):
                assignments.append((node.target.id, node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension, ast.withitem)):
                target_node = node.optional_vars if isinstance(node, ast.withitem) else node.target
                if target_node is not None:
                    for sub in ast.walk(target_node):
                        if isinstance(sub, ast.Name):
                            assignments.append((sub.id, None))
        # Two passes so that `a = set(); b = a | other` sees a's kind.
        for _ in range(2):
            seen = {name: {kind} for name, kind in parameter_kinds.items()}
            for name, value in assignments:
                seen.setdefault(name, set()).add(self.kind(value) if value is not None else None)
            for name, kinds in seen.items():
                if name in declared:
                    continue
                only = next(iter(kinds)) if len(kinds) == 1 else None
                if only is not None:
                    self.kinds[name] = only
                else:
                    self.kinds.pop(name, None)
        self.kinds.update(declared)

    def qualified(self, node: ast.expr) -> str | None:
        """The fully qualified name an expression denotes, or None (a local, a call result...)."""
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.local:
                return None
            if name in self.aliases:
                return self.aliases[name]
            if name in self.module.defs or name in self.module.assigned:
                return f"{self.module.name}.{name}"
            return f"builtins.{name}"
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def annotation_kind(self, node: ast.expr) -> str | None:
        """The kind an annotation declares (set, path, timedelta, instance of a known class)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
            return self.annotation_kind(parsed)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left = self.annotation_kind(node.left)
            right = self.annotation_kind(node.right)
            if _is_none(node.left):
                return right
            if _is_none(node.right):
                return left
            return left if left == right else None
        if isinstance(node, ast.Subscript):
            outer = self.qualified(node.value)
            if outer in hz.OPTIONAL_WRAPPERS:
                inner = node.slice
                elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
                if outer == "typing.Annotated":
                    elements = elements[:1]
                kinds = {self.annotation_kind(e) for e in elements if not _is_none(e)}
                return kinds.pop() if len(kinds) == 1 else None
            return self.annotation_kind(node.value)
        qualified = self.qualified(node)
        if qualified is None:
            return None
        if qualified in hz.SET_ANNOTATIONS:
            return _SET
        if qualified in hz.PATH_CLASSES:
            return _PATH
        if qualified == hz.TIMEDELTA:
            return _TIMEDELTA
        if self.project is not None and self.project.class_of(qualified) is not None:
            return _INSTANCE + qualified
        return None

    def _imported_variable_kind(self, node: ast.expr) -> str | None:
        """Kind of a module-level variable of another checked file (``policies.POLL``)."""
        if self.project is None:
            return None
        qualified = self.qualified(node)
        target = self.project.lookup(qualified) if qualified else None
        if target is not None and isinstance(target[1], str):
            return target[0].kinds.get(target[1])
        return None

    def kind(self, node: ast.expr) -> str | None:
        """The kind of value an expression evaluates to, when it is clear."""
        if isinstance(node, (ast.Set, ast.SetComp)):
            return _SET
        if isinstance(node, ast.Name):
            if node.id in self.kinds:
                return self.kinds[node.id]
            if node.id not in self.local and node.id not in self.aliases:
                return self.module.kinds.get(node.id)
            return self._imported_variable_kind(node)
        if isinstance(node, ast.Attribute):
            imported = self._imported_variable_kind(node)
            if imported is not None:
                return imported
            base_kind = self.kind(node.value)
            if base_kind == _PATH and node.attr == "parent":
                return _PATH
            if base_kind is not None and base_kind.startswith(_INSTANCE) and self.project:
                found = self.project.class_of(base_kind[len(_INSTANCE) :])
                if found is not None:
                    return self.project.class_kinds(*found).get(node.attr)
            return None
        if isinstance(node, ast.BinOp):
            left, right = self.kind(node.left), self.kind(node.right)
            if isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub, ast.BitXor)) and (
                left == _SET or right == _SET
            ):
                return _SET
            if isinstance(node.op, ast.Div) and left == _PATH:
                return _PATH
            return None
        if isinstance(node, ast.Call):
            qualified = self.qualified(node.func)
            if qualified is not None:
                if qualified in hz.SET_BUILTINS:
                    return _SET
                if qualified in hz.PATH_CLASSES:
                    return _PATH
                if qualified == hz.TIMEDELTA:
                    return _TIMEDELTA
                rule = hz.client_rule(qualified)
                if rule is not None:
                    return _CLIENT + rule
                if self.project is not None and self.project.class_of(qualified) is not None:
                    return _INSTANCE + qualified
            if isinstance(node.func, ast.Attribute):
                receiver = self.kind(node.func.value)
                if receiver == _SET and node.func.attr in hz.SET_RETURNING_METHODS:
                    return _SET
                if receiver == _PATH and node.func.attr in hz.PATH_RETURNING_METHODS:
                    return _PATH
            return None
        return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
