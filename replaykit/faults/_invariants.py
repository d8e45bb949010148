"""What must hold after a fault run, checked on the histories, the worker logs and the ledger.

Definitions (the report names them):

- **scenario**: the scenario function's own assertions passed (unless the plan implies a
  failure: a cancellation, or an injected activity failure that reached the workflow).
- **outcome**: every execution closed the way it did in the fault-free baseline (same close
  event, same result payload bytes or failure message, with the run's own workflow ids, run
  ids and the random parts of its workflow ids taken out), or the plan explains the
  difference. Executions are matched with the baseline's by what identifies them within a
  scenario, not by workflow id (a scenario may give every run a fresh ``uuid4`` id): the
  scenario instance, the workflow type, the order of start among executions of that type, and
  the parent (for a child, its place among the parent's children of that type).
- **replay**: every history of the run replays clean against the current code (strict).
- **no-rerun** (no completed step re-run): (1) no activity attempt started after the server had
  recorded that activity's completion (an attempt number above the one in its
  ``ActivityTaskStarted`` event); (2) no execution scheduled an activity with the same type and
  input more often than the baseline did (a completed step scheduled again after a crash).
- **retry-policy**: per activity, attempts never exceed ``maximum_attempts``; no attempt
  follows one that failed with a non-retryable error (flag or ``non_retryable_error_types``);
  the pause after a failed attempt is at least the policy's backoff for that attempt; the next
  attempt after a lost or stalled one waits for its heartbeat or start-to-close timeout; a
  retryable failure reaches the workflow only once the attempts are used up; and the workflow
  itself does not schedule again, with the same input, an activity whose non-retryable failure it
  received.
- **exactly-once**: the effects ledger has no key applied twice.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import temporalio.api.history.v1
from temporalio.api.enums.v1 import EventType

from replaykit.history._events import ActivityStep, HistoryView, view_of
from replaykit.history._failures import FailureView
from replaykit.record._scenario import WorkflowTaskFailed

from ._control import AttemptRecord
from ._plan import (
    CancelWorkflow,
    FailActivity,
    FaultPlan,
    KillWorker,
    SignalWorkflow,
    TimeoutActivity,
    base_workflow_id,
)

__all__ = [
    "Baseline",
    "ExecutionSummary",
    "IdScrubber",
    "InvariantVerdict",
    "execution_keys",
    "summarize_execution",
    "summarize_run",
]

Verdict = Literal["ok", "violation", "skipped"]

#: Seconds an interval may fall short of the policy (clock reads on both sides of an RPC).
BACKOFF_TOLERANCE = 0.15

_E = EventType
_RETRY_STATE_NON_RETRYABLE = 2  # RETRY_STATE_NON_RETRYABLE_FAILURE


@dataclass(frozen=True)
class InvariantVerdict:
    """One invariant's verdict for one run.

    Attributes:
        name: ``scenario``, ``outcome``, ``replay``, ``no-rerun``, ``retry-policy``,
            ``exactly-once``.
        verdict: ``ok``, ``violation`` or ``skipped`` (not applicable / no data).
        message: One line; for a violation, the readable statement.
        details: Further lines (each violation when there are several).
    """

    name: str
    verdict: Verdict
    message: str
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Not a violation."""
        return self.verdict != "violation"


@dataclass(frozen=True)
class ExecutionSummary:
    """What an execution did, reduced to what is compared with the baseline."""

    workflow_id: str
    workflow_type: str
    close: str
    result: str
    schedules: Mapping[tuple[str, str], int] = field(default_factory=dict)
    workflow_tasks: int = 0
    timers: int = 0
    activities: tuple[tuple[str, str], ...] = ()  # (activity type, activity id), in order
    cancel_requested: int | None = None  # event id of the first cancel request, if any
    #: What identifies the execution within its scenario (see :func:`execution_keys`);
    #: empty: the workflow id does.
    key: str = ""

    @property
    def match_key(self) -> str:
        """The key this execution is matched with the baseline's by."""
        return self.key or self.workflow_id


