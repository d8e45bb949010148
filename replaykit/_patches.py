"""The ``workflow.patched()`` lifecycle: which patch ids histories still need, and old branches.

A patch goes through three code states: ``patched`` (``if workflow.patched(id): new else: old``),
``deprecated`` (``workflow.deprecate_patch(id)`` followed by the new code only) and ``absent``
(the call removed). Each step is safe only when no history still depends on what it takes away:

* **deprecate** (drop the old branch) is safe when no history *took the old branch*;
* **remove** (drop the call) is safe when, in addition, no history carries a *non-deprecated*
  marker for the id (the SDK core rejects such a marker without a matching ``patched`` call;
  deprecated markers are ignored).

How a history is classified for a patch id ``P`` of workflow type ``T``:

* **marked**: it has a ``core_patch`` MarkerRecorded event whose ``patch-data`` names ``P``
  (or the ``TemporalChangeVersion`` search attribute upsert lists ``P``); ``deprecated`` says
  whether the marker was written by ``deprecate_patch``.
* **old branch** (predates the patch): it has no marker for ``P`` and, replayed on the current
  code, the code evaluated ``patched(P)`` / ``deprecate_patch(P)`` *while replaying*, so the
  call returned False: the recorded execution ran the old code there. This is observed, not
  guessed. When the current code no longer evaluates ``P`` (patch removed) or its replay failed
  before reaching the call, a position rule stands in: the history has at least as many command
  events as the marked histories of ``T`` had before their marker, and a workflow task completed
  after that point (the execution went past where the patch is evaluated).
* **not reached**: unmarked, and the code never evaluated ``P`` while replaying it (the
  execution ended, or is still waiting, before the patch point; when it resumes, it takes the
  new branch). It needs neither branch.

Old-branch histories can be produced from the *current* code with
:func:`generate_pre_patch_histories`: a worker whose ``patch_activation_callback`` returns
False makes ``workflow.patched()`` take the old branch and write no marker, exactly what code
from before the patch did.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import temporalio.api.history.v1
import temporalio.client
import temporalio.worker
import temporalio.workflow
from temporalio.api.enums.v1 import EventType

from ._check import CheckOptions, check_histories, collect_workflows
from ._divergence import CheckReport, HistoryResult
from ._errors import HistoryError
from ._history import HistoryFile, find_history_files, load_history
from ._patch_markers import PATCH_MARKER_NAME, PatchMarker, history_patch_markers
from ._record import RecordedScenario, write_outcome
from ._scenario import Scenario, run_scenario
from ._sdk_compat import PatchCall, hook_workflow_patch
from ._server_spec import ServerSpec
from ._servers import start_server_async

__all__ = [
    "PATCH_MARKER_NAME",
    "HistoryPatchState",
    "PatchMarker",
    "PatchReport",
    "PatchRow",
    "PatchSite",
    "PrePatchReport",
    "analyze_patches",
    "format_patch_report",
    "generate_pre_patch_groups",
    "generate_pre_patch_groups_async",
    "generate_pre_patch_histories",
    "history_patch_markers",
    "scan_patch_sites",
]

CodeState = Literal["patched", "deprecated", "absent"]
Branch = Literal["marked", "old", "not-reached"]
Verdict = Literal["keep", "deprecate", "keep-deprecated", "remove", "removed", "unsafe"]

E = EventType
_COMMAND_EVENTS = frozenset(
    {
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        E.EVENT_TYPE_TIMER_STARTED,
        E.EVENT_TYPE_TIMER_CANCELED,
        E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
)


# ---------------------------------------------------------------------------------------
# What the code says: an AST scan of the workflow classes' modules


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


def _workflow_type(cls: type) -> str:
    defn = temporalio.workflow._Definition.from_class(cls)
    return (defn.name if defn is not None and defn.name else None) or cls.__name__


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
        by_file.setdefault(file, {})[cls.__qualname__] = _workflow_type(cls)
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


# ---------------------------------------------------------------------------------------
# What histories say: patch markers


def _commands_before(hf: HistoryFile, event_id: int) -> int:
    return sum(1 for ev in hf.events[: event_id - 1] if ev.event_type in _COMMAND_EVENTS)


def _reaches_past(hf: HistoryFile, commands: int) -> bool:
    """The execution issued ``commands`` commands and then completed another workflow task."""
    start = 0  # index of the event after which a workflow task must have completed
    if commands > 0:
        command_indexes = [i for i, ev in enumerate(hf.events) if ev.event_type in _COMMAND_EVENTS]
        if len(command_indexes) < commands:
            return False
        start = command_indexes[commands - 1]
    return any(
        ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for ev in hf.events[start + 1 :]
    )


# ---------------------------------------------------------------------------------------
# What replay says: which patch calls the code makes on each history


_SINK_LOCK = threading.Lock()
_SINK: list[PatchCall] | None = None


def _install_patch_hook() -> None:
    """Observe every ``workflow_patch`` call (``patched``/``deprecate_patch``) in this process.

    The SDK gives no hook for patch calls (:func:`hook_workflow_patch` wraps the instance
    method the workflow context calls). It records only while :func:`_observing` is active.
    """
    if not hook_workflow_patch(_record_patch_call):
        raise RuntimeError(
            "this temporalio has no _WorkflowInstanceImpl.workflow_patch to observe patch calls"
        )


def _record_patch_call(call: PatchCall) -> None:
    sink = _SINK
    if sink is not None:
        with _SINK_LOCK:
            sink.append(call)


@contextmanager
def _observing() -> Iterator[list[PatchCall]]:
    global _SINK
    _install_patch_hook()
    calls: list[PatchCall] = []
    with _SINK_LOCK:
        if _SINK is not None:
            raise RuntimeError("analyze_patches is already running in this process")
        _SINK = calls
    try:
        yield calls
    finally:
        with _SINK_LOCK:
            _SINK = None


# ---------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class HistoryPatchState:
    """How one history relates to one patch id.

    Attributes:
        path: The history file.
        workflow_id: Its workflow id.
        branch: ``marked`` (has the marker), ``old`` (took the old branch: it predates the
            patch) or ``not-reached`` (never evaluated the patch).
        deprecated_marker: For marked histories: whether the marker is a deprecated one.
        evidence: ``marker``, ``replay`` (observed while replaying on the current code) or
            ``position`` (the position rule; the code no longer evaluates the patch).
        replays: Whether the current code replays this history clean.
        problem: The first divergence or error when it does not.
    """

    path: str
    workflow_id: str
    branch: Branch
    deprecated_marker: bool | None
    evidence: str
    replays: bool
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "path": self.path,
            "workflow_id": self.workflow_id,
            "branch": self.branch,
            "deprecated_marker": self.deprecated_marker,
            "evidence": self.evidence,
            "replays": self.replays,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class PatchRow:
    """The lifecycle verdict on one patch id.

    Attributes:
        patch_id: The id.
        workflow_types: Workflow types whose code or histories carry it.
        code_state: ``patched``, ``deprecated`` or ``absent`` in the current code.
        sites: Where the code calls it (``file:line``).
        histories: How each relevant history relates to it.
        deprecate_safe: No history took the old branch, so the old branch may go.
        remove_safe: Also no history carries a non-deprecated marker, so the call may go.
        verdict: ``keep``, ``deprecate``, ``keep-deprecated``, ``remove``, ``removed`` or
            ``unsafe`` (the current code fails a history that needs one of the branches).
        reason: One sentence saying why.
    """

    patch_id: str
    workflow_types: tuple[str, ...]
    code_state: CodeState
    sites: tuple[str, ...]
    histories: tuple[HistoryPatchState, ...]
    deprecate_safe: bool
    remove_safe: bool
    verdict: Verdict
    reason: str

    @property
    def with_marker(self) -> list[HistoryPatchState]:
        """Histories that recorded the marker (deprecated or not)."""
        return [h for h in self.histories if h.branch == "marked"]

    @property
    def active_markers(self) -> list[HistoryPatchState]:
        """Histories with a non-deprecated (or unknown) marker."""
        return [h for h in self.with_marker if h.deprecated_marker is not True]

    @property
    def old_branch(self) -> list[HistoryPatchState]:
        """Histories that took the old branch (predate the patch)."""
        return [h for h in self.histories if h.branch == "old"]

    @property
    def failing(self) -> list[HistoryPatchState]:
        """Histories needing one of the branches that the current code does not replay."""
        return [h for h in self.histories if h.branch != "not-reached" and not h.replays]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (one row of ``replaykit patches --json``)."""
        return {
            "patch_id": self.patch_id,
            "workflow_types": list(self.workflow_types),
            "code_state": self.code_state,
            "sites": list(self.sites),
            "histories_with_marker": len(self.with_marker),
            "histories_with_active_marker": len(self.active_markers),
            "histories_without_marker": len(self.old_branch),
            "histories_not_reaching": sum(1 for h in self.histories if h.branch == "not-reached"),
            "histories_failing": len(self.failing),
            "deprecate_safe": self.deprecate_safe,
            "remove_safe": self.remove_safe,
            "verdict": self.verdict,
            "reason": self.reason,
            "histories": [h.to_json() for h in self.histories],
        }


