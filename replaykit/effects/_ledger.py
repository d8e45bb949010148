"""The effects ledger: a SQLite log of every attempt to apply a side effect, and its verifier.

Activities that touch the world (charge a card, reserve stock, send a mail) do it through
:meth:`EffectsLedger.once`, which checks the idempotency key and applies the effect in one
SQLite transaction, or through :meth:`EffectsLedger.record`, which only logs an application
(for effects that are not deduplicated, so a duplicate can be caught). Every attempt is logged
with the workflow id, activity type, activity id and attempt number of the activity running it.

An attempt is logged as ``started`` in its own committed transaction *before* anything is
done, and marked ``applied`` in the same transaction as the effect. An attempt killed or timed
out in between stays ``started``: the verifier counts it as *maybe applied* (Jepsen's ``info``),
never as not applied.

The ledger is one SQLite file shared by every worker process (WAL mode, busy timeout). The
world's own tables may live in the same file, which is what makes check-and-write atomic.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import temporalio.activity

from replaykit._internal._errors import ConfigError, ReplaykitError

__all__ = [
    "ENV_LEDGER",
    "EffectAttempt",
    "EffectSlot",
    "EffectViolation",
    "EffectsError",
    "EffectsLedger",
    "EffectsReport",
    "current_slot",
    "idempotent",
    "verify_effects",
]

ENV_LEDGER = "REPLAYKIT_LEDGER"
"""Environment variable naming the ledger's SQLite file when no path is given."""

