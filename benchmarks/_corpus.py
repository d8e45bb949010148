"""Benchmark corpora: many distinct history files made from recorded ones."""

from __future__ import annotations

import json
from pathlib import Path


def make_corpus(sources: list[Path], out: Path, count: int) -> list[Path]:
    """Write ``count`` distinct copies (own workflow ids) of ``sources`` round-robin."""
    out.mkdir(parents=True, exist_ok=True)
    raws = [json.loads(p.read_text()) for p in sources]
    paths: list[Path] = []
    for i in range(count):
        raw = json.loads(json.dumps(raws[i % len(raws)]))
        # Keep the recorded workflow id (replay depends on it); make the content distinct so
        # content-keyed caches see a new file.
        meta = raw.setdefault("replaykit", {"workflow_id": sources[i % len(sources)].stem})
        meta["extra"] = {**meta.get("extra", {}), "bench_copy": i}
        path = out / f"h{i:05d}.json"
        path.write_text(json.dumps(raw))
        paths.append(path)
    return paths