@dataclass(frozen=True)
class Baseline:
    """The fault-free run a plan's outcome is compared with."""

    scenario_ok: bool
    scenario_result: str
    executions: tuple[ExecutionSummary, ...]

    def by_id(self) -> dict[str, ExecutionSummary]:
        """Executions keyed by base workflow id (first run only for continue-as-new)."""
        out: dict[str, ExecutionSummary] = {}
        for ex in self.executions:
            out.setdefault(ex.workflow_id, ex)
        return out

    def by_key(self) -> dict[str, ExecutionSummary]:
        """Executions keyed by :attr:`ExecutionSummary.match_key` (first run of a chain)."""
        out: dict[str, ExecutionSummary] = {}
        for ex in self.executions:
            out.setdefault(ex.match_key, ex)
        return out


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _payloads(payloads: Any) -> bytes:
    return b"\x00".join(p.data for p in payloads.payloads)


def _own_ids_out(data: bytes, workflow_id: str, started: Any) -> bytes:
    """The execution's own identity taken out of its result: its run ids become ``<run-id>``
    and a concurrency-suffixed workflow id its base id. A result that embeds them (a record
    keyed by workflow and run id) is still *the same result* in another run."""
    attrs = started.workflow_execution_started_event_attributes
    for run_id in {
        attrs.original_execution_run_id,
        attrs.first_execution_run_id,
        attrs.continued_execution_run_id,
    }:
        if run_id:
            data = data.replace(run_id.encode(), b"<run-id>")
    base = base_workflow_id(workflow_id)
    if base != workflow_id:
        data = data.replace(workflow_id.encode(), base.encode())
    return data


#: Workflow ids shorter than this are not replaced inside values (they match ordinary text).
_MIN_ID_CHARS = 6
#: The random part of a workflow id: a uuid (with or without dashes) or a hex run of 12+.
_TOKEN_RE = re.compile(
    rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    rb"|[0-9a-fA-F]{12,}"
)


def _run_ids(started: Any) -> set[str]:
    attrs = started.workflow_execution_started_event_attributes
    return {
        r
        for r in (
            attrs.original_execution_run_id,
            attrs.first_execution_run_id,
            attrs.continued_execution_run_id,
        )
        if r
    }


def execution_keys(
    instances: Sequence[Sequence[tuple[str, temporalio.api.history.v1.History]]],
) -> list[list[str]]:
    """What identifies each execution within its scenario, whatever its workflow id.

    ``instances`` holds, per scenario instance, its executions in the order they were
    collected (client starts in start order, then children and continue-as-new runs). A root
    is ``"<instance>:<type>#<n>"`` (the n-th started execution of that type), a child
    ``"<parent key>><type>#<n>"`` (the n-th child of that type its parent initiated), a later
    run of a continue-as-new chain ``"<key>@run<k>"``. The same scenario gives the same keys
    in every run, also when each run's workflow ids are fresh ``uuid4`` values.
    """
    out: list[list[str]] = []
    for index, executions in enumerate(instances):
        initiated: dict[str, list[tuple[str, str]]] = {}
        for wid, history in executions:
            children = initiated.setdefault(wid, [])
            for child in view_of(history).children:
                if (child.workflow_id, child.workflow_type) not in children:
                    children.append((child.workflow_id, child.workflow_type))
        first_key: dict[str, str] = {}
        runs: Counter[str] = Counter()
        counts: Counter[tuple[str, str]] = Counter()
        keys: list[str] = []
        for wid, history in executions:
            started = view_of(history).started_attrs
            wf_type = started.workflow_type.name
            if wid in first_key:  # a later run of the same workflow id (continue-as-new)
                runs[wid] += 1
                keys.append(f"{first_key[wid]}@run{runs[wid]}")
                continue
            parent = (
                started.parent_workflow_execution.workflow_id
                if started.HasField("parent_workflow_execution")
                else ""
            )
            if parent and parent in first_key:
                scope = first_key[parent]
                same = [c for c, t in initiated.get(parent, []) if t == wf_type]
                ordinal = same.index(wid) if wid in same else len(same) + counts[(scope, wf_type)]
                key = f"{scope}>{wf_type}#{ordinal}"
            else:
                scope = str(index)
                ordinal = counts[(scope, wf_type)]
                key = f"{scope}:{wf_type}#{ordinal}"
            counts[(scope, wf_type)] += 1
            runs[wid] = 1
            first_key[wid] = key
            keys.append(key)
        out.append(keys)
    return out


