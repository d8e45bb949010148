"""Corrupted history files never produce a traceback or a hang: each gets a verdict.

Mutations are drawn with a fixed seed from real recorded histories (dropped, duplicated and
swapped events, deleted or retyped fields, changed enum values, clipped payloads); every file
must come back as clean, divergent or a named input error, from the real check pipeline
(worker process with hang protection).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import temporalio.workflow

from replaykit import CheckOptions, check_histories

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = sorted(
    p
    for p in (ROOT / "fixtures" / "histories").rglob("*.json")
    # The payment agent calls workflow.cancellation_reason (temporalio >= 1.28): on an older
    # SDK (the oldest-SDK CI run) its histories fail for that reason, not their corruption.
    if hasattr(temporalio.workflow, "cancellation_reason") or "payment" not in p.parent.name
)


def _mutate(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(raw)
    events = doc["events"]
    kind = rng.randrange(9)
    i = rng.randrange(len(events))
    if kind == 0:
        del events[i]
    elif kind == 1:
        events.insert(i, copy.deepcopy(events[i]))
    elif kind == 2 and len(events) > 2:
        j = rng.randrange(len(events))
        events[i], events[j] = events[j], events[i]
    elif kind == 3:
        attrs = [k for k in events[i] if k.endswith("Attributes")]
        if attrs:
            inner = events[i][attrs[0]]
            if isinstance(inner, dict) and inner:
                inner.pop(rng.choice(sorted(inner)))
    elif kind == 4:
        events[i]["eventType"] = rng.choice(
            [
                "EVENT_TYPE_TIMER_FIRED",
                "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
                "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
                "EVENT_TYPE_MARKER_RECORDED",
            ]
        )
    elif kind == 5:
        events[i]["eventId"] = str(rng.randrange(1, 10_000))
    elif kind == 6:
        attrs = [k for k in events[i] if k.endswith("Attributes")]
        if attrs:
            events[i][attrs[0]] = rng.choice([None, 5, "x", [], {}])
    elif kind == 7:
        del events[i:]
        if not events:
            events.append(copy.deepcopy(raw["events"][0]))
    else:
        text = json.dumps(events[i])
        events[i] = json.loads(text.replace('"data": "', '"data": "AAAA', 1))
    return doc


def test_corrupted_histories_get_verdicts_not_tracebacks(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    raws = [json.loads(p.read_text()) for p in SOURCES]
    for n in range(60):
        doc = _mutate(raws[n % len(raws)], rng)
        (tmp_path / f"m{n:03d}.json").write_text(json.dumps(doc))
    report = check_histories(
        [tmp_path],
        workflows=["reference_agents"],
        jobs=1,
        options=CheckOptions(timeout=30, cache=False),
    )
    assert len(report.results) == 60
    for r in report.results:
        assert r.status in ("clean", "divergent", "error")
        text = (r.error or "") + r.describe()
        assert "Traceback" not in text, text
        if r.status == "error":
            assert r.error and r.path
    # the corpus really exercises all three outcomes
    statuses = {r.status for r in report.results}
    assert statuses >= {"divergent", "error"}, statuses
