"""The ``workflow.patched()`` lifecycle: which patch ids histories still need.

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
:func:`replaykit.patches._prepatch.generate_pre_patch_histories_async`: a worker whose ``patch_activation_callback`` returns
False makes ``workflow.patched()`` take the old branch and write no marker, exactly what code
from before the patch did.

This module is the analysis (:func:`analyze_patches` and its report). Its inputs come from
:mod:`replaykit.patches._scan` (the code), :mod:`replaykit.history._patch_markers` (the histories) and
:mod:`replaykit.patches._hook` (replay); :mod:`replaykit.patches._text` prints the report.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from temporalio.api.enums.v1 import EventType

from replaykit._internal._errors import HistoryError
from replaykit._internal._sdk_compat import PatchCall, workflow_type_name
from replaykit.check._divergence import CheckReport, HistoryResult
from replaykit.check._engine import CheckOptions, check_histories, collect_workflows
from replaykit.history._events import COMMAND_EVENTS
from replaykit.history._files import HistoryFile, find_history_files, load_history
from replaykit.history._patch_markers import PatchMarker, history_patch_markers

from ._hook import drain, observing
from ._scan import PatchSite, scan_patch_sites

__all__ = [
    "HistoryPatchState",
    "PatchReport",
    "PatchRow",
    "analyze_patches",
]

CodeState = Literal["patched", "deprecated", "absent"]
Branch = Literal["marked", "old", "not-reached"]
Verdict = Literal["keep", "deprecate", "keep-deprecated", "remove", "removed", "unsafe"]

E = EventType
# The commands the position rule counts: the event model's command events, search-attribute
# upserts left out (``workflow.patched`` itself writes one).
_COMMAND_EVENTS = COMMAND_EVENTS - {E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES}


# ---------------------------------------------------------------------------------------
# What histories say: where the patch is evaluated (the position rule)


def _command_ids(hf: HistoryFile) -> tuple[int, ...]:
    """Ids of the events counted as commands, in order (kept on the history's view)."""
    return hf.view.ids_of_type(*_COMMAND_EVENTS)


def _commands_before(hf: HistoryFile, event_id: int) -> int:
    return bisect_left(_command_ids(hf), event_id)


def _reaches_past(hf: HistoryFile, commands: int) -> bool:
    """The execution issued ``commands`` commands and then completed another workflow task."""
    if not hf.events:
        return False
    # the event after which a workflow task must have completed
    after = hf.events[0].event_id
    if commands > 0:
        command_ids = _command_ids(hf)
        if len(command_ids) < commands:
            return False
        after = command_ids[commands - 1]
    completed = hf.view.ids_of_type(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    return bool(completed) and completed[-1] > after


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
    known_types = {workflow_type_name(c) for c in classes}
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
    # One history per check: a patch call is then attributed to the history whose replay
    # made it even when two histories share a workflow id (a recorded and a generated run)
    # and the engine overlaps in-process replays.
    reports: list[CheckReport] = []
    with observing() as calls:
        for hf in histories:
            one = check_histories(
                [hf], workflows=classes, options=options or CheckOptions(), jobs=0
            )
            taken = drain(calls)
            reports.append(one)
            for result in one.results:
                results.append(result)
                calls_by_index.append(taken)
    check = CheckReport(
        results=tuple(r for rep in reports for r in rep.results),
        seconds=sum(rep.seconds for rep in reports),
        options=reports[0].options if reports else {},
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