def _without_instance(key: str) -> str:
    """The key without its scenario-instance number (instances are interchangeable)."""
    head, sep, rest = key.partition(":")
    return rest if sep and head.isdigit() else key


def _baseline_key(key: str, expected: Mapping[str, ExecutionSummary]) -> str | None:
    """The baseline execution ``key`` is compared with: the same place in the same scenario
    instance, else in the first one (a run with more concurrent instances than its baseline)."""
    if key in expected:
        return key
    head, sep, rest = key.partition(":")
    if sep and head.isdigit() and f"0:{rest}" in expected:
        return f"0:{rest}"
    return None


class IdScrubber:
    """Takes a run's own identity out of values, so another run's equal values compare equal.

    Replaced, longest first: every execution's workflow id (with and without the concurrency
    suffix) by ``<wf:KEY>`` (its :func:`execution_keys` key, the same in every run), its run
    ids by ``<run-id>``, and the random parts of its workflow id (a uuid, a long hex run) by
    ``<id:KEY:N>`` (a part shared by several ids, as a child id made from its parent's, takes
    the placeholder of the first execution in key order: the parent). So a result that embeds ``order-<uuid4 hex>`` or the
    bare hex, and an activity input that carries it, are the same value in the baseline and
    in a fault run. Workflow ids shorter than 6 characters are left alone.
    """

    def __init__(
        self, executions: Sequence[tuple[str, temporalio.api.history.v1.History, str]]
    ) -> None:
        pairs: dict[bytes, bytes] = {}
        tokens: dict[bytes, bytes] = {}
        for wid, history, key in sorted(executions, key=lambda e: e[2]):
            for run_id in _run_ids(history.events[0]):
                pairs[run_id.encode()] = b"<run-id>"
            place = _without_instance(key.split("@run")[0])
            placeholder = f"<wf:{place}>".encode()
            base = base_workflow_id(wid)
            for ident in (wid, base):
                if len(ident) >= _MIN_ID_CHARS:
                    pairs.setdefault(ident.encode(), placeholder)
            for n, match in enumerate(_TOKEN_RE.finditer(base.encode())):
                tokens.setdefault(match.group(), f"<id:{place}:{n}>".encode())
        for token, placeholder in tokens.items():
            pairs.setdefault(token, placeholder)
        self._pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, data: bytes) -> bytes:
        for old, new in self._pairs:
            if old in data:
                data = data.replace(old, new)
        return data


def summarize_run(
    instances: Sequence[Sequence[tuple[str, temporalio.api.history.v1.History]]],
) -> tuple[ExecutionSummary, ...]:
    """Summaries of every execution of a run (per scenario instance, in collection order),
    keyed by :func:`execution_keys` and with the run's own ids taken out of values."""
    keys = execution_keys(instances)
    flat = [
        (wid, history, key)
        for executions, ks in zip(instances, keys, strict=True)
        for (wid, history), key in zip(executions, ks, strict=True)
    ]
    scrub = IdScrubber(flat)
    return tuple(
        summarize_execution(wid, history, key=key, scrub=scrub) for wid, history, key in flat
    )


