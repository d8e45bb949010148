"""The timeline as a self-contained HTML page: inline CSS, no scripts, no external assets.

Events are colored by category; the diverging ones are highlighted with the explanation, and a
banner at the top lists every divergence with a link to its event.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from replaykit.check._budget import BudgetReport, format_budget
from replaykit.check._divergence import Divergence, HistoryResult
from replaykit.history._files import HistoryFile
from replaykit.history._versioning import VersioningView

from ._timeline import (
    TimelineEvent,
    _divergences_by_event,
    _verdict_line,
    build_timeline,
    format_offset,
)

__all__ = ["render_html"]

#: Longest decoded attribute dump in one HTML ``<details>`` block.
DETAILS_CHARS = 20_000


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;color:#1d2330}
h1{font-size:1.3em;margin:0 0 .2em}
.meta{color:#5b6475;margin-bottom:1em}
.meta code{background:#f1f3f7;padding:0 .3em;border-radius:3px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .6em;vertical-align:top;border-bottom:1px solid #eceff4}
th{background:#f6f7fa;position:sticky;top:0}
td.id,td.off{font-variant-numeric:tabular-nums;white-space:nowrap;color:#5b6475}
td.type{white-space:nowrap;font-weight:600}
td.sum{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;
  word-break:break-word}
details summary{cursor:pointer;color:#5b6475;font-size:12px}
pre{background:#f6f7fa;padding:.6em;border-radius:4px;overflow:auto;max-height:30em;
  font-size:12px;white-space:pre-wrap;word-break:break-word}
tr.cat-workflow-task{opacity:.45}
tr.cat-workflow td.type{color:#0b7285}
tr.cat-activity td.type{color:#1c5fd1}
tr.cat-activity{background:#f3f7ff}
tr.cat-local-activity td.type{color:#1c5fd1}
tr.cat-timer td.type{color:#b35c00}
tr.cat-timer{background:#fff8ec}
tr.cat-child td.type{color:#7b2fbf}
tr.cat-child{background:#f8f2ff}
tr.cat-signal td.type,tr.cat-update td.type{color:#2b8a3e}
tr.cat-signal,tr.cat-update{background:#f1fbf3}
tr.cat-marker td.type,tr.cat-attributes td.type{color:#5b6475}
tr.failed td.sum{color:#c92a2a}
tr.diverged{background:#ffe3e3 !important;outline:2px solid #e03131;opacity:1}
tr.divergence td{background:#fff5f5;border-left:4px solid #e03131}
.banner{border:2px solid #e03131;background:#fff5f5;border-radius:6px;padding:.8em 1em;
  margin:0 0 1.2em}
.banner.clean{border-color:#2b8a3e;background:#ebfbee}
.banner.error{border-color:#e8590c;background:#fff4e6}
.div{margin:.6em 0}
.kind{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;
  padding:0 .4em;border-radius:3px;background:#e03131;color:#fff;margin-right:.4em}
.kind.option-change{background:#868e96}
.legend span{display:inline-block;margin-right:1em;font-size:12px}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}
"""


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pretty(value: Any) -> str:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > DETAILS_CHARS:
        text = text[:DETAILS_CHARS] + f"\n… ({len(text) - DETAILS_CHARS} more characters)"
    return text


def _divergence_html(d: Divergence, *, link: bool) -> str:
    parts = [
        f'<div class="div"><span class="kind {_h(d.kind)}">{_h(d.kind)}</span>'
        f"<strong>{_h(d.message)}</strong>"
    ]
    facts: list[str] = []
    if d.event_id is not None:
        where = f"event {d.event_id} ({d.event_type})"
        facts.append(f'<a href="#ev-{d.event_id}">{_h(where)}</a>' if link else _h(where))
    if d.subject:
        facts.append(_h(d.subject) + (f" · field <code>{_h(d.field)}</code>" if d.field else ""))
    if d.source:
        facts.append(f"code: <code>{_h(d.source)}</code>")
    if facts:
        parts.append("<div>" + " · ".join(facts) + "</div>")
    if d.diff:
        parts.append(f"<div>recorded → now:</div><pre>{_h(d.diff)}</pre>")
    else:
        if d.recorded is not None:
            parts.append(f"<div>recorded:</div><pre>{_h(_pretty(d.recorded))}</pre>")
        if d.current is not None:
            parts.append(f"<div>now:</div><pre>{_h(_pretty(d.current))}</pre>")
    if d.hint:
        parts.append(f"<div><em>hint:</em> {_h(d.hint)}</div>")
    parts.append("</div>")
    return "".join(parts)