@dataclass(frozen=True)
class PatchReport:
    """Everything :func:`analyze_patches` found.

    Attributes:
        rows: One per patch id, sorted by id.
        check: The replay check of every history given.
        errors: Input errors (unreadable histories), one line each.
        warnings: Things the analysis could not decide (dynamic patch ids, skipped types).
    """

    rows: tuple[PatchRow, ...]
    check: CheckReport
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def unsafe(self) -> list[PatchRow]:
        """Rows whose current code fails a history that needs a branch."""
        return [r for r in self.rows if r.verdict == "unsafe"]

    @property
    def exit_code(self) -> int:
        """2 on input errors, else 1 when a lifecycle step was unsafe, else 0."""
        if self.errors:
            return 2
        return 1 if self.unsafe else 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "patches": [r.to_json() for r in self.rows],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "histories": len(self.check.results),
            "exit_code": self.exit_code,
        }


def _problem(result: HistoryResult | None) -> str | None:
    if result is None:
        return "not replayed"
    if result.status == "error":
        return result.error
    first = result.first
    if result.status == "divergent" and first is not None:
        return f"[{first.cause}] {first.message}"
    return None


@dataclass
class _Acc:
    patch_id: str
    types: dict[str, None] = field(default_factory=dict)
    sites: list[PatchSite] = field(default_factory=list)
    observed_deprecated: set[bool] = field(default_factory=set)


