"""The ``--trace`` rendering: every recorded event with the source line that produced it."""

from __future__ import annotations

import linecache
from typing import TYPE_CHECKING, Any

from replaykit.check._format import event_type_name
from replaykit.check._report import display_path

from ._points import E, Source
from ._stepper import _Produced, _Stepper
from ._targets import _Index

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------- the trace


#: The attributes of an event that carry what the workflow sent or received.
_VALUE_KEYS = (
    "input",
    "result",
    "failure",
    "lastFailure",
    "details",
    "upsertedMemo",
    "searchAttributes",
    "outcome",
    "acceptedRequest",
)


def _payload_details(attributes: Any) -> str:
    """The decoded values of an event (its input, result, failure, ...) for a stop banner."""
    if not isinstance(attributes, dict):
        return ""
    parts: list[str] = []
    for key in _VALUE_KEYS:
        if key not in attributes:
            continue
        value = attributes[key]
        if isinstance(value, dict) and set(value) == {"payloads"}:
            payloads = value["payloads"]
            value = payloads[0] if isinstance(payloads, list) and len(payloads) == 1 else payloads
        parts.append(f"{key}: {_clipped_json(value)}")
    return "\n".join(parts)


def _clipped_json(value: Any, *, lines: int = 12, width: int = 110) -> str:
    """A decoded value for a stop banner: pretty JSON, a screenful at most."""
    import json

    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    rows = [r if len(r) <= width else r[: width - 1] + "…" for r in text.splitlines()]
    if len(rows) > lines:
        rows = [*rows[:lines], f"… ({len(rows) - lines} more lines)"]
    return "\n".join(rows)


def _line_text(source: Source) -> str:
    return linecache.getline(source[0], source[1]).strip()


def _where(source: Source) -> str:
    return f"{display_path(source[0])}:{source[1]} in {source[2]}"


def format_trace(index: _Index, stepper: _Stepper, summaries: dict[int, str]) -> str:
    """Every event beside the workflow line that issued or consumed it."""
    by_kind: dict[tuple[str, int], _Produced] = {(p.kind, p.index): p for p in stepper.produced}
    consumed: dict[int, Source] = {}
    awaited: dict[int, Source] = {}
    for state in stepper.task_states.values():
        plain = [c for c in state.chains if c.handler is None and c.source is not None]
        taken = {e for c in state.chains if c.source is not None for e in c.events}
        for chain in state.chains:
            if chain.source is not None:
                for e in chain.events:
                    consumed[e] = chain.source
        leftover = [e for e in state.delivered if e not in taken]
        for e in leftover:
            ev = index.by_id[e]
            if ev.event_type in (
                E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            ):
                continue
            if plain and plain[-1].source is not None:
                consumed[e] = plain[-1].source  # woken together (asyncio.gather)
            elif e in state.awaited:
                awaited[e] = state.awaited[e]
    width = max((len(event_type_name(ev.event_type)) for ev in index.events), default=10)
    lines: list[str] = []
    for ev in index.events:
        eid = ev.event_id
        head = f"{eid:>4}  {event_type_name(ev.event_type):<{width}}  {summaries.get(eid, '')}"
        lines.append(head.rstrip())
        produced: _Produced | None = None
        if eid in index.ordered_index:
            produced = by_kind.get(("ordered", index.ordered_index[eid]))
        elif eid in index.local_markers:
            produced = by_kind.get(("local", index.local_markers.index(eid)))
        elif eid in index.patch_markers:
            produced = by_kind.get(("patch", index.patch_markers.index(eid)))
        if produced is not None and produced.source is not None:
            lines.append(f"{'':6}issued by   {_where(produced.source)}")
            lines.append(f"{'':18}| {_line_text(produced.source)}")
        elif eid in consumed:
            lines.append(f"{'':6}consumed at {_where(consumed[eid])}")
            lines.append(f"{'':18}| {_line_text(consumed[eid])}")
        elif eid in awaited:
            lines.append(f"{'':6}awaited at  {_where(awaited[eid])}")
            lines.append(f"{'':18}| {_line_text(awaited[eid])}")
    extra = [p for p in stepper.produced if p.kind == "ordered" and p.index >= len(index.ordered)]
    for p in extra:
        lines.append(
            f"   +  (not in the history) the code now issues {p.variant.replace('_', ' ')}"
        )
        if p.source is not None:
            lines.append(f"{'':6}issued by   {_where(p.source)}")
            lines.append(f"{'':18}| {_line_text(p.source)}")
    return "\n".join(lines) + "\n"
