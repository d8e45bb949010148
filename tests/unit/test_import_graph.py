"""The ``replaykit`` package has no import cycle, counting imports inside functions.

A function-level import hides a cycle from Python at import time but not from the design: the
two modules still depend on each other. Imports under ``if TYPE_CHECKING:`` are type-only and
are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "replaykit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Every replaykit module that ``module`` imports, anywhere except TYPE_CHECKING blocks."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]

    def resolve(name: str) -> str | None:
        # ``from x import y`` may name a submodule y or an attribute of x.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "replaykit":
                    target = resolve(alias.name)
                    if target:
                        found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == "replaykit":
                for alias in node.names:
                    target = resolve(f"{base}.{alias.name}")
                    if target:
                        found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    # Importing ``a.b.c`` first runs the packages ``a`` and ``a.b`` — unless the importer
    # lives inside them (then they are already being imported).
    for target in list(found):
        parent = target.rpartition(".")[0]
        while parent:
            if parent in modules and not module.startswith(parent + ".") and parent != module:
                found.add(parent)
            parent = parent.rpartition(".")[0]
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imports(tree, name, path.name == "__init__.py", modules)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each as a cycle path."""
    edges = graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return [_cycle_path(c, edges) for c in components]


def _cycle_path(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the component's first module (breadth-first, shortest)."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & members):
                if w == start:
                    path = [start]
                    while v != start:
                        path.append(v)
                        v = parents[v]
                    return [start, *reversed(path[1:]), start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # pragma: no cover - an SCC always has a cycle


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph()
    # replaykit/cli/check.py imports replaykit.check._engine relatively; replaykit/faults/__init__.py
    # imports its submodules relatively.
    assert "replaykit.faults._runner" in graph["replaykit.faults"]
    assert "replaykit.check._engine" in graph["replaykit.cli.check"]


def test_find_cycles_reports_a_cycle_hidden_in_a_function() -> None:
    a = ast.parse("def f():\n    from replaykit import b\n")
    b = ast.parse(
        "from . import a\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from replaykit import c\n"
    )
    c = ast.parse("import replaykit.a\n")
    modules = {"replaykit", "replaykit.a", "replaykit.b", "replaykit.c"}
    graph = {
        "replaykit.a": _imports(a, "replaykit.a", False, modules),
        "replaykit.b": _imports(b, "replaykit.b", False, modules),
        "replaykit.c": _imports(c, "replaykit.c", False, modules),
    }
    assert graph["replaykit.b"] == {"replaykit.a"}  # the TYPE_CHECKING import is left out
    assert find_cycles(graph) == [["replaykit.a", "replaykit.b", "replaykit.a"]]


def test_replaykit_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles in replaykit:\n" + "\n".join(" -> ".join(c) for c in cycles)


# ---------------------------------------------------------------------------------------
# Layers: a package imports only its own modules and packages of lower layers.

#: The layers of replaykit, lowest first. A package may import packages of lower layers only
#: (not of its own layer: two packages side by side do not know each other). The lower
#: layers (plumbing, config, history, servers) never reach the check, faults or the CLI.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_internal",),
    ("config",),
    ("history",),
    ("servers", "integrations", "effects"),
    ("record",),
    ("check",),
    ("views", "shadow"),
    ("debug", "patches", "lint"),
    ("faults",),
    ("sagas", "strategies"),
    ("cli",),
    ("__main__",),
)
_RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Each import of a package at the same or a higher layer, as ``importer -> imported``."""
    found = []
    for module, targets in sorted(graph.items()):
        own = _package(module)
        if not own:  # replaykit/__init__.py: the lazy hoist of every package's contract
            continue
        for target in sorted(targets):
            other = _package(target)
            if other and other != own and _RANK[other] >= _RANK[own]:
                found.append(
                    f"{module} imports {target} ({own!r} is layer {_RANK[own]}, "
                    f"{other!r} is layer {_RANK[other]})"
                )
    return found


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for m in import_graph()} - {""}
    assert packages == set(_RANK), "add the package to LAYERS (or remove the stale entry)"


def test_layer_violations_name_the_offending_import() -> None:
    graph = {
        "replaykit.config._config": {"replaykit.check._budget", "replaykit._internal._errors"},
        "replaykit.check._engine": {"replaykit.history._files", "replaykit.config._settings"},
        "replaykit.views._show": {"replaykit.views._timeline"},
    }
    assert layer_violations(graph) == [
        "replaykit.config._config imports replaykit.check._budget ('config' is layer 1, "
        "'check' is layer 5)"
    ]


def test_lower_layers_never_import_higher_ones() -> None:
    violations = layer_violations(import_graph())
    assert violations == [], "layering broken:\n" + "\n".join(violations)
