"""`replaykit lint`: static determinism checks of Temporal workflow code.

See :func:`lint_paths` for the entry point and :data:`RULES` for what is checked.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from replaykit.lint._analysis import ModuleInfo, Project, analyse, build_module
from replaykit.lint._format import format_json, format_rules, format_sarif, format_text
from replaykit.lint._model import (
    RULES,
    Finding,
    LintError,
    LintReport,
    Rule,
    resolve_rules,
)

# Folders never worth descending into when a directory is given.
_SKIP_DIRS = frozenset(
    {"__pycache__", ".git", ".hg", ".venv", "venv", ".tox", ".nox", "node_modules", "build", "dist"}
)


def _python_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                yield Path(dirpath) / filename


def _ast_parse(data: bytes, filename: str) -> ast.Module:
    """``ast.parse``, again when CPython < 3.11.8 / 3.12.1 raises its spurious "AST constructor
    recursion depth mismatch" (its AST depth counter is shared by threads: an import compiling
    in another thread of the process can trip it; CPython gh-106905)."""
    for attempt in range(3):
        try:
            return ast.parse(data, filename=filename)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _parse(path: Path) -> tuple[str, ast.Module] | str:
    """(source, tree) of a file, or the reason it cannot be checked."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        tree = _ast_parse(data, str(path))
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        if exc.lineno and exc.offset:
            where += f", column {exc.offset}"
        return f"not valid Python: {where}: {exc.msg}"
    except ValueError as exc:  # e.g. source code string cannot contain null bytes
        return f"not valid Python: {exc}"
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        source = data.decode("latin-1")  # only suppression comments are read from the text
    return source, tree


def lint_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    select: Iterable[str] | str | None = None,
    ignore: Iterable[str] | str | None = None,
) -> LintReport:
    """Check workflow code in files and folders for replay hazards.

    Folders are searched recursively for ``*.py`` files (hidden folders, virtualenvs and
    ``__pycache__`` are skipped). All files of one call form one project: a workflow in one
    file that calls a helper defined in another checked file gets the helper checked too, and
    an ``@activity.defn`` function imported from another checked file is recognised.

    Args:
        paths: Files and folders.
        select: Only report these rules (ids like ``RK101`` or names like ``wall-clock``;
            strings may hold comma-separated lists). None means every rule.
        ignore: Never report these rules.

    Returns:
        The report; findings are sorted by path, line, column and rule. Missing or unparseable
        files are listed in ``errors`` and every other file is still checked.

    Raises:
        ValueError: When ``select`` or ``ignore`` names an unknown rule.
    """
    selected = resolve_rules(select, option="select") if select is not None else None
    ignored = resolve_rules(ignore, option="ignore") if ignore is not None else frozenset()

    errors: list[LintError] = []
    modules: list[ModuleInfo] = []
    seen: set[Path] = set()
    for raw in paths:
        given = Path(raw)
        if given.is_dir():
            candidates = list(_python_files(given))
        elif given.exists():
            candidates = [given]
        else:
            errors.append(LintError(str(raw), "no such file or directory"))
            continue
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            parsed = _parse(candidate)
            if isinstance(parsed, str):
                errors.append(LintError(str(candidate), parsed))
                continue
            source, tree = parsed
            modules.append(build_module(str(candidate), source, tree, candidate))

    suppressions = {module.path: module.suppressions for module in modules}
    kept: set[Finding] = set()
    for finding in analyse(Project(modules)):
        if selected is not None and finding.rule not in selected:
            continue
        if finding.rule in ignored:
            continue
        marks = suppressions.get(finding.path, {})
        if finding.line in marks:
            suppressed = marks[finding.line]
            if suppressed is None or finding.rule in suppressed:
                continue
        kept.add(finding)
    ordered = sorted(kept, key=lambda f: (f.path, f.line, f.col, f.rule, f.message))
    return LintReport(findings=tuple(ordered), errors=tuple(errors), files_checked=len(modules))


__all__ = [
    "RULES",
    "Finding",
    "LintError",
    "LintReport",
    "lint_paths",
]
