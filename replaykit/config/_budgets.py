"""Budget limits as configuration: :class:`BudgetLimits` and their parsing.

The limits are settings (``[tool.replaykit] budgets``, ``--budget KEY=VALUE``), validated when
the configuration is read; measuring a history against them is the check's job
(:mod:`replaykit.check._budget`). This module imports no temporalio.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KB", "MB", "BudgetLimits", "parse_budget_limits"]

KB = 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class BudgetLimits:
    """Limits a history is measured against (defaults: Temporal self-hosted).

    Attributes:
        events_warn / events_error: Events per history.
        bytes_warn / bytes_error: Serialized size of the history.
        payload_warn / payload_error: One payload blob (an activity's input, a result, ...).
        transaction_error: One persisted transaction (the events one workflow task adds).
        horizon: Loops projected to reach an error limit within this many more iterations
            are flagged, at most (see :meth:`projection_reach`).
        min_iterations: Occurrences of an activity in one run (or runs of a chain) before it
            counts as a loop whose growth is fitted.
        projection_min_iterations: Iterations (runs, for a chain) a loop must have been
            observed before its projection can flag it: a fit of three points is no evidence.
        projection_factor: A loop is projected no further than this many times the
            iterations observed (and never past ``horizon``).
    """

    events_warn: int = 10_240
    events_error: int = 51_200
    bytes_warn: int = 10 * MB
    bytes_error: int = 50 * MB
    payload_warn: int = 256 * KB
    payload_error: int = 2 * MB
    transaction_error: int = 4 * MB
    horizon: int = 1000
    min_iterations: int = 3
    projection_min_iterations: int = 5
    projection_factor: int = 10

    def projection_reach(self, observed: int) -> int:
        """How many more iterations a loop observed ``observed`` times may be projected over.

        The one rule for flagging a projection: a loop reaching an error limit within this
        many more iterations is flagged. Zero below ``projection_min_iterations`` observed;
        else ``projection_factor`` times what was observed, capped at ``horizon``: a history
        is evidence for a loop about as long as itself, not for one a hundred times longer.
        """
        if observed < self.projection_min_iterations:
            return 0
        return min(self.horizon, self.projection_factor * observed)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|k|m|g)?\s*$", re.IGNORECASE)
_UNITS = {
    None: 1,
    "b": 1,
    "k": KB,
    "kb": KB,
    "kib": KB,
    "m": MB,
    "mb": MB,
    "mib": MB,
    "g": 1024 * MB,
    "gb": 1024 * MB,
    "gib": 1024 * MB,
}


#: Keys whose value must be at least 1.
_AT_LEAST_ONE = ("horizon", "min_iterations", "projection_min_iterations", "projection_factor")


def _parse_number(key: str, value: Any, source: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{source}: budget {key} must be a number, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value)
    elif isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(
                f"{source}: budget {key}={value!r} is not a number or size "
                "(e.g. 10240, 256KB, 50MB)"
            )
        number = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower() or None])
    else:
        raise ValueError(f"{source}: budget {key} must be a number or a size string")
    if number < 0 or (key in _AT_LEAST_ONE and number < 1):
        raise ValueError(f"{source}: budget {key} must be positive, not {value!r}")
    return number


def parse_budget_limits(
    values: Mapping[str, Any] | Iterable[str],
    *,
    base: BudgetLimits | None = None,
    source: str = "--budget",
) -> BudgetLimits:
    """Override limits from a mapping (``[tool.replaykit] budgets``) or ``KEY=VALUE`` texts.

    Sizes take units (``256KB``, ``50MB``). Unknown keys are an error listing the valid ones.

    Raises:
        ValueError: An unknown key or a bad value.
    """
    pairs: list[tuple[str, Any]] = []
    if isinstance(values, Mapping):
        pairs = list(values.items())
    else:
        for text in values:
            key, eq, value = text.partition("=")
            if not eq:
                raise ValueError(f"{source} {text!r}: expected KEY=VALUE, e.g. events_warn=5000")
            pairs.append((key.strip(), value.strip()))
    valid = [f.name for f in dataclasses.fields(BudgetLimits)]
    changes: dict[str, int] = {}
    for key, value in pairs:
        name = key.replace("-", "_")
        if name not in valid:
            raise ValueError(f"{source}: unknown budget {key!r}; valid: {', '.join(valid)}")
        changes[name] = _parse_number(name, value, source)
    return dataclasses.replace(base or BudgetLimits(), **changes)
