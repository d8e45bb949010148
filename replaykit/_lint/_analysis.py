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
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from replaykit._lint import _hazards as hz
from replaykit._lint._model import RULES_BY_ID, RULES_BY_NAME, Finding

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_SUPPRESS_RE = re.compile(r"#\s*replaykit:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)

# Kinds of expressions the checks care about.  Instances and clients carry a payload.
_SET = "set"
_PATH = "path"
_TIMEDELTA = "timedelta"
_INSTANCE = "instance:"  # + qualified class name
_CLIENT = "client:"  # + rule id


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


def parse_suppressions(source: str) -> dict[int, frozenset[str] | None]:
    """Map line -> suppressed rule ids (None = every rule) from ``# replaykit: ignore`` comments.

    Comments are read with tokenize, so the marker inside a string literal does not count.
    """
    result: dict[int, frozenset[str] | None] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return result
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _SUPPRESS_RE.search(token.string)
        if match is None:
            continue
        line = token.start[0]
        if match.group(1) is None:
            result[line] = None
            continue
        ids: set[str] = set()
        for item in match.group(1).split(","):
            item = item.strip()
            rule = RULES_BY_ID.get(item.upper()) or RULES_BY_NAME.get(item.lower())
            if rule is not None:
                ids.add(rule.id)
        previous = result.get(line, frozenset())
        result[line] = None if previous is None else previous | ids
    return result


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


@dataclass(frozen=True)
class _Unit:
    module: ModuleInfo
    cls: ast.ClassDef | None
    func: _FunctionNode


class _Checker(ast.NodeVisitor):
    """Walks one workflow-reachable function, reporting hazards and further reachable code."""

    def __init__(self, project: Project, unit: _Unit) -> None:
        self.project = project
        self.unit = unit
        self.module = unit.module
        self.scope = Scope(unit.module, unit.cls, unit.func, project=project)
        self.findings: list[Finding] = []
        self.reachable: list[_Unit] = []

    # -- plumbing -------------------------------------------------------------------------

    def run(self) -> None:
        func = self.unit.func
        for default in [*func.args.defaults, *func.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for stmt in func.body:
            self.visit(stmt)

    def report(self, node: ast.AST, rule_id: str, message: str) -> None:
        rule = RULES_BY_ID[rule_id]
        line: int = getattr(node, "lineno", 1)
        offset: int = getattr(node, "col_offset", 0)
        text = self.module.lines[line - 1] if 0 < line <= len(self.module.lines) else ""
        if not text.isascii():
            # ast columns count UTF-8 bytes; editors and SARIF count characters.
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
        col = offset + 1
        self.findings.append(Finding(rule.id, rule.name, self.module.path, line, col, message))

    def reach_function(self, target: tuple[ModuleInfo, object], cls: ast.ClassDef | None) -> None:
        module, node = target
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if self.project.is_activity(node, module):
            return
        self.reachable.append(_Unit(module, cls, node))

    def owner_class(self, module: ModuleInfo, func: object) -> ast.ClassDef | None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and func in node.body:
                return node
        return None

    def callee(self, func: ast.expr) -> tuple[ModuleInfo, _FunctionNode] | None:
        """The project function or method a call target denotes, if known."""
        qualified = self.scope.qualified(func)
        if qualified is not None:
            target = self.project.lookup(qualified)
            if target is not None and isinstance(
                target[1], (ast.FunctionDef, ast.AsyncFunctionDef)
            ):
                return target[0], target[1]
            return None
        if isinstance(func, ast.Attribute):
            receiver = self.scope.kind(func.value)
            if receiver is not None and receiver.startswith(_INSTANCE):
                found = self.project.class_of(receiver[len(_INSTANCE) :])
                if found is not None:
                    return self.project.find_method(found[0], found[1], func.attr)
        return None

    # -- skip annotations: a type named in an annotation is not executed ------------------

    def visit_arg(self, node: ast.arg) -> None:
        return

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_write(node.target)
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_nested(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_nested(node)

    def _visit_nested(self, node: _FunctionNode) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for stmt in node.body:
            self.visit(stmt)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        return  # a class defined inside workflow code is checked when it is used

    # -- references -----------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        qualified = self.scope.qualified(node)
        if qualified is None:
            return
        hazard = hz.match_reference(qualified)
        if hazard is not None:
            self.report(node, hazard[0], f"{_pretty(qualified)} used in workflow code; {hazard[1]}")
            return
        target = self.project.lookup(qualified)
        if target is not None:
            self.reach_function(target, None)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        qualified = self.scope.qualified(node)
        if qualified is not None:
            hazard = hz.match_reference(qualified)
            if hazard is not None:
                self.report(
                    node, hazard[0], f"{_pretty(qualified)} used in workflow code; {hazard[1]}"
                )
                return
            target = self.project.lookup(qualified)
            if target is not None:
                self.reach_function(target, self.owner_class(target[0], target[1]))
                return
        else:
            method = self.callee(node)
            if method is not None:
                self.reach_function(method, self.owner_class(method[0], method[1]))
        self.generic_visit(node)

    # -- calls ----------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        qualified = self.scope.qualified(node.func)
        positional = len(node.args)
        # A name defined in a checked file is the user's own code, even when its module
        # happens to share a hazard's name (a local `random.py`): it is followed instead.
        own = self.project.lookup(qualified) if qualified is not None else None
        if qualified is not None and own is None:
            hazard = hz.match_call(qualified, positional_args=positional)
            if hazard is not None:
                rule, hint = hazard
                written, meant = _display(node.func), _pretty(qualified)
                what = f"{meant}()" if written == meant else f"{written}() (that is {meant}())"
                self.report(node, rule, f"{what} called in workflow code; {hint}")
            if qualified in hz.ACTIVITY_STARTERS:
                self.check_activity_timeout(node, qualified)
            if qualified == hz.ASYNCIO_SLEEP:
                delay = node.args[0] if node.args else _keyword(node, "delay")
                if delay is not None and self.scope.kind(delay) == _TIMEDELTA:
                    self.report(
                        node,
                        "RK303",
                        "asyncio.sleep() takes seconds, not a timedelta; "
                        "use workflow.sleep(timedelta(...))",
                    )
            if qualified in hz.ORDER_CONSUMERS:
                for arg in node.args:
                    self.check_set_order(arg)
        if own is not None and isinstance(own[1], ast.ClassDef):
            init = self.project.find_method(own[0], own[1], "__init__")
            if init is not None:
                self.reach_function(init, self.owner_class(init[0], init[1]))
        if isinstance(node.func, ast.Attribute):
            self.check_method_call(node, node.func)
        target = self.callee(node.func)
        if target is not None and self.project.is_activity(target[1], target[0]):
            self.report(
                node,
                "RK501",
                f"activity {target[1].name}() called directly; "
                f"use workflow.execute_activity({target[1].name}, ...)",
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.check_set_order(arg.value)
        self.generic_visit(node)

    def check_method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        receiver_kind = self.scope.kind(func.value)
        if receiver_kind == _PATH and func.attr in hz.PATH_IO_METHODS:
            self.report(
                node, "RK201", f"Path.{func.attr}() in workflow code; do file I/O in an activity"
            )
        elif func.attr in hz.THREAD_METHODS:
            self.report(
                node, "RK301", f".{func.attr}() in workflow code; use asyncio tasks or an activity"
            )
        elif func.attr == "join" and node.args:
            self.check_set_order(node.args[0])
        root_kind = self.scope.kind(_root(func, self.scope.self_name))
        if root_kind is not None and root_kind.startswith(_CLIENT):
            self.report(
                node,
                root_kind[len(_CLIENT) :],
                f"{_display(func)}() calls a network/LLM client in workflow code; "
                "call it from an activity",
            )
        if func.attr in hz.MUTATING_METHODS:
            name = self.module_mutable(func.value)
            if name is not None:
                self.report(
                    node, "RK401", f"module-level {name} mutated by .{func.attr}() in workflow code"
                )

    def check_activity_timeout(self, node: ast.Call, qualified: str) -> None:
        if any(keyword.arg is None for keyword in node.keywords):
            return  # **options: cannot tell statically
        if any(
            keyword.arg in hz.TIMEOUT_KEYWORDS and not _is_none(keyword.value)
            for keyword in node.keywords
        ):
            return
        short = qualified.rsplit(".", 1)[-1]
        self.report(
            node,
            "RK502",
            f"{short}() without start_to_close_timeout or schedule_to_close_timeout",
        )

    def module_mutable(self, node: ast.expr) -> str | None:
        """The name of the module-level mutable container ``node`` denotes, if any."""
        qualified = self.scope.qualified(node)
        if qualified is None:
            return None
        target = self.project.lookup(qualified)
        if target is not None and isinstance(target[1], str) and target[1] in target[0].mutable:
            return target[1]
        return None

    # -- set iteration --------------------------------------------------------------------

    def check_set_order(self, node: ast.expr) -> None:
        if self.scope.kind(node) == _SET:
            self.report(
                node,
                "RK105",
                f"iteration over set {_display(node)} has no stable order; iterate over sorted(...)",
            )

    def visit_For(self, node: ast.For) -> None:
        self.check_set_order(node.iter)
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.check_set_order(node.iter)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.check_set_order(node.iter)
        self.generic_visit(node)

    def visit_Starred(self, node: ast.Starred) -> None:
        if isinstance(node.ctx, ast.Load):
            self.check_set_order(node.value)
        self.generic_visit(node)

    # -- module-level state ---------------------------------------------------------------

    def check_write(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name) and target.id in self.scope.declared_global:
            self.report(target, "RK401", f"workflow code writes module-level global {target.id}")
        elif isinstance(target, ast.Subscript):
            name = self.module_mutable(target.value)
            if name is not None:
                self.report(target, "RK401", f"module-level {name} mutated in workflow code")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_write(element)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_write(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_write(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.check_write(target)
        self.generic_visit(node)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _root(node: ast.expr, self_name: str | None) -> ast.expr:
    """The receiver a method chain starts from: ``a`` of ``a.b.c()``, and ``self.x`` of
    ``self.x.b.c()`` so that clients stored on the workflow instance are found too."""
    while isinstance(node, ast.Attribute):
        inner = node.value
        if isinstance(inner, ast.Name):
            return node if inner.id == self_name else inner
        node = inner
    return node


def _pretty(qualified: str) -> str:
    return qualified.removeprefix("builtins.")


def _display(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


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


#: Calls that keep a history bounded: continuing as new, or asking how long it got.
_HISTORY_GUARDS = frozenset(
    {"continue_as_new", "is_continue_as_new_suggested", "get_current_history_length",
     "get_current_history_size"}
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
            out.append(Finding(
                rule.id, rule.name, unit.module.path, node.lineno, node.col_offset + 1,
                f"`{head}` in {cls}.{getattr(unit.func, 'name', '<lambda>')} grows the history without bound and "
                f"{cls} never calls workflow.continue_as_new() nor checks "
                "workflow.info().is_continue_as_new_suggested()",
            ))
    return out
