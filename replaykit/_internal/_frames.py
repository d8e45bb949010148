"""Whose code a source file is: the SDK's, the standard library's or replaykit's; an
installed package's (an AI integration, ...); or the user's own.

One rule for every place that picks "the user's line": the source line of a captured command,
the frame a workflow raised in, the debugger's stops, and the verdict cache's split of
project files from installed ones.
"""

from __future__ import annotations

import asyncio
import os

import temporalio

__all__ = ["INSTALLED_PARTS", "SDK", "SKIP_DIRS", "THIRD_PARTY", "USER", "file_kind"]

#: What :func:`file_kind` returns.
SDK, THIRD_PARTY, USER = 0, 1, 2

#: The SDK, asyncio, the rest of the standard library and replaykit itself.
SKIP_DIRS = (
    os.path.dirname(temporalio.__file__),
    os.path.dirname(asyncio.__file__),
    # the whole replaykit package (this module is one level down in replaykit/_internal/)
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.__file__),
)

#: Path parts of installed distributions.
INSTALLED_PARTS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")

_kinds: dict[str, int] = {}


def file_kind(filename: str) -> int:
    """:data:`SDK` (also the standard library, replaykit and ``<frozen ...>``-like names),
    :data:`THIRD_PARTY` (an installed package) or :data:`USER`."""
    kind = _kinds.get(filename)
    if kind is None:
        if filename.startswith(SKIP_DIRS) or filename.startswith("<"):
            kind = SDK
        elif any(part in filename for part in INSTALLED_PARTS):
            kind = THIRD_PARTY
        else:
            kind = USER
        _kinds[filename] = kind
    return kind