def analyze_patches(
    paths: Iterable[HistoryFile | str | Path],
    *,
    workflows: Sequence[str | type],
    options: CheckOptions | None = None,
    workflow_id: str | None = None,
) -> PatchReport:
    """The patch lifecycle report for a set of histories and the current code.

    Every history whose workflow type is among ``workflows`` is replayed on the current code
    (in this process, strictly, as ``replaykit check`` does), while the patch calls the code
    makes are observed. See the module docstring for how histories are classified.

    Args:
        paths: History files, folders, or loaded histories.
        workflows: Module names (packages walked), ``module:Class`` names or classes.
        options: Check options (strictness, allow rules, sandbox).
        workflow_id: Workflow id for plain exports without replaykit metadata.

    Raises:
        ConfigError: A workflow module cannot be imported.
    """
    classes = collect_workflows(workflows)
    known_types = {_workflow_type(c) for c in classes}
    errors: list[str] = []
    warnings: list[str] = []
    loaded: list[HistoryFile] = []
    for item in paths:
        if isinstance(item, HistoryFile):
            loaded.append(item)
            continue
        try:
            files = find_history_files([item])
        except HistoryError as err:
            errors.append(str(err))
            continue
        for file in files:
            try:
                loaded.append(load_history(file, workflow_id=workflow_id))
            except HistoryError as err:
                errors.append(str(err))
    histories: list[HistoryFile] = []
    for hf in loaded:
        if hf.workflow_type in known_types:
            histories.append(hf)
        else:
            warnings.append(
                f"{hf.display_name}: workflow type {hf.workflow_type!r} is not in --workflows; "
                "skipped"
            )

    sites = scan_patch_sites(classes)
    for site in sites:
        if site.patch_id is None:
            warnings.append(
                f"{site.location}: patch id {site.expression} is not a string constant; "
                "only ids seen at replay or in markers are reported"
            )

    # Replay everything, observing patch calls; results arrive one history at a time.
    calls_by_index: list[list[PatchCall]] = []
    results: list[HistoryResult] = []
    with _observing() as calls:

        def on_result(result: HistoryResult) -> None:
            with _SINK_LOCK:
                taken = list(calls)
                calls.clear()
            results.append(result)
            calls_by_index.append(taken)

        check = check_histories(
            histories,
            workflows=classes,
            options=options or CheckOptions(),
            jobs=0,
            on_result=on_result,
        )
    result_for: dict[int, tuple[HistoryResult, list[PatchCall]]] = {}
    unmatched = list(zip(results, calls_by_index, strict=True))
    for index, hf in enumerate(histories):
        for j, (res, hcalls) in enumerate(unmatched):
            if res.path == (str(hf.path) if hf.path else None) and res.workflow_id in (
                hf.workflow_id,
                None,
            ):
                result_for[index] = (res, [c for c in hcalls if c.workflow_id == hf.workflow_id])
                del unmatched[j]
                break

    markers_of: list[dict[str, PatchMarker]] = []
    for hf in histories:
        found, problems = history_patch_markers(hf)
        markers_of.append({m.patch_id: m for m in found})
        warnings.extend(f"{hf.display_name}: {p}" for p in problems)

    acc: dict[str, _Acc] = {}
    for site in sites:
        if site.patch_id is None:
            continue
        a = acc.setdefault(site.patch_id, _Acc(site.patch_id))
        a.sites.append(site)
        a.types.update(dict.fromkeys(site.workflow_types))
    for index, hf in enumerate(histories):
        for pid in markers_of[index]:
            acc.setdefault(pid, _Acc(pid)).types[hf.workflow_type] = None
        for call in result_for.get(index, (None, []))[1]:
            a = acc.setdefault(call.patch_id, _Acc(call.patch_id))
            a.types[hf.workflow_type] = None
            a.observed_deprecated.add(call.deprecated)

    rows: list[PatchRow] = []
    for pid in sorted(acc):
        a = acc[pid]
        rows.append(_row(a, histories, markers_of, result_for))
    return PatchReport(
        rows=tuple(rows), check=check, errors=tuple(errors), warnings=tuple(warnings)
    )


