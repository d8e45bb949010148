"""What the code says about patches: a static (``ast``) scan for ``workflow.patched`` calls.

:func:`scan_patch_sites` finds every ``workflow.patched(...)`` / ``workflow.deprecate_patch(...)``
call in the modules that define the given workflow classes, for the lifecycle analysis
(:mod:`replaykit.patches._analysis`).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from replaykit._internal._sdk_compat import workflow_type_name

__all__ = ["PatchSite", "scan_patch_sites"]


@dataclass(frozen=True)
class PatchSite:
    """One ``workflow.patched(...)`` / ``workflow.deprecate_patch(...)`` call in the code.

    Attributes:
        patch_id: The id, or None when it is not a string constant (see ``expression``).
        deprecated: True for ``deprecate_patch``.
        file: The source file.
        line: The line of the call.
        workflow_types: Workflow types whose code contains it (the enclosing class; for a
            module-level helper function, every workflow class of that module).
        expression: The id argument's source text when it is not a constant.
    """

    patch_id: str | None
    deprecated: bool
    file: str
    line: int
    workflow_types: tuple[str, ...]
    expression: str | None = None

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


def _display(path: str) -> str:
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


class _Scanner(ast.NodeVisitor):
    """Find patch calls, resolving ids given as module- or class-level string constants."""

    def __init__(self, tree: ast.Module, file: str, classes: dict[str, str]) -> None:
        self.file = file
        self.classes = classes  # class qualname -> workflow type
        self.sites: list[PatchSite] = []
        self.module_consts = _string_constants(tree.body)
        self.bare_names: dict[str, bool] = {}  # local name -> deprecated?
        self.workflow_aliases: set[str] = {"workflow"}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "temporalio.workflow":
                for alias in node.names:
                    if alias.name in ("patched", "deprecate_patch"):
                        self.bare_names[alias.asname or alias.name] = (
                            alias.name == "deprecate_patch"
                        )
            elif isinstance(node, ast.ImportFrom) and node.module == "temporalio":
                for alias in node.names:
                    if alias.name == "workflow":
                        self.workflow_aliases.add(alias.asname or "workflow")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "temporalio.workflow" and alias.asname:
                        self.workflow_aliases.add(alias.asname)
        self._class_stack: list[str] = []
        self._class_consts: list[dict[str, str]] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:  # noqa: N802 - ast API
        self._class_stack.append(node.name)
        self._class_consts.append(_string_constants(node.body))
        self.generic_visit(node)
        self._class_consts.pop()
        self._class_stack.pop()

    def _kind(self, func: ast.expr) -> bool | None:
        """True for deprecate_patch, False for patched, None for anything else."""
        if isinstance(func, ast.Attribute) and func.attr in ("patched", "deprecate_patch"):
            base = func.value
            if isinstance(base, ast.Name) and base.id in self.workflow_aliases:
                return func.attr == "deprecate_patch"
            if isinstance(base, ast.Attribute) and base.attr == "workflow":
                return func.attr == "deprecate_patch"
            return None
        if isinstance(func, ast.Name) and func.id in self.bare_names:
            return self.bare_names[func.id]
        return None

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802 - ast API
        kind = self._kind(node.func)
        if kind is not None:
            arg: ast.expr | None = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg == "id":
                    arg = kw.value
            patch_id = self._resolve(arg)
            qual = ".".join(self._class_stack)
            if qual in self.classes:
                types: tuple[str, ...] = (self.classes[qual],)
            elif self._class_stack:
                # A call in a non-workflow class: attribute it to the outermost workflow
                # class around it, else to every workflow class of the module.
                outer = [q for q in self.classes if qual.startswith(q + ".")]
                types = (self.classes[outer[0]],) if outer else tuple(self.classes.values())
            else:
                types = tuple(self.classes.values())
            self.sites.append(
                PatchSite(
                    patch_id=patch_id,
                    deprecated=kind,
                    file=_display(self.file),
                    line=node.lineno,
                    workflow_types=tuple(dict.fromkeys(types)),
                    expression=None if patch_id is not None else _unparse(arg),
                )
            )
        self.generic_visit(node)

    def _resolve(self, arg: ast.expr | None) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            for scope in reversed(self._class_consts):
                if arg.id in scope:
                    return scope[arg.id]
            return self.module_consts.get(arg.id)
        if (
            isinstance(arg, ast.Attribute)
            and isinstance(arg.value, ast.Name)
            and arg.value.id in ("self", "cls", *self._class_stack)
        ):
            for scope in reversed(self._class_consts):
                if arg.attr in scope:
                    return scope[arg.attr]
        return None


def _unparse(node: ast.expr | None) -> str:
    return ast.unparse(node) if node is not None else "<no argument>"


def _string_constants(body: Iterable[ast.stmt]) -> dict[str, str]:
    out: dict[str, str] = {}
    for stmt in body:
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            value, targets = stmt.value, list(stmt.targets)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            value, targets = stmt.value, [stmt.target]
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for t in targets:
                if isinstance(t, ast.Name):
                    out[t.id] = value.value
    return out


def scan_patch_sites(workflows: Sequence[type]) -> list[PatchSite]:
    """Every patch call in the modules that define the given workflow classes.

    The scan is static (``ast``): calls written as ``workflow.patched("id")``,
    ``temporalio.workflow.patched(...)``, a bare ``patched(...)`` imported from
    ``temporalio.workflow``, and the ``deprecate_patch`` forms; ids given as string literals
    or module/class-level string constants are resolved. Other ids are reported with
    ``patch_id=None`` and their source text.

    Args:
        workflows: ``@workflow.defn`` classes.
    """
    by_file: dict[str, dict[str, str]] = {}
    for cls in workflows:
        try:
            file = inspect.getsourcefile(cls)
        except TypeError:
            file = None
        if file is None:
            continue
        by_file.setdefault(file, {})[cls.__qualname__] = workflow_type_name(cls)
    sites: list[PatchSite] = []
    for file, classes in by_file.items():
        try:
            tree = ast.parse(Path(file).read_text(encoding="utf-8"), filename=file)
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        scanner = _Scanner(tree, file, classes)
        scanner.visit(tree)
        sites.extend(scanner.sites)
    return sites