def summarize_execution(
    workflow_id: str,
    history: temporalio.api.history.v1.History,
    *,
    key: str = "",
    scrub: Callable[[bytes], bytes] | None = None,
) -> ExecutionSummary:
    """Reduce a history to its close, result, schedules and step counts.

    Args:
        workflow_id: The execution's workflow id.
        history: Its events.
        key: What identifies it within its scenario (see :func:`execution_keys`).
        scrub: Takes the run's own ids out of result, failure and activity input bytes
            (see :class:`IdScrubber`); default: only this execution's run ids and
            concurrency suffix are taken out of its result.
    """
    view = view_of(history)
    events = view.events
    wf_type = view.started_attrs.workflow_type.name
    last = events[-1]
    close = EventType.Name(last.event_type).removeprefix("EVENT_TYPE_")

    def own_ids_out(data: bytes) -> bytes:
        return scrub(data) if scrub is not None else _own_ids_out(data, workflow_id, events[0])

    def input_digest(data: bytes) -> str:
        return _digest(scrub(data) if scrub is not None else data)

    result = ""
    if last.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        data = _payloads(last.workflow_execution_completed_event_attributes.result)
        result = _digest(own_ids_out(data))
    elif last.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        message = last.workflow_execution_failed_event_attributes.failure.message
        result = own_ids_out(message.encode()).decode(errors="replace")
    schedules = Counter((a.name, input_digest(_payloads(a.attrs.input))) for a in view.activities)
    cancels = view.of_type(_E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    return ExecutionSummary(
        workflow_id=base_workflow_id(workflow_id),
        workflow_type=wf_type,
        close=close,
        result=result,
        schedules=dict(schedules),
        workflow_tasks=len(view.of_type(_E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)),
        timers=len(view.timers),
        activities=tuple((a.name, a.activity_id) for a in view.activities),
        cancel_requested=cancels[0].event_id if cancels else None,
        key=key,
    )


# --------------------------------------------------------------------------- expectations


def failures_reaching_workflow(
    histories: Sequence[tuple[str, temporalio.api.history.v1.History]], plan: FaultPlan
) -> list[str]:
    """Activity types with injected faults whose failure or timeout reached a workflow."""
    faulted = {f.activity for f in plan.faults if isinstance(f, (FailActivity, TimeoutActivity))}
    out: list[str] = []
    for _, history in histories:
        closed = _closed(view_of(history), "failed", "timed_out")
        out.extend(step.name for step in closed if step.name in faulted)
    return out


def _closed(view: HistoryView, *outcomes: str) -> list[ActivityStep]:
    """The activities that ended so, in the order of their close events."""
    steps = [a for a in view.activities if a.closed is not None and a.outcome in outcomes]
    return sorted(steps, key=lambda a: a.closed.event_id if a.closed is not None else 0)


def check_scenario(
    errors: Sequence[BaseException | None], *, lenient: str | None
) -> InvariantVerdict:
    """(a) The scenario's own assertions."""
    failed = [e for e in errors if e is not None]
    if not failed:
        return InvariantVerdict("scenario", "ok", "the scenario's assertions passed")
    text = f"{type(failed[0]).__name__}: {failed[0]}".strip()
    if lenient:
        return InvariantVerdict(
            "scenario", "skipped", f"failed as the plan implies ({lenient}): {text[:300]}"
        )
    # A failed workflow task's text is the exception and the worker's traceback, ending in
    # the user's frame: cutting it would cut exactly that.
    shown = text if isinstance(failed[0], WorkflowTaskFailed) else text[:500]
    return InvariantVerdict(
        "scenario",
        "violation",
        f"the scenario failed: {shown}",
        tuple(f"instance {i}: {type(e).__name__}: {e}" for i, e in enumerate(failed)),
    )


def check_outcome(
    summaries: Sequence[ExecutionSummary],
    baseline: Baseline | None,
    *,
    lenient: str | None,
    cancelled: Sequence[str] = (),
) -> InvariantVerdict:
    """(b) Same outcome as the baseline, or the one the plan implies."""
    if cancelled:
        bad = [
            s
            for s in summaries
            if s.workflow_id in cancelled
            and s.close
            not in (
                "WORKFLOW_EXECUTION_CANCELED",
                "WORKFLOW_EXECUTION_COMPLETED",
                "WORKFLOW_EXECUTION_FAILED",
            )
        ]
        if bad:
            return InvariantVerdict(
                "outcome",
                "violation",
                f"cancelled workflow {bad[0].workflow_id} closed as {bad[0].close}",
            )
        # Completing is fine when the cancel came too late to be recorded; once the history
        # holds the request, completing normally means the cancellation was lost (for example
        # a WAIT_CANCELLATION_COMPLETED activity that finished after it was asked to stop).
        lost = [
            s
            for s in summaries
            if s.workflow_id in cancelled
            and s.cancel_requested
            and s.close == "WORKFLOW_EXECUTION_COMPLETED"
        ]
        if lost:
            return InvariantVerdict(
                "outcome",
                "violation",
                f"cancel requested at event {lost[0].cancel_requested} but workflow "
                f"{lost[0].workflow_id} completed normally instead of ending cancelled",
                tuple(
                    f"{s.workflow_id}: cancel requested at event {s.cancel_requested}, "
                    "closed as WORKFLOW_EXECUTION_COMPLETED"
                    for s in lost
                ),
            )
        return InvariantVerdict("outcome", "ok", "cancelled as the plan asked")
    if lenient:
        return InvariantVerdict("outcome", "skipped", f"not compared: {lenient}")
    if baseline is None:
        return InvariantVerdict("outcome", "skipped", "no baseline to compare with")
    expected = baseline.by_key()
    problems: list[str] = []
    seen: set[str] = set()
    matched: set[str] = set()
    for s in summaries:
        if s.match_key in seen:
            continue  # later runs of a continue-as-new chain
        seen.add(s.match_key)
        key = _baseline_key(s.match_key, expected)
        base = expected.get(key) if key is not None else None
        if key is not None:
            matched.add(key)
        if base is None:
            problems.append(
                f"execution {s.workflow_id} ({s.workflow_type}"
                + (f", {_describe_key(s.key)}" if s.key else "")
                + ") is not in the baseline"
            )
            continue
        if s.close != base.close:
            problems.append(
                f"{s.workflow_id} closed as {s.close}, baseline {base.close}"
                + (f" ({s.result})" if s.close.endswith("FAILED") else "")
            )
        elif s.result != base.result:
            problems.append(f"{s.workflow_id} returned a different result than the baseline")
    missing = sorted(set(expected) - matched)
    problems.extend(
        f"baseline execution {expected[m].workflow_id} ({expected[m].workflow_type}"
        + (f", {_describe_key(m)}" if expected[m].key else "")
        + ") did not run"
        for m in missing
    )
    if problems:
        return InvariantVerdict("outcome", "violation", problems[0], tuple(problems))
    return InvariantVerdict("outcome", "ok", f"same as the baseline ({len(seen)} executions)")


def _describe_key(key: str) -> str:
    """``0:OrderWorkflow#1>ChargeWorkflow#0`` -> readable words for a report."""
    parts = key.split("@run")[0].split(">")
    words = []
    for i, part in enumerate(parts):
        wf_type, _, n = part.split(":")[-1].partition("#")
        nth = int(n) + 1 if n.isdigit() else n
        words.append(f"{wf_type} no. {nth}" + (" started by the scenario" if i == 0 else ""))
    return ", child of ".join(reversed(words))


def check_no_rerun(
    histories: Sequence[tuple[str, temporalio.api.history.v1.History]],
    attempts: Sequence[AttemptRecord],
    summaries: Sequence[ExecutionSummary],
    baseline: Baseline | None,
) -> InvariantVerdict:
    """(d) No completed activity ran or was scheduled again."""
    problems: list[str] = []
    by_run: dict[tuple[str, str], list[AttemptRecord]] = {}
    for att in attempts:
        by_run.setdefault((att.run_id, att.activity_id), []).append(att)
    for _, history in histories:
        view = view_of(history)
        run_id = view.started_attrs.original_execution_run_id
        for step in _closed(view, "completed"):
            act_type, act_id = step.name, step.activity_id
            recorded = step.attempt if step.attempt is not None else 1
            for att in by_run.get((run_id, act_id), []):
                if att.attempt > recorded:
                    problems.append(
                        f"activity `{act_type}` (id {act_id}) ran again as attempt "
                        f"{att.attempt} after the server recorded its completion by attempt "
                        f"{recorded}"
                    )
    if baseline is not None:
        base = baseline.by_key()
        for s in summaries:
            found = _baseline_key(s.match_key, base)
            b = base.get(found) if found is not None else None
            if b is None:
                continue
            for key, count in s.schedules.items():
                if count > b.schedules.get(key, 0):
                    problems.append(
                        f"{s.workflow_id} scheduled activity `{key[0]}` with the same input "
                        f"{count} times, the baseline {b.schedules.get(key, 0)}: a completed "
                        "step was run again"
                    )
    if problems:
        return InvariantVerdict("no-rerun", "violation", problems[0], tuple(problems))
    return InvariantVerdict("no-rerun", "ok", "no completed activity ran or was scheduled again")


@dataclass(frozen=True)
class _Policy:
    initial: float
    coefficient: float
    maximum_interval: float | None
    maximum_attempts: int
    non_retryable: frozenset[str]
    start_to_close: float | None
    heartbeat: float | None

    def backoff(self, attempt: int) -> float:
        value = self.initial * (self.coefficient ** (attempt - 1))
        return min(value, self.maximum_interval) if self.maximum_interval else value


def _policy(attrs: Any) -> _Policy:
    rp = attrs.retry_policy
    has = attrs.HasField("retry_policy")
    initial = rp.initial_interval.ToTimedelta().total_seconds() if has else 1.0
    coefficient = rp.backoff_coefficient if has and rp.backoff_coefficient else 2.0
    max_int = rp.maximum_interval.ToTimedelta().total_seconds() if has else 0.0
    return _Policy(
        initial=initial or 1.0,
        coefficient=coefficient,
        maximum_interval=max_int or (100 * (initial or 1.0)),
        maximum_attempts=rp.maximum_attempts if has else 0,
        non_retryable=frozenset(rp.non_retryable_error_types) if has else frozenset(),
        start_to_close=(
            attrs.start_to_close_timeout.ToTimedelta().total_seconds()
            if attrs.HasField("start_to_close_timeout")
            else None
        )
        or None,
        heartbeat=(
            attrs.heartbeat_timeout.ToTimedelta().total_seconds()
            if attrs.HasField("heartbeat_timeout")
            else None
        )
        or None,
    )


def check_retry_policy(
    histories: Sequence[tuple[str, temporalio.api.history.v1.History]],
    attempts: Sequence[AttemptRecord],
) -> InvariantVerdict:
    """(e) Attempt counts, non-retryable errors, backoff intervals and timeouts."""
    problems: list[str] = []
    by_run: dict[tuple[str, str], list[AttemptRecord]] = {}
    for att in attempts:
        by_run.setdefault((att.run_id, att.activity_id), []).append(att)
    checked = 0
    for _, history in histories:
        view = view_of(history)
        run_id = view.started_attrs.original_execution_run_id
        scheduled = {
            a.event_id: (a.name, a.activity_id, _policy(a.attrs), _payloads(a.attrs.input))
            for a in view.activities
        }
        failed_nonretryable: list[tuple[str, bytes, str, int]] = []
        for step in _closed(view, "failed"):
            if step.closed is not None:
                ev = step.closed
                f = ev.activity_task_failed_event_attributes
                name, _, pol, input_bytes = scheduled[step.event_id]
                app = FailureView.of(f.failure).first_application()
                err_type = (app.app_type if app is not None else "") or "error"
                if (
                    (app is not None and app.non_retryable)
                    or err_type in pol.non_retryable
                    or f.retry_state == _RETRY_STATE_NON_RETRYABLE
                ):
                    failed_nonretryable.append((name, input_bytes, err_type, ev.event_id))
        # The workflow scheduled again what failed for good before (failures in close order).
        for sched_id, (name, _, _, input_bytes) in scheduled.items():
            for prev_name, prev_input, err_type, prev_event in failed_nonretryable:
                if prev_event < sched_id and prev_name == name and prev_input == input_bytes:
                    problems.append(
                        f"non-retryable error {err_type} of activity `{name}` was retried by "
                        f"the workflow: scheduled again with the same input at event "
                        f"{sched_id} after the failure at event {prev_event}"
                    )
        for _sched_id, (name, act_id, pol, _) in scheduled.items():
            runs = sorted(by_run.get((run_id, act_id), []), key=lambda r: (r.attempt, r.id))
            if not runs:
                continue
            checked += 1
            if pol.maximum_attempts and runs[-1].attempt > pol.maximum_attempts:
                problems.append(
                    f"activity `{name}` (id {act_id}) ran attempt {runs[-1].attempt}, above "
                    f"maximum_attempts={pol.maximum_attempts}"
                )
            for prev, nxt in zip(runs, runs[1:], strict=False):
                if nxt.attempt == prev.attempt:
                    continue  # the same attempt logged twice (a zombie and its retry)
                if prev.outcome == "failed" and (
                    prev.non_retryable or (prev.error_type or "") in pol.non_retryable
                ):
                    problems.append(
                        f"non-retryable error {prev.error_type} was retried: activity `{name}` "
                        f"attempt {nxt.attempt} started after attempt {prev.attempt} failed"
                    )
                    continue
                if prev.outcome == "failed" and prev.ended_at is not None:
                    gap = nxt.started_at - prev.ended_at
                    want = pol.backoff(prev.attempt)
                    if gap < want - BACKOFF_TOLERANCE:
                        problems.append(
                            f"activity `{name}` attempt {nxt.attempt} started {gap:.2f} s after "
                            f"attempt {prev.attempt} failed; the policy's backoff is {want:.2f} s"
                        )
                elif prev.outcome in (None, "stalled", "returned", "killed"):
                    limits = [t for t in (pol.heartbeat, pol.start_to_close) if t]
                    if limits:
                        want = min(limits)
                        gap = nxt.started_at - prev.started_at
                        if gap < want - BACKOFF_TOLERANCE:
                            problems.append(
                                f"activity `{name}` attempt {nxt.attempt} started {gap:.2f} s "
                                f"after attempt {prev.attempt} was lost; its timeout is "
                                f"{want:.2f} s"
                            )
    if problems:
        return InvariantVerdict("retry-policy", "violation", problems[0], tuple(problems))
    return InvariantVerdict(
        "retry-policy", "ok", f"retries obeyed the policy ({checked} activities checked)"
    )


def check_exactly_once(
    report: Any, plan: FaultPlan, attempts: Sequence[AttemptRecord]
) -> InvariantVerdict:
    """Effects ledger: no key applied twice; the message names the fault that caused it."""
    if report is None:
        return InvariantVerdict("exactly-once", "skipped", "no effects ledger entries")
    if not report.attempts:
        return InvariantVerdict("exactly-once", "skipped", "no effects ledger entries")
    if report.ok:
        keys = {(a.effect, a.key) for a in report.attempts}
        return InvariantVerdict(
            "exactly-once", "ok", f"every effect applied at most once ({len(keys)} keys)"
        )
    lines: list[str] = []
    for v in report.violations:
        lines.append(_explain_duplicate(v, plan, attempts))
    return InvariantVerdict("exactly-once", "violation", lines[0], tuple(lines))


def _explain_duplicate(violation: Any, plan: FaultPlan, attempts: Sequence[AttemptRecord]) -> str:
    if violation.kind != "duplicate":
        return str(violation.message)
    applied = [a for a in violation.attempts if a.applied or a.maybe_applied]
    act = next((a.activity_type for a in applied if a.activity_type), violation.effect)
    times = {2: "twice"}.get(len(applied), f"{len(applied)} times")
    parts: list[str] = []
    for i, a in enumerate(applied):
        what = f"attempt {a.attempt}" if a.attempt is not None else f"entry {a.id}"
        why = _why(a, plan, attempts)
        parts.append(f"{what} {why}" if i == 0 else f"{what} repeated it")
    return (
        f"effect not exactly once: activity `{act}` ran its side effect {times} "
        f"(key {violation.key}): " + ", ".join(parts)
    )


def _why(ledger_attempt: Any, plan: FaultPlan, attempts: Sequence[AttemptRecord]) -> str:
    for rec in attempts:
        if (
            rec.activity_id == ledger_attempt.activity_id
            and rec.attempt == ledger_attempt.attempt
            and rec.run_id == ledger_attempt.run_id
        ):
            if rec.outcome in ("returned", None):
                return "was killed after the side effect"
            if rec.outcome == "stalled":
                return "stalled past its timeout"
            if rec.outcome == "failed":
                return f"failed ({rec.error_type}) after the side effect"
    for fault in plan.faults:
        if isinstance(fault, KillWorker) and fault.at.kind == "activity-returned":
            return "was killed after the side effect"
    return "applied it"


def lenient_reason(
    plan: FaultPlan, histories: Sequence[tuple[str, temporalio.api.history.v1.History]]
) -> str | None:
    """Why the outcome may differ from the baseline under this plan (``None``: it may not)."""
    if any(isinstance(f, CancelWorkflow) for f in plan.faults):
        return "the plan cancels the workflow"
    if any(isinstance(f, SignalWorkflow) for f in plan.faults):
        return "the plan sends a signal the baseline did not"
    reached = failures_reaching_workflow(histories, plan)
    if reached:
        return f"injected failure of activity `{reached[0]}` reached the workflow"
    return None