def _row(
    a: _Acc,
    histories: Sequence[HistoryFile],
    markers_of: Sequence[dict[str, PatchMarker]],
    result_for: dict[int, tuple[HistoryResult, list[PatchCall]]],
) -> PatchRow:
    pid = a.patch_id
    kinds = {s.deprecated for s in a.sites} | a.observed_deprecated
    code_state: CodeState
    if False in kinds:
        code_state = "patched"
    elif True in kinds:
        code_state = "deprecated"
    else:
        code_state = "absent"
    # Where the patch is evaluated: the fewest commands any marked history issued first.
    positions: dict[str, int] = {}
    for index, hf in enumerate(histories):
        marker = markers_of[index].get(pid)
        if marker is not None and hf.workflow_type in a.types:
            n = _commands_before(hf, marker.event_id)
            positions[hf.workflow_type] = min(n, positions.get(hf.workflow_type, n))
    states: list[HistoryPatchState] = []
    for index, hf in enumerate(histories):
        if hf.workflow_type not in a.types:
            continue
        result, calls = result_for.get(index, (None, []))
        replays = result is not None and result.status == "clean"
        path = hf.display_name
        marker = markers_of[index].get(pid)
        mine = [c for c in calls if c.patch_id == pid]
        if marker is not None:
            branch: Branch = "marked"
            evidence = "marker"
        elif any(c.replaying and not c.result for c in mine):
            branch, evidence = "old", "replay"
        elif mine:
            branch, evidence = "not-reached", "replay"  # evaluated only past the history's end
        elif (code_state == "absent" or not replays) and hf.workflow_type in positions:
            reached = _reaches_past(hf, positions[hf.workflow_type])
            branch = "old" if reached else "not-reached"
            evidence = "position"
        else:
            branch, evidence = "not-reached", "replay" if replays else "none"
        states.append(
            HistoryPatchState(
                path=path,
                workflow_id=hf.workflow_id,
                branch=branch,
                deprecated_marker=marker.deprecated if marker is not None else None,
                evidence=evidence,
                replays=replays,
                problem=None if replays else _problem(result),
            )
        )
    old = [s for s in states if s.branch == "old"]
    active = [s for s in states if s.branch == "marked" and s.deprecated_marker is not True]
    failing = [s for s in states if s.branch != "not-reached" and not s.replays]
    deprecate_safe = not old
    remove_safe = deprecate_safe and not active
    verdict, reason = _verdict(code_state, old, active, failing, states)
    return PatchRow(
        patch_id=pid,
        workflow_types=tuple(a.types),
        code_state=code_state,
        sites=tuple(dict.fromkeys(s.location for s in a.sites)),
        histories=tuple(states),
        deprecate_safe=deprecate_safe,
        remove_safe=remove_safe,
        verdict=verdict,
        reason=reason,
    )


