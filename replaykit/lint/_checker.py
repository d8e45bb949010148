"""The visitor: walks one workflow-reachable function, reports the hazards it finds (the rule
checks live here, the hazard tables in ``_hazards``) and collects the code it reaches."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from replaykit.lint._model import RULES_BY_ID, Finding
from replaykit.lint._modules import ModuleInfo, _FunctionNode
from replaykit.lint._project import Project
from replaykit.lint._scope import _CLIENT, _INSTANCE, _PATH, _SET, _TIMEDELTA, Scope, _is_none

from . import _hazards as hz


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
