"""The timeline as terminal text: one line per event, divergences marked with ``!``."""

from __future__ import annotations

from collections.abc import Sequence

from replaykit.check._divergence import HistoryResult
from replaykit.history._files import HistoryFile

from ._timeline import (
    TimelineEvent,
    _divergences_by_event,
    _verdict_line,
    build_timeline,
    format_offset,
)

__all__ = ["format_timeline"]


def format_timeline(
    history: HistoryFile,
    *,
    result: HistoryResult | None = None,
    events: Sequence[TimelineEvent] | None = None,
) -> str:
    """The timeline as terminal text: one line per event, divergences marked with ``!``."""
    rows = list(events) if events is not None else build_timeline(history)
    lines = [
        f"{history.display_name}: {history.workflow_type} · workflow id {history.workflow_id}"
        f" · {len(rows)} events"
    ]
    by_event = _divergences_by_event(result)
    if result is not None:
        lines.append(_verdict_line(history, result))
    lines.append("")
    id_w = max(len(str(r.event_id)) for r in rows) if rows else 1
    off_w = max(len(format_offset(r.offset)) for r in rows) if rows else 1
    type_w = min(max(len(r.event_type) for r in rows) if rows else 1, 40)
    for r in rows:
        mark = "!" if r.event_id in by_event else " "
        line = (
            f"{mark} {r.event_id:>{id_w}}  {format_offset(r.offset):>{off_w}}  "
            f"{r.event_type:<{type_w}}  {r.summary}"
        )
        lines.append(line.rstrip())
        for d in by_event.get(r.event_id, []):
            lines.extend("      " + ln for ln in d.describe().splitlines())
    for d in by_event.get(None, []):
        lines.append("! after the recorded events:")
        lines.extend("      " + ln for ln in d.describe().splitlines())
    return "\n".join(lines) + "\n"