def _n(items: Sequence[object], word: str) -> str:
    plural = {"history": "histories"}.get(word, word + "s")
    return f"{len(items)} {word if len(items) == 1 else plural}"


def _fail(items: Sequence[object]) -> str:
    return "fails" if len(items) == 1 else "fail"


def _verdict(
    code_state: CodeState,
    old: list[HistoryPatchState],
    active: list[HistoryPatchState],
    failing: list[HistoryPatchState],
    states: list[HistoryPatchState],
) -> tuple[Verdict, str]:
    if failing:
        failing_old = [s for s in failing if s.branch == "old"]
        failing_marked = [s for s in failing if s.branch == "marked"]
        parts = []
        if failing_old:
            step = {
                "deprecated": "deprecate_patch() came too early",
                "absent": "the patch (and its old branch) was removed too early",
                "patched": "the old branch no longer replays them",
            }[code_state]
            parts.append(
                f"{_n(failing_old, 'history')} that took the old branch "
                f"{_fail(failing_old)}: {step}"
            )
        active_failing = [s for s in failing_marked if s.deprecated_marker is not True]
        other_failing = [s for s in failing_marked if s.deprecated_marker is True]
        if active_failing:
            step = (
                "the patch call is gone while executions carry its non-deprecated marker"
                if code_state == "absent"
                else "the new branch no longer replays them"
            )
            parts.append(
                f"{_n(active_failing, 'history')} with the marker {_fail(active_failing)}: {step}"
            )
        if other_failing:
            parts.append(
                f"{_n(other_failing, 'history')} with a deprecated marker "
                f"{_fail(other_failing)}: the new branch no longer replays them"
            )
        return "unsafe", "; ".join(parts)
    if not states:
        return (
            "keep"
            if code_state == "patched"
            else "removed"
            if code_state == "absent"
            else "keep-deprecated",
            "no histories of these workflow types were given: nothing is known; record some "
            "(or generate old-branch ones with --generate-old) before deciding",
        )
    if code_state == "patched":
        if old:
            return "keep", (
                f"{_n(old, 'history')} took the old branch; deprecating would break "
                f"{'it' if len(old) == 1 else 'them'} until those executions have finished"
            )
        return "deprecate", (
            "no history took the old branch: replace patched() with deprecate_patch() and "
            "drop the old branch"
        )
    if code_state == "deprecated":
        if active:
            return "keep-deprecated", (
                f"{_n(active, 'history')} {'carries' if len(active) == 1 else 'carry'} the "
                "non-deprecated marker; removing the call would break "
                f"{'it' if len(active) == 1 else 'them'} until those executions have finished"
            )
        return "remove", "only deprecated markers remain: the deprecate_patch() call can go"
    return "removed", "no code evaluates it and every history that carries it replays"


