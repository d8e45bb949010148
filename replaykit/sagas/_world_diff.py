"""Comparing two world snapshots: what a run left behind.

A snapshot maps keys (table names, usually) to rows or values; :func:`diff_worlds` lists every
difference between the world before a run and after it as a :class:`Leftover`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Leftover", "diff_worlds"]


@dataclass(frozen=True)
class Leftover:
    """One difference between the world after a run and the world before it.

    Attributes:
        table: The snapshot key (a table name, usually).
        change: ``added`` (a row that was not there before: an effect never undone),
            ``removed`` (a row gone: a deletion never restored) or ``changed`` (a value that
            is not a list of rows differs).
        row: The row (``added`` / ``removed``) or the value after the run (``changed``).
        before: The value before the run (``changed`` only).
    """

    table: str
    change: Literal["added", "removed", "changed"]
    row: Any
    before: Any = None

    def describe(self) -> str:
        """``charges row {order_id: 'o-1', amount_cents: 4200, status: 'charged'} left behind``."""
        if self.change == "added":
            return f"{self.table} row {_show(self.row)} left behind"
        if self.change == "removed":
            return f"{self.table} row {_show(self.row)} gone and never restored"
        return f"{self.table} is {_show(self.row)}, was {_show(self.before)}"


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return json.dumps(value, default=str)


def diff_worlds(
    before: Mapping[str, Any], after: Mapping[str, Any], *, ignore: Sequence[str] = ()
) -> list[Leftover]:
    """Every difference between two world snapshots (rows compared as multisets).

    A key whose value is a list is a table: its items are rows, compared regardless of
    order; any other value is compared as a whole. A key missing on one side counts as an
    empty table.

    Args:
        before: The snapshot before the run.
        after: The snapshot after it.
        ignore: Keys not compared (expected residue: audit logs, the ledger's own tables).
    """
    out: list[Leftover] = []
    for table in sorted(set(before) | set(after)):
        if table in ignore:
            continue
        old, new = before.get(table, []), after.get(table, [])
        if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
            old_keys = Counter(_canon(r) for r in old)
            new_keys = Counter(_canon(r) for r in new)
            added, removed = new_keys - old_keys, old_keys - new_keys
            for row in new:
                key = _canon(row)
                if added[key] > 0:
                    added[key] -= 1
                    out.append(Leftover(table, "added", row))
            for row in old:
                key = _canon(row)
                if removed[key] > 0:
                    removed[key] -= 1
                    out.append(Leftover(table, "removed", row))
        elif _canon(old) != _canon(new):
            out.append(Leftover(table, "changed", new, before=old))
    return out
