"""History budgets: how close a history is to Temporal's limits, and how fast loops grow.

Temporal limits a history's events, its bytes, each payload blob and each persisted
transaction (one workflow task's commands). :func:`measure_budget` measures one run against
:class:`BudgetLimits`; for loops it fits the growth per iteration from the recorded events
and projects how many iterations are left until each limit:

- an **agent loop** is an activity type scheduled again and again in one run; when its input
  grows by about the same amount every time (the whole conversation is sent to each model
  call) the history grows quadratically, and the argument that grows is named;
- a **continue-as-new chain** is the runs of one execution (joined by the run ids of their
  started events, else by file name: ``<id>.json``, ``<id>.run2.json``, ...);
  :func:`chain_budgets` joins their loop series and measures what each run carries into the
  next.

A measure past a warning or error limit is flagged. A projection is flagged only when the
history's own evidence supports it (:meth:`BudgetLimits.projection_reach`, the one rule): a
loop observed at least ``projection_min_iterations`` times whose projection reaches an error
limit within ``projection_factor`` times the iterations observed (never past ``horizon``) --
for a loop without continue-as-new, and for a payload that keeps growing through
continue-as-new (continuing as new does not shrink the state it carries). A three-step agent
loop is never projected to a limit hundreds of iterations away.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from replaykit.config._budgets import KB, MB, BudgetLimits, parse_budget_limits

__all__ = [
    "BudgetFinding",
    "BudgetLimits",
    "BudgetReport",
    "LoopGrowth",
    "chain_budgets",
    "chain_key",
    "format_budget",
    "format_size",
    "measure_budget",
    "parse_budget_limits",
]


@dataclass(frozen=True)
class LoopGrowth:
    """One loop's measured growth and what it projects.

    Attributes:
        kind: ``activity`` (repeated activity in one run or across a chain) or ``chain``
            (runs of a continue-as-new chain; an iteration is a run).
        subject: The activity type (``activity``) or ``continue-as-new`` (``chain``).
        iterations: Iterations measured.
        events_per_iteration: Events each iteration adds (fitted).
        bytes_per_iteration: Bytes each iteration adds now (fitted, at the last iteration).
        bytes_growth: How much ``bytes_per_iteration`` grows each iteration (quadratic term).
        input_bytes: The input size at the last iteration.
        input_growth: Bytes the input grows by per iteration (fitted slope).
        growing_argument: The argument that grows, e.g. ``args[0]['messages']``.
        argument_growth: Bytes that argument grows by per iteration.
        items_growth: Items the argument (a list) gains per iteration, when it is a list.
        continues_as_new: Whether the workflow continues as new (events and bytes are then
            bounded per run).
        iterations_left: Projected iterations left until each error limit
            (``events``, ``bytes``, ``payload``); ``None`` for a limit not approached.
    """

    kind: str
    subject: str
    iterations: int
    events_per_iteration: float
    bytes_per_iteration: float
    bytes_growth: float
    input_bytes: int
    input_growth: float
    growing_argument: str | None = None
    argument_growth: float = 0.0
    items_growth: float | None = None
    continues_as_new: bool = False
    iterations_left: dict[str, int | None] = field(default_factory=dict)

    @property
    def quadratic(self) -> bool:
        """The input grows every iteration, so the history grows quadratically."""
        return self.input_growth >= _MIN_GROWTH

    def first_limit(self) -> tuple[str, int] | None:
        """The limit reached first and the iterations left until it."""
        known = [(k, v) for k, v in self.iterations_left.items() if v is not None]
        return min(known, key=lambda kv: kv[1]) if known else None

    def describe(self) -> str:
        """One readable sentence."""
        if self.kind == "chain":
            text = (
                f"continue-as-new chain: {self.iterations} runs, "
                f"~{self.events_per_iteration:.0f} events per run"
            )
            if self.quadratic:
                text += (
                    f"; the state carried to the next run grows by "
                    f"~{format_size(self.input_growth)} per run "
                    f"(now {format_size(self.input_bytes)})"
                )
        else:
            text = (
                f"`{self.subject}` ran {self.iterations}×: "
                f"~{self.events_per_iteration:.1f} events and "
                f"~{format_size(self.bytes_per_iteration)} per iteration"
            )
            if self.quadratic:
                arg = f" ({self.growing_argument})" if self.growing_argument else ""
                items = f", +{self.items_growth:.1f} items" if self.items_growth else ""
                effect = (
                    "continue-as-new bounds the events, not this growth"
                    if self.continues_as_new
                    else "so the history grows quadratically"
                )
                text += (
                    f"; input{arg} grows by ~{format_size(self.input_growth)} per "
                    f"iteration{items}: the whole state is sent each time, {effect}"
                )
        left = self.first_limit()
        unit = "runs" if self.kind == "chain" else "iterations"
        if left is not None:
            text += f"; ~{left[1]:,} more {unit} until the {left[0]} limit"
        elif self.continues_as_new:
            text += "; bounded by continue-as-new"
        return text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dataclasses.asdict(self)
        for key in (
            "events_per_iteration",
            "bytes_per_iteration",
            "bytes_growth",
            "input_growth",
            "argument_growth",
        ):
            out[key] = round(out[key], 2)
        if out["items_growth"] is not None:
            out["items_growth"] = round(out["items_growth"], 2)
        out["quadratic"] = self.quadratic
        first = self.first_limit()
        out["first_limit"] = {"limit": first[0], "iterations_left": first[1]} if first else None
        return out


@dataclass(frozen=True)
class BudgetFinding:
    """A limit exceeded, or projected to be reached within the horizon.

    Attributes:
        level: ``warning`` (past a warning limit, or projected) or ``error`` (past an error
            limit: the server would refuse or terminate).
        limit: ``events``, ``bytes``, ``payload``, ``transaction``.
        message: One readable sentence.
        value: The measured (or projected) value.
        threshold: The limit concerned.
    """

    level: str
    limit: str
    message: str
    value: int
    threshold: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _Series:
    """Per-occurrence sizes of one repeated activity (joined across runs of a chain)."""

    positions: tuple[int, ...]  # event index of each scheduling
    cumulative: tuple[int, ...]  # history bytes up to each scheduling
    inputs: tuple[int, ...]  # input payload bytes of each
    paths: dict[str, tuple[int, ...]]  # argument path -> serialized size per occurrence
    lengths: dict[str, tuple[int, ...]]  # argument path (a list) -> its length


@dataclass(frozen=True)
class BudgetReport:
    """One history's budget: its measures, its loops, and what is flagged.

    Attributes:
        events: Events in the history.
        bytes: Serialized size of the history (protobuf binary).
        largest_payload: Size of the largest payload blob.
        largest_payload_at: Where it is (``event 12 (ActivityTaskScheduled input)``).
        largest_transaction: Bytes of the largest batch of events one workflow task added.
        continues_as_new: The run ends by continuing as new.
        loops: Loops found and their projections.
        findings: Limits exceeded or projected to be reached.
        chain_runs: Runs in this history's continue-as-new chain (1 alone).
    """

    events: int
    bytes: int
    largest_payload: int
    largest_payload_at: str | None
    largest_transaction: int
    continues_as_new: bool
    limits: BudgetLimits = BudgetLimits()
    loops: tuple[LoopGrowth, ...] = ()
    findings: tuple[BudgetFinding, ...] = ()
    chain_runs: int = 1
    series: dict[str, _Series] = field(default_factory=dict, repr=False, compare=False)
    carried_input: int | None = field(default=None, repr=False)  # started input bytes
    #: This run's id, the run it continued (if any) and its chain's first run, from the
    #: started event: they join the runs of a chain whatever the files are called.
    run_ids: tuple[str, str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BudgetReport:
        """The report :meth:`to_json` gave (measures, limits, loops and findings)."""

        def known(kind: type, values: dict[str, Any]) -> dict[str, Any]:
            names = {f.name for f in dataclasses.fields(kind)}
            return {k: v for k, v in values.items() if k in names}

        return cls(
            events=int(data.get("events") or 0),
            bytes=int(data.get("bytes") or 0),
            largest_payload=int(data.get("largest_payload") or 0),
            largest_payload_at=data.get("largest_payload_at"),
            largest_transaction=int(data.get("largest_transaction") or 0),
            continues_as_new=bool(data.get("continues_as_new")),
            limits=BudgetLimits(**known(BudgetLimits, data.get("limits") or {})),
            loops=tuple(LoopGrowth(**known(LoopGrowth, x)) for x in data.get("loops") or ()),
            findings=tuple(
                BudgetFinding(**known(BudgetFinding, x)) for x in data.get("findings") or ()
            ),
            chain_runs=int(data.get("chain_runs") or 1),
        )

    @property
    def flagged(self) -> bool:
        """Whether anything is over, or projected to reach, a limit."""
        return bool(self.findings)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "events": self.events,
            "bytes": self.bytes,
            "largest_payload": self.largest_payload,
            "largest_payload_at": self.largest_payload_at,
            "largest_transaction": self.largest_transaction,
            "continues_as_new": self.continues_as_new,
            "chain_runs": self.chain_runs,
            "limits": dataclasses.asdict(self.limits),
            "loops": [loop.to_json() for loop in self.loops],
            "findings": [f.to_json() for f in self.findings],
            "flagged": self.flagged,
        }


def format_size(value: float) -> str:
    """``812 B``, ``1.2 KB``, ``3.4 MB``."""
    if abs(value) < KB:
        return f"{value:.0f} B"
    if abs(value) < MB:
        return f"{value / KB:.1f} KB"
    return f"{value / MB:.1f} MB"


# ---------------------------------------------------------------------------------------
# Measuring one run

_PAYLOADS = "temporal.api.common.v1.Payloads"
_PAYLOAD = "temporal.api.common.v1.Payload"
#: Input growth (bytes per iteration) below this is noise (ids, counters, timestamps).
_MIN_GROWTH = 16.0


_HOLDERS: dict[str, tuple[tuple[str, bool, bool], ...]] = {}
_CAN_HOLD: dict[str, bool] = {}


def _field_target(fld: Any) -> tuple[Any, bool]:
    """The message type a field holds (a map's value type) and whether it is a map."""
    sub = fld.message_type
    if sub is not None and sub.GetOptions().map_entry:
        return sub.fields_by_name["value"].message_type, True
    return sub, False


def _can_hold(descriptor: Any) -> bool:
    """Whether a message type can contain a payload (a type in progress counts as yes:
    visiting a field for nothing costs time, skipping one would lose a payload)."""
    name = descriptor.full_name
    if name in (_PAYLOADS, _PAYLOAD):
        return True
    known = _CAN_HOLD.get(name)
    if known is not None:
        return known
    _CAN_HOLD[name] = True
    result = False
    for fld in descriptor.fields:
        target, _ = _field_target(fld)
        if target is not None and _can_hold(target):
            result = True
            break
    _CAN_HOLD[name] = result
    return result


def _payload_fields(descriptor: Any) -> tuple[tuple[str, bool, bool], ...]:
    """``(name, repeated, map)`` of the fields of a message type that can hold a payload."""
    found = _HOLDERS.get(descriptor.full_name)
    if found is None:
        out = []
        for fld in descriptor.fields:
            target, is_map = _field_target(fld)
            if target is not None and _can_hold(target):
                out.append((fld.name, bool(fld.is_repeated) and not is_map, is_map))
        found = _HOLDERS[descriptor.full_name] = tuple(out)
    return found


def _largest_blob(message: Message) -> int:
    """The largest ``Payloads`` (or lone ``Payload``) inside a message."""
    if message.DESCRIPTOR.full_name in (_PAYLOADS, _PAYLOAD):
        return message.ByteSize()
    holders = _holder_names(message.DESCRIPTOR)
    best = 0
    for fld, value in message.ListFields():  # only the fields that are set: few
        kind = holders.get(fld.name)
        if kind is None:
            continue
        items: Iterable[Any]
        if kind == "map":
            items = value.values()
        elif kind == "repeated":
            items = value
        else:
            items = (value,)
        for item in items:
            best = max(best, _largest_blob(item))
    return best


_NAMES: dict[str, dict[str, str]] = {}


def _holder_names(descriptor: Any) -> dict[str, str]:
    found = _NAMES.get(descriptor.full_name)
    if found is None:
        found = _NAMES[descriptor.full_name] = {
            name: "map" if is_map else "repeated" if repeated else "one"
            for name, repeated, is_map in _payload_fields(descriptor)
        }
    return found


def _event_name(event: HistoryEvent) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _decode_args(payloads: Any) -> list[Any] | None:
    """JSON-decoded arguments, or None when an argument is not plain JSON."""
    out: list[Any] = []
    for payload in payloads.payloads:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != b"json/plain":
            return None
        try:
            out.append(json.loads(payload.data))
        except ValueError:
            return None
    return out


def _argument_sizes(args: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Serialized size of each argument path (depth ≤ 3), and lengths of the lists."""
    sizes: dict[str, int] = {}
    lengths: dict[str, int] = {}

    def walk(path: str, value: Any, depth: int) -> None:
        sizes[path] = len(json.dumps(value, separators=(",", ":")))
        if isinstance(value, list):
            lengths[path] = len(value)
        if depth >= 3 or len(sizes) > 64:
            return
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{path}[{key!r}]", sub, depth + 1)

    for index, arg in enumerate(args):
        walk(f"args[{index}]", arg, 1)
    return sizes, lengths


_WFT_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
_WFT_SCHEDULED = EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
_ACTIVITY_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED


def measure_budget(
    events: Sequence[HistoryEvent], limits: BudgetLimits | None = None
) -> BudgetReport:
    """Measure one run's events against the limits, with its loops' projections."""
    limits = limits or BudgetLimits()
    total = 0
    largest, largest_at = 0, None
    batch, largest_batch = 0, 0
    positions: dict[str, list[int]] = {}
    cumulative: dict[str, list[int]] = {}
    inputs: dict[str, list[int]] = {}
    paths: dict[str, list[dict[str, int]]] = {}
    lengths: dict[str, list[dict[str, int]]] = {}
    continued = False
    carried: int | None = None
    run_ids: tuple[str, str, str] | None = None
    for index, event in enumerate(events):
        size = event.ByteSize()
        kind = event.event_type
        if kind == _WFT_COMPLETED:
            batch = 0
        elif kind == _WFT_SCHEDULED:
            largest_batch = max(largest_batch, batch)
            batch = 0
        batch += size
        # A payload is never larger than the event holding it: most events need no walk.
        blob = _largest_blob(event) if size > largest else 0
        if blob > largest:
            largest, largest_at = blob, f"event {event.event_id} ({_event_name(event)})"
        if kind == _STARTED:
            started = event.workflow_execution_started_event_attributes
            carried = started.input.ByteSize()
            if started.original_execution_run_id and started.first_execution_run_id:
                run_ids = (
                    started.original_execution_run_id,
                    started.continued_execution_run_id,
                    started.first_execution_run_id,
                )
        elif kind == _CONTINUED:
            continued = True
        elif kind == _ACTIVITY_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            name = attrs.activity_type.name
            positions.setdefault(name, []).append(index)
            cumulative.setdefault(name, []).append(total)
            inputs.setdefault(name, []).append(attrs.input.ByteSize())
            decoded = _decode_args(attrs.input)
            sizes, lens = _argument_sizes(decoded) if decoded is not None else ({}, {})
            paths.setdefault(name, []).append(sizes)
            lengths.setdefault(name, []).append(lens)
        total += size
    largest_batch = max(largest_batch, batch)
    series = {
        name: _Series(
            positions=tuple(positions[name]),
            cumulative=tuple(cumulative[name]),
            inputs=tuple(inputs[name]),
            paths=_columns(paths[name]),
            lengths=_columns(lengths[name]),
        )
        for name in positions
    }
    report = BudgetReport(
        events=len(events),
        bytes=total,
        largest_payload=largest,
        largest_payload_at=largest_at,
        largest_transaction=largest_batch,
        continues_as_new=continued,
        limits=limits,
        series=series,
        carried_input=carried,
        run_ids=run_ids,
    )
    return _analyse(report, [report])


def _columns(rows: list[dict[str, int]]) -> dict[str, tuple[int, ...]]:
    """Paths present in every row, as one column each."""
    if not rows:
        return {}
    common = set(rows[0]).intersection(*rows[1:])
    return {key: tuple(row[key] for row in rows) for key in sorted(common)}


def _slope(values: Sequence[float]) -> float:
    """Growth per step: the median of successive differences.

    Robust where a least-squares slope is not: one step at the start (a conversation window
    filling up, the first turn having no history yet) does not make a flat series "grow".
    """
    steps = sorted(b - a for a, b in zip(values, values[1:], strict=False))
    if not steps:
        return 0.0
    mid = len(steps) // 2
    return float(steps[mid]) if len(steps) % 2 else (steps[mid - 1] + steps[mid]) / 2


def _left_linear(current: float, per_iteration: float, limit: int) -> int | None:
    if per_iteration <= 0:
        return None
    return max(0, math.ceil((limit - current) / per_iteration))


def _left_quadratic(current: float, per_iteration: float, growth: float, limit: int) -> int | None:
    """Smallest m with current + sum_{k=1..m} (per_iteration + growth*k) >= limit."""
    room = limit - current
    if room <= 0:
        return 0
    if growth <= 0:
        return _left_linear(current, per_iteration, limit)
    # growth/2 m^2 + (per_iteration + growth/2) m - room = 0
    a, b = growth / 2, per_iteration + growth / 2
    return max(0, math.ceil((-b + math.sqrt(b * b + 4 * a * room)) / (2 * a)))


def _growing_argument(series: _Series) -> tuple[str | None, float, float | None]:
    """The deepest argument path that carries most of the input's growth."""
    slopes = {path: _slope(col) for path, col in series.paths.items()}
    top = max((s for p, s in slopes.items() if p.count("[") == 1), default=0.0)
    if top < _MIN_GROWTH:
        return None, 0.0, None
    best = max(
        (p for p, s in slopes.items() if s >= 0.8 * top),
        key=lambda p: (p.count("["), slopes[p]),
    )
    items = series.lengths.get(best)
    return best, slopes[best], (_slope(items) if items else None)


def _activity_loop(
    name: str, series: _Series, last: BudgetReport, runs: int, continues: bool
) -> LoopGrowth:
    limits = last.limits
    n = len(series.inputs)
    position_steps = [b - a for a, b in zip(series.positions, series.positions[1:], strict=False)]
    byte_steps = [b - a for a, b in zip(series.cumulative, series.cumulative[1:], strict=False)]
    events_per = sum(position_steps) / len(position_steps) if position_steps else 0.0
    growth = max(0.0, _slope(byte_steps)) if len(byte_steps) >= 2 else 0.0
    mean_step = sum(byte_steps) / len(byte_steps) if byte_steps else 0.0
    bytes_now = mean_step + growth * (len(byte_steps) - 1) / 2 if byte_steps else 0.0
    input_growth = max(0.0, _slope(series.inputs))
    arg, arg_growth, items = _growing_argument(series)
    left: dict[str, int | None] = {"events": None, "bytes": None, "payload": None}
    if not continues:
        left["events"] = _left_linear(last.events, events_per, limits.events_error)
        left["bytes"] = _left_quadratic(last.bytes, bytes_now, growth, limits.bytes_error)
    if input_growth >= _MIN_GROWTH:
        left["payload"] = _left_linear(series.inputs[-1], input_growth, limits.payload_error)
    return LoopGrowth(
        kind="activity",
        subject=name,
        iterations=n,
        events_per_iteration=events_per,
        bytes_per_iteration=bytes_now,
        bytes_growth=growth,
        input_bytes=series.inputs[-1],
        input_growth=input_growth,
        growing_argument=arg,
        argument_growth=arg_growth,
        items_growth=items,
        continues_as_new=continues,
        iterations_left=left,
    )


def _chain_loop(runs: Sequence[BudgetReport]) -> LoopGrowth | None:
    carried = [r.carried_input for r in runs if r.carried_input is not None]
    if len(runs) < 2 or len(carried) != len(runs):
        return None
    last = runs[-1]
    growth = max(0.0, _slope(carried))
    events = [r.events for r in runs]
    left: dict[str, int | None] = {"events": None, "bytes": None, "payload": None}
    if len(runs) < last.limits.min_iterations:
        growth = 0.0  # two points always fit a line: too few runs to call it growth
    if growth >= _MIN_GROWTH:
        left["payload"] = _left_linear(carried[-1], growth, last.limits.payload_error)
    return LoopGrowth(
        kind="chain",
        subject="continue-as-new",
        iterations=len(runs),
        events_per_iteration=sum(events) / len(events),
        bytes_per_iteration=sum(r.bytes for r in runs) / len(runs),
        bytes_growth=max(0.0, _slope([r.bytes for r in runs])),
        input_bytes=carried[-1],
        input_growth=growth,
        continues_as_new=True,
        iterations_left=left,
    )


def _analyse(last: BudgetReport, runs: Sequence[BudgetReport]) -> BudgetReport:
    """Loops and findings of ``last``, with ``runs`` (its chain, oldest first) as evidence."""
    limits = last.limits
    continues = any(r.continues_as_new for r in runs)
    joined: dict[str, _Series] = {}
    for run in runs:
        for name, s in run.series.items():
            if name in joined:
                prev = joined[name]
                keys = set(prev.paths) & set(s.paths)
                lkeys = set(prev.lengths) & set(s.lengths)
                # Positions and byte offsets restart in each run: only the inputs join.
                joined[name] = _Series(
                    positions=s.positions if len(s.positions) > 1 else prev.positions,
                    cumulative=s.cumulative if len(s.cumulative) > 1 else prev.cumulative,
                    inputs=prev.inputs + s.inputs,
                    paths={k: prev.paths[k] + s.paths[k] for k in sorted(keys)},
                    lengths={k: prev.lengths[k] + s.lengths[k] for k in sorted(lkeys)},
                )
            else:
                joined[name] = s
    loops: list[LoopGrowth] = []
    for name, s in joined.items():
        if len(s.inputs) >= limits.min_iterations:
            loops.append(_activity_loop(name, s, last, len(runs), continues))
    chain = _chain_loop(runs)
    if chain is not None:
        loops.append(chain)
    findings = _findings(last, loops)
    return dataclasses.replace(
        last, loops=tuple(loops), findings=tuple(findings), chain_runs=len(runs)
    )


def _findings(report: BudgetReport, loops: Sequence[LoopGrowth]) -> list[BudgetFinding]:
    lim = report.limits
    out: list[BudgetFinding] = []
    for limit, value, warn, error, what in (
        ("events", report.events, lim.events_warn, lim.events_error, f"{report.events:,} events"),
        (
            "bytes",
            report.bytes,
            lim.bytes_warn,
            lim.bytes_error,
            f"history size {format_size(report.bytes)}",
        ),
        (
            "payload",
            report.largest_payload,
            lim.payload_warn,
            lim.payload_error,
            f"largest payload {format_size(report.largest_payload)} at {report.largest_payload_at}",
        ),
        (
            "transaction",
            report.largest_transaction,
            None,
            lim.transaction_error,
            f"one workflow task wrote {format_size(report.largest_transaction)}",
        ),
    ):
        if value >= error:
            out.append(
                BudgetFinding(
                    "error",
                    limit,
                    f"{what}: over the {limit} limit ({_limit_text(limit, error)})",
                    value,
                    error,
                )
            )
        elif warn is not None and value >= warn:
            out.append(
                BudgetFinding(
                    "warning",
                    limit,
                    f"{what}: over the {limit} warning limit ({_limit_text(limit, warn)})",
                    value,
                    warn,
                )
            )
    for loop in loops:
        first = loop.first_limit()
        reach = lim.projection_reach(loop.iterations)
        if first is None or first[1] > reach:
            continue
        limit, left = first
        if limit == "payload":
            reason = (
                "continue-as-new does not shrink it"
                if loop.continues_as_new
                else "no continue-as-new"
            )
        else:
            reason = "the workflow never continues as new"
        threshold = {
            "events": lim.events_error,
            "bytes": lim.bytes_error,
            "payload": lim.payload_error,
        }[limit]
        what = "continue-as-new chain" if loop.kind == "chain" else f"`{loop.subject}` loop"
        unit = "runs" if loop.kind == "chain" else "iterations"
        growth = (
            " (quadratic: its input grows every iteration)"
            if loop.quadratic and loop.kind == "activity"
            else ""
        )
        out.append(
            BudgetFinding(
                "warning",
                f"projected-{limit}",
                f"{what}{growth} reaches the {limit} limit ({_limit_text(limit, threshold)}) "
                f"after ~{left:,} more {unit} at the growth measured over {loop.iterations:,} "
                f"{unit}, "
                f"within the {reach:,} {unit} its evidence supports; {reason}",
                left,
                threshold,
            )
        )
    return out


def _limit_text(limit: str, value: int) -> str:
    return f"{value:,} events" if limit == "events" else format_size(value)


# ---------------------------------------------------------------------------------------
# Continue-as-new chains across files

_RUN = re.compile(r"^(?P<stem>.+?)(?:\.run(?P<n>\d+))?\.json$")


def chain_key(path: str | None) -> tuple[str, int] | None:
    """``(folder/stem, run number)`` of ``<id>.json`` / ``<id>.runN.json`` (run 1 first)."""
    if path is None:
        return None
    p = Path(path)
    match = _RUN.match(p.name)
    if match is None:
        return None
    return str(p.parent / match.group("stem")), int(match.group("n") or 1)


def chain_budgets(
    items: Sequence[tuple[str | None, BudgetReport | None]],
) -> list[BudgetReport | None]:
    """Re-analyse each run with the earlier runs of its chain as evidence.

    Runs are joined by the run ids their started events carry (first run of the chain, run
    continued from), so pulled files (``<id>__<run id>.json``) chain too; histories without
    them chain by file name (``<id>.json``, ``<id>.run2.json``, ... in one folder).

    Args:
        items: ``(path, budget)`` per history, in any order.

    Returns:
        The budgets in the same order; runs of a chain of two or more carry the chain's
        loops (runs joined) and projections.
    """
    chains: list[list[int]] = []
    by_first: dict[str, list[int]] = {}
    by_name: dict[str, list[tuple[int, int]]] = {}
    for index, (path, budget) in enumerate(items):
        if budget is None:
            continue
        if budget.run_ids is not None:
            by_first.setdefault(budget.run_ids[2], []).append(index)
            continue
        key = chain_key(path)
        if key is not None:
            by_name.setdefault(key[0], []).append((key[1], index))
    for members in by_first.values():
        chains.extend(_ordered_runs(members, items))
    for named in by_name.values():
        chains.append([index for _, index in sorted(named)])
    out = [budget for _, budget in items]
    for chain_indexes in chains:
        if len(chain_indexes) < 2:
            continue
        reports = [items[i][1] for i in chain_indexes]
        for position, index in enumerate(chain_indexes):
            chain = [r for r in reports[: position + 1] if r is not None]
            out[index] = _analyse(chain[-1], chain)
    return out


def _ordered_runs(
    members: list[int], items: Sequence[tuple[str | None, BudgetReport | None]]
) -> list[list[int]]:
    """The runs of one chain in order, following each run's previous-run link; a gap (a run
    not pulled) splits it."""
    ids: dict[int, tuple[str, str, str]] = {}
    for index in members:
        budget = items[index][1]
        assert budget is not None and budget.run_ids is not None
        ids[index] = budget.run_ids
    present = {run_ids[0] for run_ids in ids.values()}
    after = {run_ids[1]: index for index, run_ids in ids.items() if run_ids[1]}
    out: list[list[int]] = []
    for index, run_ids in ids.items():
        if run_ids[1] in present:
            continue  # not the start of a sequence
        sequence = [index]
        while (nxt := after.get(ids[sequence[-1]][0])) is not None and nxt not in sequence:
            sequence.append(nxt)
        out.append(sequence)
    return out


def format_budget(report: BudgetReport, *, findings_only: bool = False) -> list[str]:
    """Readable lines: the measures, each loop, each finding."""
    lim = report.limits
    lines: list[str] = []
    if not findings_only:
        lines.append(
            f"budget: {report.events:,} events ({_pct(report.events, lim.events_error)} of "
            f"{lim.events_error:,}), {format_size(report.bytes)} "
            f"({_pct(report.bytes, lim.bytes_error)} of {format_size(lim.bytes_error)}), "
            f"largest payload {format_size(report.largest_payload)} "
            f"({_pct(report.largest_payload, lim.payload_error)} of "
            f"{format_size(lim.payload_error)})"
            + (f", {report.chain_runs} runs in the chain" if report.chain_runs > 1 else "")
        )
        lines.extend(f"  loop: {loop.describe()}" for loop in report.loops)
    lines.extend(f"budget {f.level}: {f.message}" for f in report.findings)
    return lines


def _pct(value: int, limit: int) -> str:
    return f"{100 * value / limit:.2f}%" if limit else "?"