# ---------------------------------------------------------------------------------------
# Pre-patch histories from current code


@dataclass(frozen=True)
class PrePatchReport:
    """What :func:`generate_pre_patch_histories` produced.

    Attributes:
        scenarios: Each scenario's outcome and the files written for it.
        deactivated: Per scenario, the patch ids the code asked about and was told "no".
    """

    scenarios: tuple[RecordedScenario, ...]
    deactivated: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def ok(self) -> bool:
        """True when every scenario passed."""
        return all(s.ok for s in self.scenarios)

    @property
    def files(self) -> list[Path]:
        """Every history file written."""
        return [f for s in self.scenarios for f in s.files]


async def generate_pre_patch_histories(
    scenarios: Sequence[Scenario],
    client: temporalio.client.Client,
    *,
    out_dir: Path | str,
    patch_ids: Sequence[str] | None = None,
    overwrite: bool = False,
    on_done: Callable[[RecordedScenario, tuple[str, ...]], None] | None = None,
    plugins: Sequence[Any] = (),
) -> PrePatchReport:
    """Record old-branch histories by running scenarios with every patch held off.

    The worker's (experimental) ``patch_activation_callback`` answers False for new patch
    calls, so ``workflow.patched(id)`` returns False and writes no marker: the executions run
    the old branch exactly as code from before the patch did. ``deprecate_patch`` ignores the
    callback (its old branch is gone), so deprecated patches still take the new branch.

    Files go to ``<out_dir>/<scenario>/<workflow id>[.runN].json``; their metadata's ``extra``
    says ``pre_patch: true`` and lists the ids held off.

    Args:
        scenarios: What to run.
        client: A connected client.
        out_dir: Destination folder (keep it apart from the post-patch recordings).
        patch_ids: Hold off only these ids (default: every patch).
        overwrite: Replace existing files (otherwise they are kept and reported).
        on_done: Called after each scenario with its result and the ids held off.
        plugins: Plugins for every scenario, after each scenario's own.
    """
    wanted = set(patch_ids) if patch_ids is not None else None
    done: list[RecordedScenario] = []
    deactivated: list[tuple[str, tuple[str, ...]]] = []
    for scn in scenarios:
        held: dict[str, None] = {}
        lock = threading.Lock()

        def hold_off(
            input: temporalio.worker.PatchActivationInput,
            held: dict[str, None] = held,
            lock: threading.Lock = lock,
        ) -> bool:
            if wanted is not None and input.patch_id not in wanted:
                return True
            with lock:
                held[input.patch_id] = None
            return False

        outcome = await run_scenario(scn, client, patch_activation_callback=hold_off,
                                     plugins=plugins)
        ids = tuple(held)
        recorded = write_outcome(
            scn, outcome, out_dir, namespace=client.namespace, overwrite=overwrite,
            extra={"pre_patch": True, "patches_held_off": list(ids)},
        )
        done.append(recorded)
        deactivated.append((scn.name, ids))
        if on_done is not None:
            on_done(recorded, ids)
    return PrePatchReport(tuple(done), tuple(deactivated))


