"""Saga verifier: checks compensation behaviour from a workflow history alone.

A saga is a list of steps, each a forward activity type and its compensating activity type.
From the history's activity events the verifier decides, for every forward step, whether it
*applied* (completed), *maybe applied* (timed out, cancelled after it started, or still in flight
when the workflow closed: Jepsen's ``info``), or *never applied* (never scheduled, cancelled
before it started, or failed with an error), and then checks that:

* compensations start only after a failure or a cancellation (an activity failed, timed out or
  was cancelled, a child failed, or a cancel of the workflow was requested);
* when the saga did not finish (a forward step did not complete, or the workflow failed or was
  cancelled), every step that applied or may have applied is compensated exactly once, also
  under cancellation;
* compensations run one after another in reverse order of their forward steps;
* no step that never applied is compensated;
* every compensation succeeded (retries inside the server are fine);
* no forward step starts after compensation began.

An ``ActivityTaskFailed`` event is only the final attempt: earlier attempts are retried inside
the server and only the previous attempt's failure is visible (``lastFailure`` of the started
event). A step whose visible attempts include a timeout may have applied.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import temporalio.activity
import temporalio.api.failure.v1
import temporalio.api.history.v1
import temporalio.client
from temporalio.api.enums.v1 import EventType, TimeoutType

from replaykit._internal._errors import ConfigError, HistoryError, ReplaykitError
from replaykit._internal._imports import resolve_ref
from replaykit._internal._sdk_compat import activity_definition
from replaykit.history._events import HistoryView, view_of
from replaykit.history._failures import FailureView
from replaykit.history._files import HistoryFile, find_history_files, load_history

__all__ = [
    "SagaError",
    "SagaFileResult",
    "SagaReport",
    "SagaRunReport",
    "SagaSpec",
    "SagaStep",
    "SagaViolation",
    "StepOutcome",
    "load_saga_spec",
    "verify_saga",
    "verify_saga_files",
]

ActivityRef = str | Callable[..., Any]
StepState = Literal["applied", "maybe", "not_applied", "not_run"]
ViolationKind = Literal[
    "early-compensation",
    "missing-compensation",
    "duplicate-compensation",
    "order",
    "unneeded-compensation",
    "compensation-failed",
    "forward-after-compensation",
]

_ET = EventType


def _activity_name(ref: ActivityRef) -> str:
    if isinstance(ref, str):
        if not ref:
            raise ConfigError("an activity type name must not be empty")
        return ref
    defn = activity_definition(ref)
    if defn is None or not defn.name:
        name = getattr(ref, "__name__", repr(ref))
        raise ConfigError(f"{name} is not an @activity.defn function; pass its type name")
    return defn.name


@dataclass(frozen=True)
class SagaStep:
    """One saga step: a forward activity type and the activity type that undoes it."""

    forward: str
    compensation: str

    @classmethod
    def of(cls, forward: ActivityRef, compensation: ActivityRef) -> SagaStep:
        """A step from activity type names or ``@activity.defn`` functions."""
        return cls(_activity_name(forward), _activity_name(compensation))

    @classmethod
    def parse(cls, text: str) -> SagaStep:
        """``"FORWARD:COMPENSATION"`` (the CLI's ``--step``)."""
        forward, sep, compensation = text.partition(":")
        if not sep or not forward.strip() or not compensation.strip() or ":" in compensation:
            raise ConfigError(f"invalid step {text!r}: expected FORWARD:COMPENSATION")
        return cls(forward.strip(), compensation.strip())


@dataclass(frozen=True, init=False)
class SagaSpec:
    """A saga's declared steps, in forward order. Declare it next to the workflow.

    Args:
        steps: ``(forward, compensation)`` pairs of activity type names or ``@activity.defn``
            functions, or :class:`SagaStep` objects.
        name: Optional label used in reports.

    Example:
        >>> SAGA = SagaSpec(steps=[(reserve_inventory, release_inventory),
        ...                        ("charge_payment", "refund_payment")])
    """

    steps: tuple[SagaStep, ...]
    name: str | None

    def __init__(
        self,
        steps: Iterable[SagaStep | tuple[ActivityRef, ActivityRef]],
        *,
        name: str | None = None,
    ) -> None:
        norm = tuple(s if isinstance(s, SagaStep) else SagaStep.of(*s) for s in steps)
        if not norm:
            raise ConfigError("a saga needs at least one step")
        seen: set[str] = set()
        for step in norm:
            for activity_type in (step.forward, step.compensation):
                if activity_type in seen:
                    raise ConfigError(f"activity type `{activity_type}` appears twice in the saga")
                seen.add(activity_type)
        object.__setattr__(self, "steps", norm)
        object.__setattr__(self, "name", name)


@dataclass(frozen=True)
class SagaViolation:
    """One broken saga rule.

    Attributes:
        kind: Which rule (``missing-compensation``, ``order``, ...).
        message: Human-readable explanation naming steps and event ids.
        steps: Forward activity types concerned.
        event_ids: History event ids concerned.
    """

    kind: ViolationKind
    message: str
    steps: tuple[str, ...] = ()
    event_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class StepOutcome:
    """What the history says about one saga step.

    Attributes:
        forward: Forward activity type.
        compensation: Compensation activity type.
        state: ``applied``, ``maybe`` (may have applied), ``not_applied`` or ``not_run``.
        forward_events: Scheduled event ids of the forward activity.
        compensation_events: Scheduled event ids of the compensation activity.
        detail: How the forward step ended, e.g. ``completed at event 11``.
    """

    forward: str
    compensation: str
    state: StepState
    forward_events: tuple[int, ...]
    compensation_events: tuple[int, ...]
    detail: str


@dataclass(frozen=True)
class SagaReport:
    """The verdict on one history.

    Attributes:
        workflow_id: The history's workflow id.
        source: File path or workflow id, for messages.
        steps: One outcome per declared step.
        violations: Broken rules, in the order found.
        trigger: What started the rollback (``"activity `x` failed at event 17"``), if anything.
        rolled_back: Whether compensation was due (the saga did not finish).
        closed_as: How the workflow closed (``completed``, ``failed``, ``canceled``, ...), or
            ``open`` for a history that ends mid-execution.
    """

    workflow_id: str
    source: str
    steps: tuple[StepOutcome, ...]
    violations: tuple[SagaViolation, ...]
    trigger: str | None
    rolled_back: bool
    closed_as: str

    @property
    def ok(self) -> bool:
        """True when no saga rule is broken."""
        return not self.violations

    def summary(self) -> str:
        """One line: what happened when all is well, else the violation count."""
        if not self.ok:
            n = len(self.violations)
            return f"{n} saga violation{'s' if n != 1 else ''}"
        applied = [s for s in self.steps if s.state in ("applied", "maybe")]
        if not self.rolled_back:
            return f"saga completed ({len(applied)} steps applied, workflow {self.closed_as})"
        return (
            f"saga rolled back {len(applied)} step{'s' if len(applied) != 1 else ''} "
            f"after {self.trigger} (workflow {self.closed_as})"
        )

    def format(self) -> str:
        """The summary line, then one indented line per violation."""
        lines = [f"{self.source}: {self.summary()}"]
        lines += [f"  - {v.message}" for v in self.violations]
        return "\n".join(lines)


class SagaError(ReplaykitError):
    """A saga history broke at least one rule.

    Attributes:
        report: The verdict.
    """

    def __init__(self, report: SagaReport) -> None:
        self.report = report
        super().__init__(report.format())


@dataclass
class _Run:
    """One activity execution (all its server-side retries) in the history."""

    activity_type: str
    scheduled: int
    outcome: Literal["completed", "failed", "timed_out", "canceled", "pending"] = "pending"
    outcome_event: int | None = None
    attempt: int | None = None
    started_event: int | None = None
    cancel_requested: int | None = None
    failure: str = ""
    timeout_seen: bool = False
    timeout_type: int = 0

    @property
    def end(self) -> int:
        return self.outcome_event if self.outcome_event is not None else self.scheduled

    def state(self) -> StepState:
        if self.outcome == "completed":
            return "applied"
        if self.outcome == "failed":
            return "maybe" if self.timeout_seen else "not_applied"
        if self.outcome == "timed_out":
            never_started = self.started_event is None
            if never_started and self.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
                return "not_applied"
            return "maybe"
        if self.outcome == "canceled":
            return "maybe" if self.started_event is not None else "not_applied"
        return "maybe"

    def describe(self) -> str:
        attempt = f", attempt {self.attempt}" if self.attempt else ""
        if self.outcome == "completed":
            return f"completed at event {self.outcome_event}"
        if self.outcome == "failed":
            how = "failed" if not self.timeout_seen else "failed after a timed-out attempt"
            return f"{how} at event {self.outcome_event}{attempt}: {self.failure}"
        if self.outcome == "timed_out":
            return f"timed out at event {self.outcome_event}{attempt}"
        if self.outcome == "canceled":
            when = "after it started" if self.started_event is not None else "before it started"
            return f"canceled {when} at event {self.outcome_event}"
        return f"scheduled at event {self.scheduled}, never finished"


def _failure_text(failure: temporalio.api.failure.v1.Failure) -> str:
    return FailureView.of(failure).headline()


def _has_timeout(failure: temporalio.api.failure.v1.Failure) -> bool:
    return FailureView.of(failure).has_timeout(within=20)


_CHILD_TROUBLE = {
    _ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "failed",
    _ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    _ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "was canceled",
    _ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "was terminated",
}


@dataclass
class _Parsed:
    runs: list[_Run] = field(default_factory=list)
    triggers: list[tuple[int, str]] = field(default_factory=list)
    cancel_requested: int | None = None
    closed_as: str = "open"


def _parse(view: HistoryView) -> _Parsed:
    parsed = _Parsed(closed_as=view.closed_as)
    for step in view.activities:
        run = _Run(
            activity_type=step.name,
            scheduled=step.event_id,
            outcome=step.outcome,
            outcome_event=step.closed.event_id if step.closed is not None else None,
            attempt=step.attempt,
            started_event=step.started_event_id,
        )
        last_failure = step.last_failure
        if last_failure is not None and _has_timeout(last_failure):
            run.timeout_seen = True
        if run.attempt is None and run.started_event is not None:
            # The closing event names a started event that names another activity.
            sev = view.by_id.get(run.started_event)
            if sev is not None and sev.event_type == _ET.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                run.attempt = sev.activity_task_started_event_attributes.attempt
        failure = step.failure
        if run.outcome == "failed" and failure is not None:
            run.failure = _failure_text(failure)
            run.timeout_seen = run.timeout_seen or _has_timeout(failure)
            parsed.triggers.append(
                (run.end, f"activity `{run.activity_type}` failed at event {run.end}")
            )
        elif run.outcome == "timed_out" and failure is not None:
            run.timeout_seen = True
            run.timeout_type = FailureView.of(failure).timeout_type
            parsed.triggers.append(
                (run.end, f"activity `{run.activity_type}` timed out at event {run.end}")
            )
        if step.cancel_requested is not None:
            run.cancel_requested = eid = step.cancel_requested.event_id
            parsed.triggers.append(
                (eid, f"cancellation of activity `{run.activity_type}` at event {eid}")
            )
        parsed.runs.append(run)
    for ev in view.of_type(_ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, *_CHILD_TROUBLE):
        if ev.event_type in _CHILD_TROUBLE:
            what = f"child workflow {_CHILD_TROUBLE[ev.event_type]}"
        else:
            if parsed.cancel_requested is None:
                parsed.cancel_requested = ev.event_id
            what = "cancel requested"
        parsed.triggers.append((ev.event_id, f"{what} at event {ev.event_id}"))
    parsed.triggers.sort()
    return parsed


HistoryInput = (
    HistoryFile | temporalio.client.WorkflowHistory | temporalio.api.history.v1.History | str | Path
)


def _events_of(history: HistoryInput) -> tuple[str, str, HistoryView]:
    if isinstance(history, (str, Path)):
        history = load_history(history)
    if isinstance(history, HistoryFile):
        return history.workflow_id, history.display_name, history.view
    if isinstance(history, temporalio.client.WorkflowHistory):
        return history.workflow_id, history.workflow_id, view_of(history)
    return "", "<history>", view_of(history)


def saga_argument(
    spec: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None,
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None,
    *,
    where: str,
) -> tuple[SagaStep, ...]:
    """The saga's steps from ``spec=``, or from ``steps=``, its deprecated name.

    Every function taking a saga names it ``spec`` (as ``--spec`` on the command line and
    the pytest fixture do); ``steps=`` still works and warns.
    """
    if steps is not None:
        if spec is not None:
            raise ConfigError(
                "pass exactly one of spec= or steps= (steps= is the deprecated name of spec=)"
            )
        warnings.warn(
            f"{where}(steps=...) is deprecated: pass the same value as spec= (a SagaSpec or "
            "(forward, compensation) pairs)",
            DeprecationWarning,
            stacklevel=3,
        )
        spec = steps
    if spec is None:
        raise ConfigError(
            f"{where}: pass the saga as spec= (a SagaSpec or (forward, compensation) pairs)"
        )
    return spec.steps if isinstance(spec, SagaSpec) else SagaSpec(spec).steps


def verify_saga(
    history: HistoryInput,
    *,
    spec: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
    steps: SagaSpec | Sequence[SagaStep | tuple[ActivityRef, ActivityRef]] | None = None,
    raise_on_failure: bool = True,
) -> SagaReport:
    """Verify a history's saga compensation.

    Args:
        history: A :class:`~replaykit.HistoryFile`, a ``WorkflowHistory``, a ``History``
            proto, or a path to a history file.
        spec: The saga: a :class:`SagaSpec`, or ``(forward, compensation)`` pairs in
            forward order (names or activity functions).
        steps: Deprecated name of ``spec`` (warns).
        raise_on_failure: Raise :class:`SagaError` on any violation (default); False returns
            the report either way.

    Returns:
        The report.

    Raises:
        SagaError: A rule is broken (only with ``raise_on_failure``).
        HistoryError: The history file cannot be read.
        ConfigError: Neither or both of ``spec`` and ``steps``; a malformed step.
    """
    saga_steps = saga_argument(spec, steps, where="verify_saga")
    workflow_id, source, view = _events_of(history)
    report = _verify(saga_steps, workflow_id, source, _parse(view))
    if raise_on_failure and not report.ok:
        raise SagaError(report)
    return report


def _verify(
    saga_steps: tuple[SagaStep, ...], workflow_id: str, source: str, parsed: _Parsed
) -> SagaReport:
    fwd_index = {s.forward: i for i, s in enumerate(saga_steps)}
    comp_index = {s.compensation: i for i, s in enumerate(saga_steps)}
    fwd_runs: list[list[_Run]] = [[] for _ in saga_steps]
    comp_runs: list[list[_Run]] = [[] for _ in saga_steps]
    for run in parsed.runs:
        if run.activity_type in fwd_index:
            fwd_runs[fwd_index[run.activity_type]].append(run)
        elif run.activity_type in comp_index:
            comp_runs[comp_index[run.activity_type]].append(run)

    outcomes: list[StepOutcome] = []
    states: list[StepState] = []
    for i, step in enumerate(saga_steps):
        state = _step_state(fwd_runs[i])
        states.append(state)
        detail = "never ran" if not fwd_runs[i] else fwd_runs[i][-1].describe()
        outcomes.append(
            StepOutcome(
                forward=step.forward,
                compensation=step.compensation,
                state=state,
                forward_events=tuple(r.scheduled for r in fwd_runs[i]),
                compensation_events=tuple(r.scheduled for r in comp_runs[i]),
                detail=detail,
            )
        )

    all_comps = sorted((r for runs in comp_runs for r in runs), key=lambda r: r.scheduled)
    first_comp = all_comps[0] if all_comps else None
    closed = parsed.closed_as != "open"
    unfinished = [i for i, runs in enumerate(fwd_runs) if runs and runs[-1].outcome != "completed"]
    rollback_due = bool(all_comps) or (
        closed
        and (
            bool(unfinished)
            or parsed.closed_as in ("failed", "canceled")
            or (parsed.cancel_requested is not None and parsed.closed_as != "completed")
        )
    )
    trigger_event, trigger = parsed.triggers[0] if parsed.triggers else (None, None)
    cancelled = parsed.cancel_requested is not None
    violations: list[SagaViolation] = []

    # Rule: compensations only after a failure or a cancellation.
    for run in all_comps:
        if trigger_event is None or run.scheduled < trigger_event:
            step = saga_steps[comp_index[run.activity_type]]
            after = f"the first one is {trigger}" if trigger else "the history has none"
            violations.append(
                SagaViolation(
                    kind="early-compensation",
                    message=(
                        f"compensation `{run.activity_type}` (event {run.scheduled}) started "
                        f"before any failure or cancellation ({after})"
                    ),
                    steps=(step.forward,),
                    event_ids=(run.scheduled,) + ((trigger_event,) if trigger_event else ()),
                )
            )

    # Rules: every applied step compensated exactly once; never-applied steps never.
    for i, step in enumerate(saga_steps):
        comps = comp_runs[i]
        state = states[i]
        fwd_ids = tuple(r.scheduled for r in fwd_runs[i])
        if state in ("applied", "maybe"):
            if not comps and rollback_due and closed:
                if cancelled:
                    why = f"after the cancel requested at event {parsed.cancel_requested}"
                else:
                    why = (
                        f"after {trigger}" if trigger else f"though the workflow {parsed.closed_as}"
                    )
                maybe = "may have applied" if state == "maybe" else "applied"
                violations.append(
                    SagaViolation(
                        kind="missing-compensation",
                        message=(
                            f"step `{step.forward}` {maybe} ({outcomes[i].detail}) but was never "
                            f"compensated: `{step.compensation}` did not run {why}"
                        ),
                        steps=(step.forward,),
                        event_ids=fwd_ids
                        + ((parsed.cancel_requested,) if parsed.cancel_requested else ()),
                    )
                )
            elif len(comps) > 1:
                ids = ", ".join(str(r.scheduled) for r in comps)
                violations.append(
                    SagaViolation(
                        kind="duplicate-compensation",
                        message=(
                            f"step `{step.forward}` compensated {len(comps)} times: "
                            f"`{step.compensation}` scheduled at events {ids}"
                        ),
                        steps=(step.forward,),
                        event_ids=tuple(r.scheduled for r in comps),
                    )
                )
        elif comps:
            why = "never ran" if state == "not_run" else f"never applied: {outcomes[i].detail}"
            violations.append(
                SagaViolation(
                    kind="unneeded-compensation",
                    message=(
                        f"compensation `{step.compensation}` (event {comps[0].scheduled}) for "
                        f"step `{step.forward}` that {why}"
                    ),
                    steps=(step.forward,),
                    event_ids=tuple(r.scheduled for r in comps) + fwd_ids,
                )
            )

    # Rule: reverse order, one after another.
    compensated = sorted(
        (i for i in range(len(saga_steps)) if comp_runs[i] and fwd_runs[i]),
        key=lambda i: fwd_runs[i][0].scheduled,
    )
    for earlier, later in zip(compensated, compensated[1:], strict=False):
        c_early, c_late = comp_runs[earlier][0], comp_runs[later][0]
        f_early, f_late = fwd_runs[earlier][0], fwd_runs[later][0]
        s_early, s_late = saga_steps[earlier], saga_steps[later]
        if c_early.scheduled < c_late.scheduled:
            violations.append(
                SagaViolation(
                    kind="order",
                    message=(
                        f"compensations not in reverse order: `{s_early.compensation}` "
                        f"(event {c_early.scheduled}) ran before `{s_late.compensation}` "
                        f"(event {c_late.scheduled}), but `{s_early.forward}` (event "
                        f"{f_early.scheduled}) ran before `{s_late.forward}` (event "
                        f"{f_late.scheduled}); undo `{s_late.forward}` first"
                    ),
                    steps=(s_early.forward, s_late.forward),
                    event_ids=(c_early.scheduled, c_late.scheduled),
                )
            )
        elif c_late.outcome_event is None or c_early.scheduled < c_late.outcome_event:
            finished = (
                f"finished (event {c_late.outcome_event})"
                if c_late.outcome_event is not None
                else "finished"
            )
            violations.append(
                SagaViolation(
                    kind="order",
                    message=(
                        f"compensations overlap: `{s_early.compensation}` (event "
                        f"{c_early.scheduled}) started before `{s_late.compensation}` {finished}"
                    ),
                    steps=(s_early.forward, s_late.forward),
                    event_ids=(c_early.scheduled, c_late.scheduled),
                )
            )

    # Rule: compensations succeed (server-side retries are allowed).
    for run in all_comps:
        step = saga_steps[comp_index[run.activity_type]]
        if run.outcome == "completed" or (run.outcome == "pending" and not closed):
            continue
        if run.outcome == "canceled":
            how = (
                f"was canceled at event {run.outcome_event}: compensations must be shielded "
                "from the workflow's cancellation"
            )
        elif run.outcome == "pending":
            how = (
                "never finished"
                + (
                    f" (cancel requested at event {run.cancel_requested})"
                    if run.cancel_requested
                    else ""
                )
                + f" before the workflow {parsed.closed_as}"
            )
        else:
            how = run.describe()
        violations.append(
            SagaViolation(
                kind="compensation-failed",
                message=f"compensation `{run.activity_type}` (event {run.scheduled}) {how}",
                steps=(step.forward,),
                event_ids=(run.scheduled,)
                + ((run.outcome_event,) if run.outcome_event is not None else ()),
            )
        )

    # Rule: no forward step after compensation began.
    if first_comp is not None:
        for i, step in enumerate(saga_steps):
            for run in fwd_runs[i]:
                if run.scheduled > first_comp.scheduled:
                    violations.append(
                        SagaViolation(
                            kind="forward-after-compensation",
                            message=(
                                f"forward step `{step.forward}` (event {run.scheduled}) started "
                                f"after compensation began (`{first_comp.activity_type}`, event "
                                f"{first_comp.scheduled})"
                            ),
                            steps=(step.forward,),
                            event_ids=(run.scheduled, first_comp.scheduled),
                        )
                    )

    return SagaReport(
        workflow_id=workflow_id,
        source=source,
        steps=tuple(outcomes),
        violations=tuple(violations),
        trigger=trigger,
        rolled_back=rollback_due,
        closed_as=parsed.closed_as,
    )


def _step_state(runs: list[_Run]) -> StepState:
    if not runs:
        return "not_run"
    states = {r.state() for r in runs}
    if "applied" in states:
        return "applied"
    if "maybe" in states:
        return "maybe"
    return "not_applied"


# -- files and specs (what the CLI uses) -----------------------------------------------------


@dataclass(frozen=True)
class SagaFileResult:
    """One history file's verdict: a report, or why the file could not be read."""

    path: Path
    report: SagaReport | None
    error: str | None = None


@dataclass(frozen=True)
class SagaRunReport:
    """Verdicts on many history files.

    Attributes:
        results: One per file, in order.
    """

    results: tuple[SagaFileResult, ...]

    @property
    def exit_code(self) -> int:
        """2 if any file was unreadable, else 1 if any violation, else 0."""
        if any(r.error is not None for r in self.results):
            return 2
        if any(r.report is not None and not r.report.ok for r in self.results):
            return 1
        return 0

    def format(self) -> str:
        """Text report: one block per file, then a totals line."""
        lines: list[str] = []
        for res in self.results:
            if res.error is not None:
                lines.append(f"ERROR {res.error}")
            elif res.report is not None:
                tag = "PASS" if res.report.ok else "FAIL"
                lines.append(f"{tag} {res.report.format()}")
        bad = sum(1 for r in self.results if r.report is not None and not r.report.ok)
        errors = sum(1 for r in self.results if r.error is not None)
        lines.append(
            f"{len(self.results)} histories: {len(self.results) - bad - errors} ok, "
            f"{bad} with violations, {errors} unreadable"
        )
        return "\n".join(lines)


def verify_saga_files(
    paths: Iterable[Path | str],
    *,
    spec: SagaSpec,
    workflow_id: str | None = None,
) -> SagaRunReport:
    """Verify every history file (folders are searched for ``*.json``).

    Unreadable files are reported per file; the others are still verified.
    """
    results: list[SagaFileResult] = []
    files: list[Path] = []
    for raw in paths:
        try:
            files.extend(find_history_files([raw]))
        except HistoryError as err:
            results.append(SagaFileResult(Path(raw), None, str(err)))
    for path in files:
        try:
            hist = load_history(path, workflow_id=workflow_id)
        except HistoryError as err:
            results.append(SagaFileResult(path, None, str(err)))
            continue
        report = verify_saga(hist, spec=spec, raise_on_failure=False)
        results.append(SagaFileResult(path, report))
    return SagaRunReport(tuple(results))


def load_saga_spec(ref: str) -> SagaSpec:
    """Resolve ``module:NAME`` (or ``path/to/file.py:NAME``) to a :class:`SagaSpec`.

    ``NAME`` may be a :class:`SagaSpec` or an object (e.g. a workflow class) with a ``SAGA``
    attribute; without ``:NAME`` the module's ``SAGA`` is used.

    Raises:
        ConfigError: The module cannot be imported or holds no saga spec under that name.
    """
    target = resolve_ref(ref, option="--spec", default_attr="SAGA")
    if not isinstance(target, SagaSpec):
        target = getattr(target, "SAGA", None)
    if not isinstance(target, SagaSpec):
        raise ConfigError(f"--spec {ref}: not a SagaSpec (nor an object with a SAGA SagaSpec)")
    return target
