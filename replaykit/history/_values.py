"""Decoded-value equality and readable value diffs.

Payloads are compared as the values they decode to (encoding noise is not a change), with JSON's
notion of equality (``true`` is not ``1``); a difference is shown one change per line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import temporalio.api.common.v1

from ._payloads import Converter, decode_payloads
from ._textdiff import is_long_text, text_diff

__all__ = ["value_diff"]


def _payloads_equal(
    a: Sequence[temporalio.api.common.v1.Payload],
    b: Sequence[temporalio.api.common.v1.Payload],
    converter: Converter | None = None,
) -> bool:
    """Same bytes, or the same values decoded by ``converter`` (default: the SDK's).

    What cannot be decoded is compared by its full SHA-256 (see :mod:`._payloads`).
    """
    if len(a) == len(b) and all(
        x.data == y.data and x.metadata == y.metadata for x, y in zip(a, b, strict=True)
    ):
        return True
    return _same(
        _normalize(decode_payloads(a, converter)), _normalize(decode_payloads(b, converter))
    )


def _same(a: Any, b: Any) -> bool:
    """Decoded-value equality where JSON ``true``/``false`` are not the numbers 1/0.

    Python's ``==`` says ``False == 0`` and ``True == 1.0``; in JSON (what other workers and
    the LLM API receive) they are different values, so bools must match bools exactly.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _normalize(value: Any) -> Any:
    # JSON round-trip folds tuple/list and int/float encoding noise the way the converter does.
    try:
        return json.loads(json.dumps(value, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return value


def value_diff(recorded: Any, current: Any, *, root: str = "args") -> str:
    """A readable diff of two decoded values (deepdiff, one change per line; long strings
    word- or line-diffed so a change in the middle of a long prompt shows)."""
    from deepdiff import DeepDiff

    diff = DeepDiff(recorded, current, verbose_level=2, view="tree")
    lines: list[str] = []
    for change_type, items in diff.items():
        for item in items:
            path = item.path(root=root)
            if change_type in ("values_changed", "type_changes"):
                if is_long_text(item.t1, item.t2):
                    lines.append(f"{path}: {text_diff(item.t1, item.t2)}")
                else:
                    lines.append(f"{path}: {_clip(item.t1)} -> {_clip(item.t2)}")
            elif change_type.endswith("_added"):
                lines.append(f"{path}: added {_clip(item.t2)}")
            elif change_type.endswith("_removed"):
                lines.append(f"{path}: removed {_clip(item.t1)}")
            else:
                lines.append(f"{path}: {change_type}")
    return "\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else "")


def _clip(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