async def generate_pre_patch_groups_async(
    groups: Sequence[tuple[ServerSpec, Sequence[Scenario]]],
    *,
    out_dir: Path | str,
    patch_ids: Sequence[str] | None = None,
    overwrite: bool = False,
    on_done: Callable[[RecordedScenario, tuple[str, ...]], None] | None = None,
    plugins: Sequence[Any] = (),
) -> PrePatchReport:
    """Start each group's server in turn and generate its scenarios' old-branch histories.

    ``groups`` are ``(server spec, scenarios)`` pairs (the CLI's ``server_groups``); the other
    arguments are :func:`generate_pre_patch_histories`'.

    Raises:
        ReplaykitError: A server does not start or cannot be reached.
    """
    done: list[RecordedScenario] = []
    deactivated: list[tuple[str, tuple[str, ...]]] = []
    for spec, group in groups:
        async with await start_server_async(spec) as running:
            client = await running.client()
            report = await generate_pre_patch_histories(
                group, client, out_dir=out_dir, patch_ids=patch_ids, overwrite=overwrite,
                on_done=on_done, plugins=plugins,
            )
            done.extend(report.scenarios)
            deactivated.extend(report.deactivated)
    return PrePatchReport(tuple(done), tuple(deactivated))


def generate_pre_patch_groups(
    groups: Sequence[tuple[ServerSpec, Sequence[Scenario]]], **kwargs: Any
) -> PrePatchReport:
    """:func:`generate_pre_patch_groups_async` from synchronous code (a fresh event loop)."""
    return asyncio.run(generate_pre_patch_groups_async(groups, **kwargs))


# ---------------------------------------------------------------------------------------
# Text output


_VERDICT_LABEL = {
    "keep": "KEEP",
    "deprecate": "DEPRECATE OK",
    "keep-deprecated": "KEEP DEPRECATED",
    "remove": "REMOVE OK",
    "removed": "REMOVED OK",
    "unsafe": "UNSAFE",
}


def format_patch_report(report: PatchReport, *, details: bool = True) -> str:
    """The readable table ``replaykit patches`` prints, one row per patch id.

    Args:
        report: What :func:`analyze_patches` returned.
        details: Also list, under each row, the histories that need a branch or fail.
    """
    header = (
        "PATCH",
        "TYPES",
        "CODE",
        "MARKER",
        "OLD BRANCH",
        "FAILING",
        "DEPRECATE",
        "REMOVE",
        "VERDICT",
    )
    table: list[tuple[str, ...]] = [header]
    for r in report.rows:
        marker = f"{len(r.with_marker)}"
        if r.with_marker and len(r.active_markers) != len(r.with_marker):
            marker += f" ({len(r.with_marker) - len(r.active_markers)} deprecated)"
        table.append(
            (
                r.patch_id,
                ",".join(r.workflow_types),
                r.code_state,
                marker,
                str(len(r.old_branch)),
                str(len(r.failing)),
                "yes" if r.deprecate_safe else "no",
                "yes" if r.remove_safe else "no",
                _VERDICT_LABEL[r.verdict],
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines: list[str] = []
    for n, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            continue
        r = report.rows[n - 1]
        where = f" [{', '.join(r.sites)}]" if r.sites else ""
        lines.append(f"    reason: {r.reason}{where}")
        if details:
            for h in r.histories:
                if h.branch == "old" or not h.replays and h.branch != "not-reached":
                    status = "replays" if h.replays else f"FAILS {h.problem or ''}".rstrip()
                    label = "old branch" if h.branch == "old" else "marker"
                    lines.append(f"      {label:<10} {h.path}: {status}")
    if not report.rows:
        lines.append("no patch ids found in the code or in the histories")
    for w in report.warnings:
        lines.append(f"warning: {w}")
    for e in report.errors:
        lines.append(f"error: {e}")
    summary = (
        f"{len(report.rows)} patch id(s), {len(report.check.results)} histories replayed; "
        f"{len(report.unsafe)} unsafe"
    )
    lines.append(summary)
    return "\n".join(lines)
