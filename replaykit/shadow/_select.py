"""Which executions a shadow judges: a deterministic sample by run id, a limit, a deadline,
and each run id once."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Literal

from replaykit._internal._errors import ConfigError

__all__ = ["Admission", "Selector", "in_sample", "validate_selection"]

Admission = Literal["selected", "sampled-out", "duplicate", "stop"]


def in_sample(run_id: str, rate: float) -> bool:
    """Whether a run belongs to a sample of ``rate`` (0 to 1), decided by its run id alone.

    The run id's SHA-256 read as a fraction in [0, 1) is compared with ``rate``: a rerun (on
    this or any machine, with any listing order) picks the same runs, and a larger rate picks
    a superset of a smaller one's.
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < rate


def validate_selection(*, sample: float, limit: int | None, max_duration: float | None) -> None:
    """Reject selection options out of range.

    Raises:
        ConfigError: ``sample`` outside (0, 1], ``limit`` below 1, ``max_duration`` not positive.
    """
    if not 0.0 < sample <= 1.0:
        raise ConfigError(f"sample must be a rate in (0, 1], got {sample!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    if max_duration is not None and max_duration <= 0:
        raise ConfigError(f"max duration must be positive, got {max_duration!r} s")


@dataclass
class Selector:
    """Admits executions one at a time, in listing order; not thread-safe (one producer).

    Attributes:
        sample: Rate of the deterministic sample by run id.
        limit: Executions selected at most.
        deadline: ``time.monotonic()`` after which nothing more is selected.
    """

    sample: float = 1.0
    limit: int | None = None
    deadline: float | None = None
    seen: set[str] = field(default_factory=set)
    selected: int = 0
    sampled_out: int = 0
    duplicates: int = 0
    stopped: str | None = None

    def admit(self, run_id: str) -> Admission:
        """``selected``, ``sampled-out``, ``duplicate`` (a run id already judged), or
        ``stop`` (the limit is reached or the deadline passed: nothing more will be)."""
        if self.stopped is not None:
            return "stop"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = "max-duration"
            return "stop"
        if run_id in self.seen:
            self.duplicates += 1
            return "duplicate"
        if not in_sample(run_id, self.sample):
            self.sampled_out += 1
            return "sampled-out"
        if self.limit is not None and self.selected >= self.limit:
            self.stopped = "limit"
            return "stop"
        self.seen.add(run_id)
        self.selected += 1
        return "selected"
