"""The ``workflow.patched()`` lifecycle: which patch ids histories still need.

- ``_analysis``: the report (``replaykit patches``); ``_text`` prints it.
- ``_scan``: what the code says (a static scan of ``workflow.patched`` calls).
- ``_hook``: what replay says (the SDK hook observing ``workflow.patched``).
- ``_prepatch``: old-branch histories from the current code (``--generate-old``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replaykit._internal._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "._analysis": (
        "PatchReport",
        "PatchRow",
        "analyze_patches",
    ),
    "._scan": (
        "PatchSite",
        "scan_patch_sites",
    ),
    "._prepatch": (
        "PrePatchReport",
        "generate_pre_patch_histories",
        "generate_pre_patch_histories",
        "generate_pre_patch_histories_async",
    ),
}

__all__ = [
    "PatchReport",
    "PatchRow",
    "PatchSite",
    "PrePatchReport",
    "analyze_patches",
    "generate_pre_patch_histories",
    "generate_pre_patch_histories_async",
    "scan_patch_sites",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._analysis import PatchReport as PatchReport
    from ._analysis import PatchRow as PatchRow
    from ._analysis import analyze_patches as analyze_patches
    from ._prepatch import PrePatchReport as PrePatchReport
    from ._prepatch import generate_pre_patch_histories as generate_pre_patch_histories
    from ._prepatch import generate_pre_patch_histories_async as generate_pre_patch_histories_async
    from ._scan import PatchSite as PatchSite
    from ._scan import scan_patch_sites as scan_patch_sites