AttemptStatus = Literal["started", "applied", "skipped", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replaykit_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    effect        TEXT NOT NULL,
    key           TEXT NOT NULL,
    mode          TEXT NOT NULL,
    status        TEXT NOT NULL,
    workflow_id   TEXT,
    run_id        TEXT,
    activity_type TEXT,
    activity_id   TEXT,
    attempt       INTEGER,
    error         TEXT,
    pid           INTEGER NOT NULL,
    started_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX IF NOT EXISTS replaykit_attempts_key ON replaykit_attempts (effect, key);
CREATE TABLE IF NOT EXISTS replaykit_effects (
    effect     TEXT NOT NULL,
    key        TEXT NOT NULL,
    attempt_id INTEGER NOT NULL,
    result     TEXT,
    applied_at REAL NOT NULL,
    PRIMARY KEY (effect, key)
);
"""

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class EffectsError(ReplaykitError):
    """An effect was applied more than once (or an expected effect never was).

    Attributes:
        report: The full verification report.
    """

    def __init__(self, report: EffectsReport) -> None:
        self.report = report
        super().__init__(report.format())


@dataclass(frozen=True)
class EffectAttempt:
    """One logged attempt to apply an effect.

    Attributes:
        id: Ledger row id (increases in the order attempts started).
        effect: Effect name (defaults to the activity type).
        key: Idempotency key.
        mode: ``"once"`` (deduplicated) or ``"record"`` (logged only).
        status: ``started`` (never finished: maybe applied), ``applied``, ``skipped`` (the key
            was already applied, nothing done) or ``failed`` (raised; rolled back).
        workflow_id: Workflow of the activity that made the attempt, if any.
        run_id: Its run id.
        activity_type: Activity type, if made inside an activity.
        activity_id: Activity id.
        attempt: The activity's attempt number (1-based), if inside an activity.
        error: ``"ExcType: message"`` for failed attempts.
        pid: Process that made the attempt.
    """

    id: int
    effect: str
    key: str
    mode: str
    status: AttemptStatus
    workflow_id: str | None = None
    run_id: str | None = None
    activity_type: str | None = None
    activity_id: str | None = None
    attempt: int | None = None
    error: str | None = None
    pid: int = 0

    @property
    def maybe_applied(self) -> bool:
        """Started and never finished: killed or timed out, so it may have applied."""
        return self.status == "started"

    @property
    def applied(self) -> bool:
        """Known to have applied the effect."""
        return self.status == "applied"

    def describe(self) -> str:
        """``attempt 2 (applied)``; ledger row id when not made by an activity."""
        who = f"attempt {self.attempt}" if self.attempt is not None else f"ledger entry {self.id}"
        if self.status == "started":
            state = "maybe applied: started, never finished"
        elif self.status == "failed" and self.error:
            state = f"failed: {self.error}"
        else:
            state = self.status
        return f"{who} ({state})"


@dataclass(frozen=True)
class EffectViolation:
    """An effect key that was not applied exactly once.

    Attributes:
        kind: ``"duplicate"`` (applied more than once) or ``"missing"`` (expected, never
            applied nor maybe applied).
        effect: Effect name.
        key: Idempotency key.
        attempts: Every attempt logged for this key, in order.
        message: Human-readable explanation naming the attempts.
    """

    kind: Literal["duplicate", "missing"]
    effect: str
    key: str
    attempts: tuple[EffectAttempt, ...]
    message: str


@dataclass(frozen=True)
class EffectsReport:
    """What the ledger verifier found.

    Attributes:
        attempts: Every attempt in the ledger, in order.
        violations: Keys applied more than once, and expected keys never applied.
        indeterminate: (effect, key) pairs whose outcome depends on attempts that may have
            applied (started, never finished); not violations, since one reading is valid.
    """

    attempts: tuple[EffectAttempt, ...]
    violations: tuple[EffectViolation, ...]
    indeterminate: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every key was applied at most once (and expected keys once)."""
        return not self.violations

    def applied_count(self, effect: str, key: str) -> int:
        """How many attempts are known to have applied ``effect`` under ``key``."""
        return sum(1 for a in self.attempts if a.effect == effect and a.key == key and a.applied)

    def format(self) -> str:
        """The violations, one per line, or a one-line all-clear."""
        if self.ok:
            keys = {(a.effect, a.key) for a in self.attempts}
            k, n = len(keys), len(self.attempts)
            return (
                f"effects exactly once: {k} key{'s' if k != 1 else ''}, "
                f"{n} attempt{'s' if n != 1 else ''}"
            )
        return "\n".join(v.message for v in self.violations)


@dataclass
class EffectSlot:
    """What :meth:`EffectsLedger.once` / :meth:`EffectsLedger.record` yield.

    Attributes:
        effect: Effect name.
        key: Idempotency key.
        fresh: True when this attempt must apply the effect; False when the key was already
            applied (by ``applied_by``), so doing it again would be a duplicate.
        conn: The SQLite connection whose open transaction commits the effect together with
            the ledger entry. Write world rows through it for an atomic check-and-write.
        attempt_id: This attempt's ledger row id.
        applied_by: Ledger row id of the attempt that applied the key earlier.
        result: On a fresh slot, set it to a JSON value to keep; on a non-fresh slot, the
            value the applying attempt kept.
    """

    effect: str
    key: str
    fresh: bool
    conn: sqlite3.Connection = field(repr=False)
    attempt_id: int
    applied_by: int | None = None
    result: Any = None


@dataclass(frozen=True)
class _Context:
    workflow_id: str | None
    run_id: str | None
    activity_type: str | None
    activity_id: str | None
    attempt: int | None


def _current_context() -> _Context:
    if not temporalio.activity.in_activity():
        return _Context(None, None, None, None, None)
    info = temporalio.activity.info()
    return _Context(
        info.workflow_id,
        info.workflow_run_id,
        info.activity_type,
        info.activity_id,
        info.attempt,
    )


class EffectsLedger:
    """A SQLite ledger of effect attempts shared by all worker processes.

    Args:
        path: The SQLite file; defaults to ``$REPLAYKIT_LEDGER``. Created if missing.
        busy_timeout: Seconds a writer waits for another process's transaction.

    Raises:
        ConfigError: No path given and ``REPLAYKIT_LEDGER`` is not set.

    Example:
        >>> ledger = EffectsLedger("/tmp/world.db")
        >>> with ledger.once("order-1", effect="charge") as slot:
        ...     if slot.fresh:
        ...         slot.conn.execute("INSERT INTO charges VALUES (?, ?)", ("order-1", 500))
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0):
        raw = path if path is not None else os.environ.get(ENV_LEDGER)
        if not raw:
            raise ConfigError(f"no ledger path: pass one or set {ENV_LEDGER}")
        self.path = Path(raw)
        self.busy_timeout = busy_timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self.connect()) as conn:
            # WAL lets readers (the verifier, tests) run while workers write.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def connect(self) -> sqlite3.Connection:
        """A new autocommit connection to the ledger file (caller closes it).

        ``isolation_level=None`` so transactions are explicit (``BEGIN IMMEDIATE``): the
        dedup check and the write must hold the write lock together.
        """
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        return conn

    @contextlib.contextmanager
    def once(self, key: str, *, effect: str | None = None) -> Iterator[EffectSlot]:
        """Apply an effect at most once per (effect, key).

        The block runs inside ``BEGIN IMMEDIATE``: check the key, let the caller apply the
        effect through ``slot.conn`` when ``slot.fresh``, then record the key and mark the
        attempt applied, all in one commit. An exception rolls everything back and marks the
        attempt failed; a kill leaves it ``started`` (maybe applied). The block holds the
        database's write lock: keep it short, and do not nest ledger blocks in one thread.

        Args:
            key: Idempotency key, e.g. ``"order-1"``.
            effect: Effect name; defaults to the running activity's type.

        Yields:
            The slot: ``fresh`` says whether to act.
        """
        with self._attempt(key, effect=effect, mode="once") as slot:
            yield slot

    @contextlib.contextmanager
    def record(self, key: str, *, effect: str | None = None) -> Iterator[EffectSlot]:
        """Log an application of an effect without deduplicating it.

        For effects that are not (or cannot be) made idempotent: the slot is always fresh,
        and the ledger keeps every application so :meth:`verify` can report duplicates.
        """
        with self._attempt(key, effect=effect, mode="record") as slot:
            yield slot

    @contextlib.contextmanager
    def _attempt(self, key: str, *, effect: str | None, mode: str) -> Iterator[EffectSlot]:
        ctx = _current_context()
        name = effect or ctx.activity_type
        if not name:
            raise ConfigError("outside an activity, pass effect= to name the effect")
        attempt_id = self._log_started(ctx, name, key, mode)
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT attempt_id, result FROM replaykit_effects WHERE effect = ? AND key = ?",
                (name, key),
            ).fetchone()
            fresh = mode == "record" or row is None
            slot = EffectSlot(
                effect=name,
                key=key,
                fresh=fresh,
                conn=conn,
                attempt_id=attempt_id,
                applied_by=None if row is None else int(row[0]),
                result=None if row is None or row[1] is None else json.loads(row[1]),
            )
            try:
                yield slot
            except BaseException as err:
                conn.execute("ROLLBACK")
                self._finish(attempt_id, "failed", error=f"{type(err).__name__}: {err}")
                raise
            now = time.time()
            if fresh:
                result = None if slot.result is None else json.dumps(slot.result)
                conn.execute(
                    "INSERT OR IGNORE INTO replaykit_effects (effect, key, attempt_id, result,"
                    " applied_at) VALUES (?, ?, ?, ?, ?)",
                    (name, key, attempt_id, result, now),
                )
            conn.execute(
                "UPDATE replaykit_attempts SET status = ?, finished_at = ? WHERE id = ?",
                ("applied" if fresh else "skipped", now, attempt_id),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _log_started(self, ctx: _Context, effect: str, key: str, mode: str) -> int:
        with contextlib.closing(self.connect()) as conn:
            cur = conn.execute(
                "INSERT INTO replaykit_attempts (effect, key, mode, status, workflow_id, run_id,"
                " activity_type, activity_id, attempt, pid, started_at)"
                " VALUES (?, ?, ?, 'started', ?, ?, ?, ?, ?, ?, ?)",
                (
                    effect,
                    key,
                    mode,
                    ctx.workflow_id,
                    ctx.run_id,
                    ctx.activity_type,
                    ctx.activity_id,
                    ctx.attempt,
                    os.getpid(),
                    time.time(),
                ),
            )
            return int(cast(int, cur.lastrowid))

    def _finish(self, attempt_id: int, status: AttemptStatus, *, error: str | None) -> None:
        with contextlib.closing(self.connect()) as conn:
            conn.execute(
                "UPDATE replaykit_attempts SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                (status, error, time.time(), attempt_id),
            )

    def attempts(self, *, effect: str | None = None, key: str | None = None) -> list[EffectAttempt]:
        """Logged attempts, oldest first, optionally filtered by effect and key."""
        sql = (
            "SELECT id, effect, key, mode, status, workflow_id, run_id, activity_type,"
            " activity_id, attempt, error, pid FROM replaykit_attempts"
        )
        clauses: list[str] = []
        params: list[str] = []
        if effect is not None:
            clauses.append("effect = ?")
            params.append(effect)
        if key is not None:
            clauses.append("key = ?")
            params.append(key)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with contextlib.closing(self.connect()) as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [EffectAttempt(*row) for row in rows]

    def verify(
        self,
        *,
        expect_once: Iterable[tuple[str, str]] = (),
        raise_on_failure: bool = True,
    ) -> EffectsReport:
        """Check that every (effect, key) was applied at most once; see :func:`verify_effects`."""
        return verify_effects(self, expect_once=expect_once, raise_on_failure=raise_on_failure)


def verify_effects(
    ledger: EffectsLedger | str | os.PathLike[str],
    *,
    expect_once: Iterable[tuple[str, str]] = (),
    raise_on_failure: bool = True,
) -> EffectsReport:
    """Verify the ledger: no effect key applied more than once.

    An attempt that started and never finished counts as *maybe applied*: it never makes a
    key look unapplied, and a key is only reported as a duplicate when at least two attempts
    are *known* to have applied it (a key with one applied and one maybe-applied attempt is
    listed in ``indeterminate``).

    Args:
        ledger: The ledger or its SQLite file.
        expect_once: (effect, key) pairs that must have been applied: a pair with no applied
            and no maybe-applied attempt is a ``missing`` violation.
        raise_on_failure: Raise :class:`EffectsError` on any violation (default) instead of
            only returning the report.

    Returns:
        The report.
    """
    if not isinstance(ledger, EffectsLedger):
        ledger = EffectsLedger(ledger)
    attempts = tuple(ledger.attempts())
    by_key: dict[tuple[str, str], list[EffectAttempt]] = {}
    for att in attempts:
        by_key.setdefault((att.effect, att.key), []).append(att)
    violations: list[EffectViolation] = []
    indeterminate: list[tuple[str, str]] = []
    for (effect, key), group in by_key.items():
        applied = [a for a in group if a.applied]
        maybe = [a for a in group if a.maybe_applied]
        if len(applied) >= 2:
            violations.append(
                EffectViolation(
                    kind="duplicate",
                    effect=effect,
                    key=key,
                    attempts=tuple(group),
                    message=_duplicate_message(effect, key, group, len(applied)),
                )
            )
        elif maybe and len(applied) + len(maybe) >= 2:
            indeterminate.append((effect, key))
    for effect, key in expect_once:
        group = by_key.get((effect, key), [])
        if not any(a.applied or a.maybe_applied for a in group):
            tried = ", ".join(a.describe() for a in group) or "no attempt"
            violations.append(
                EffectViolation(
                    kind="missing",
                    effect=effect,
                    key=key,
                    attempts=tuple(group),
                    message=(
                        f"effect not exactly once: {_who(effect, group)} never applied key "
                        f"{key}: {tried}"
                    ),
                )
            )
    report = EffectsReport(
        attempts=attempts, violations=tuple(violations), indeterminate=tuple(indeterminate)
    )
    if raise_on_failure and not report.ok:
        raise EffectsError(report)
    return report


def _who(effect: str, group: list[EffectAttempt]) -> str:
    types = {a.activity_type for a in group if a.activity_type}
    if len(types) == 1:
        return f"activity `{types.pop()}`"
    return f"effect `{effect}`"


def _duplicate_message(effect: str, key: str, group: list[EffectAttempt], n: int) -> str:
    times = {2: "twice", 3: "three times"}.get(n, f"{n} times")
    relevant = [a for a in group if a.applied or a.maybe_applied]
    detail = ", ".join(a.describe() for a in relevant)
    workflows = sorted({a.workflow_id for a in relevant if a.workflow_id})
    where = f" (workflow {', '.join(workflows)})" if workflows else ""
    return (
        f"effect not exactly once: {_who(effect, group)} applied key {key} {times}: {detail}{where}"
    )


def idempotent(
    *,
    key: Callable[..., str],
    effect: str | None = None,
    ledger: EffectsLedger | Callable[[], EffectsLedger] | None = None,
) -> Callable[[_F], _F]:
    """Make a function (typically an activity) run at most once per key.

    The first call for a key runs the function inside the ledger transaction and keeps its
    JSON-serialisable return value; later calls (retries, duplicates) return that value
    without running it. Inside the function, :func:`current_slot` gives the slot, so world rows
    written through ``current_slot().conn`` commit atomically with the ledger entry. Put
    ``@idempotent`` *under* ``@activity.defn``.

    Args:
        key: Computes the idempotency key from the function's arguments.
        effect: Effect name; defaults to the activity type (or the function name).
        ledger: The ledger, or a factory called per call (default: ``EffectsLedger()`` from
            ``$REPLAYKIT_LEDGER``, resolved at call time so workers can set it late).

    Example:
        >>> @activity.defn
        ... @idempotent(key=lambda order: f"{order.order_id}:charge")
        ... async def charge_payment(order: Order) -> str: ...
    """

    def resolve() -> EffectsLedger:
        if isinstance(ledger, EffectsLedger):
            return ledger
        return ledger() if ledger is not None else EffectsLedger()

    def decorate(fn: _F) -> _F:
        name = effect

        def run_sync(args: tuple[Any, ...], kwargs: dict[str, Any], call: Callable[[], _T]) -> Any:
            led = resolve()
            with led.once(key(*args, **kwargs), effect=name or _default_effect(fn)) as slot:
                if not slot.fresh:
                    return slot.result
                token = _SLOT.set(slot)
                try:
                    slot.result = call()
                finally:
                    _SLOT.reset(token)
                return slot.result

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                led = resolve()
                with led.once(key(*args, **kwargs), effect=name or _default_effect(fn)) as slot:
                    if not slot.fresh:
                        return slot.result
                    token = _SLOT.set(slot)
                    try:
                        # The write lock is held across this await: keep such bodies short.
                        slot.result = await fn(*args, **kwargs)
                    finally:
                        _SLOT.reset(token)
                    return slot.result

            return cast(_F, async_wrapper)

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            return run_sync(args, kwargs, lambda: fn(*args, **kwargs))

        return cast(_F, sync_wrapper)

    return decorate


def _default_effect(fn: Callable[..., Any]) -> str:
    if temporalio.activity.in_activity():
        return temporalio.activity.info().activity_type
    return getattr(fn, "__name__", "effect")


_SLOT: contextvars.ContextVar[EffectSlot] = contextvars.ContextVar("replaykit_effect_slot")


def current_slot() -> EffectSlot:
    """The slot of the innermost ``@idempotent`` call running in this context.

    Raises:
        LookupError: Not inside an ``@idempotent`` function.
    """
    return _SLOT.get()
