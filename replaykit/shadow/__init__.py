"""Shadowing: check a cluster's executions (or a folder of histories) against the current code.

- ``_shadow``: the shadow itself (list, select, fetch while replaying, report).
- ``_continuous``: continuous shadowing (one pass per interval over what started or grew).
- ``_coordinator``: ``--on-temporal``'s coordinator workflow (pages, batches, continue-as-new).
- ``_distributed``: ``--on-temporal``: the workers' activities, the worker, starting, following
  and collecting a shadow run by Temporal.
- ``_select``: the deterministic sample by run id, the limit, the deadline, each run once.
- ``_fetch``: listing, history pages and describes, every request through one token bucket.
- ``_export``: Temporal Cloud's Workflow History Export files as histories (folder or fsspec URL).
- ``_store``: the local history store (a next shadow fetches only what is new or has grown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._shadow": (
        "ShadowOptions",
        "ShadowReport",
        "shadow_cluster",
        "shadow_cluster_async",
        "shadow_export",
        "shadow_folder",
    ),
    "._continuous": (
        "ContinuousOptions",
        "ContinuousReport",
        "ShadowInterval",
        "shadow_continuous",
        "shadow_continuous_async",
    ),
    "._distributed": (
        "OnTemporalOptions",
        "run_shadow_on_temporal",
        "serve_shadow_worker",
        "shadow_status",
    ),
    "._coordinator": ("ShadowProgress",),
    "._select": ("in_sample",),
    "._store": ("HistoryStore", "StoredRun"),
}

__all__ = [
    "ContinuousOptions",
    "ContinuousReport",
    "HistoryStore",
    "OnTemporalOptions",
    "ShadowInterval",
    "ShadowOptions",
    "ShadowProgress",
    "ShadowReport",
    "StoredRun",
    "in_sample",
    "run_shadow_on_temporal",
    "serve_shadow_worker",
    "shadow_cluster",
    "shadow_cluster_async",
    "shadow_continuous",
    "shadow_continuous_async",
    "shadow_export",
    "shadow_folder",
    "shadow_status",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._continuous import ContinuousOptions as ContinuousOptions
    from ._continuous import ContinuousReport as ContinuousReport
    from ._continuous import ShadowInterval as ShadowInterval
    from ._continuous import shadow_continuous as shadow_continuous
    from ._continuous import shadow_continuous_async as shadow_continuous_async
    from ._coordinator import ShadowProgress as ShadowProgress
    from ._distributed import OnTemporalOptions as OnTemporalOptions
    from ._distributed import run_shadow_on_temporal as run_shadow_on_temporal
    from ._distributed import serve_shadow_worker as serve_shadow_worker
    from ._distributed import shadow_status as shadow_status
    from ._select import in_sample as in_sample
    from ._shadow import ShadowOptions as ShadowOptions
    from ._shadow import ShadowReport as ShadowReport
    from ._shadow import shadow_cluster as shadow_cluster
    from ._shadow import shadow_cluster_async as shadow_cluster_async
    from ._shadow import shadow_export as shadow_export
    from ._shadow import shadow_folder as shadow_folder
    from ._store import HistoryStore as HistoryStore
    from ._store import StoredRun as StoredRun