def _banner(history: HistoryFile, result: HistoryResult | None) -> str:
    if result is None:
        return ""
    if result.status == "error":
        return (
            f'<div class="banner error"><strong>Could not check:</strong> {_h(result.error)}</div>'
        )
    divs = (*result.divergences, *result.allowed)
    if result.status == "clean" and not divs:
        return '<div class="banner clean">Replays clean against the current code.</div>'
    head = (
        _h(_verdict_line(history, result).removeprefix("check: "))
        if result.status == "divergent"
        else "Replays, with differences that do not fail the check"
    )
    body = "".join(_divergence_html(d, link=True) for d in divs)
    cls = "banner" if result.status == "divergent" else "banner clean"
    return f'<div class="{cls}" id="divergences"><strong>{head}</strong>{body}</div>'


_LEGEND = (
    ("workflow", "#0b7285"),
    ("activity", "#1c5fd1"),
    ("timer", "#b35c00"),
    ("child", "#7b2fbf"),
    ("signal / update", "#2b8a3e"),
    ("workflow task", "#adb5bd"),
)


def render_html(
    history: HistoryFile,
    *,
    result: HistoryResult | None = None,
    events: Sequence[TimelineEvent] | None = None,
    budget: BudgetReport | None = None,
    versioning: VersioningView | None = None,
) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external assets).

    Args:
        history: The history to render.
        result: A check verdict; its divergences are shown at the top and at their events.
        events: A timeline already built from ``history`` (built here if None).
        budget: The history budget, shown under the facts.
        versioning: Worker Versioning recorded in the history, shown with the facts.
    """
    rows = list(events) if events is not None else build_timeline(history)
    by_event = _divergences_by_event(result)
    meta = history.meta
    facts = [
        ("workflow type", history.workflow_type),
        ("workflow id", history.workflow_id),
        ("run id", history.run_id or "?"),
        ("task queue", history.task_queue),
        ("events", str(len(rows))),
    ]
    if versioning is not None and versioning.versioned:
        facts.append(("versioning", versioning.describe()))
    if meta is not None:
        facts += [
            (k, v)
            for k, v in (
                ("scenario", meta.scenario),
                ("recorded", meta.recorded_at),
                ("SDK", meta.sdk_version),
            )
            if v
        ]
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(history.workflow_type)} · {_h(history.workflow_id)} · replaykit</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_h(history.workflow_type)} <small>{_h(history.display_name)}</small></h1>",
        '<div class="meta">'
        + " · ".join(f"{_h(k)} <code>{_h(v)}</code>" for k, v in facts)
        + "</div>",
        _banner(history, result),
        (
            f'<pre class="budget">{_h(chr(10).join(format_budget(budget)))}</pre>'
            if budget is not None
            else ""
        ),
        '<div class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{_h(n)}</span>' for n, c in _LEGEND)
        + "</div>",
        "<table><thead><tr><th>id</th><th>time</th><th>event</th><th>summary</th></tr></thead>",
        "<tbody>",
    ]
    for r in rows:
        classes = [f"cat-{r.category}"]
        if r.failed:
            classes.append("failed")
        divs = by_event.get(r.event_id, [])
        if divs:
            classes.append("diverged")
        details = (
            f"<details><summary>decoded attributes</summary><pre>{_h(_pretty(r.attributes))}</pre>"
            "</details>"
            if r.attributes
            else ""
        )
        out.append(
            f'<tr id="ev-{r.event_id}" class="{" ".join(classes)}">'
            f'<td class="id">{r.event_id}</td>'
            f'<td class="off" title="{_h(r.time)}">{_h(format_offset(r.offset))}</td>'
            f'<td class="type">{_h(r.event_type)}</td>'
            f'<td class="sum">{_h(r.summary)}{details}</td></tr>'
        )
        if divs:
            out.append(
                '<tr class="divergence"><td colspan="4">'
                + "".join(_divergence_html(d, link=False) for d in divs)
                + "</td></tr>"
            )
    trailing = by_event.get(None, [])
    if trailing:
        out.append(
            '<tr class="divergence" id="ev-after"><td colspan="4"><strong>After the recorded '
            "events:</strong>"
            + "".join(_divergence_html(d, link=False) for d in trailing)
            + "</td></tr>"
        )
    out += ["</tbody></table>", "</body></html>", ""]
    return "\n".join(out)
