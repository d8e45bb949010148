"""PaymentAgentWorkflow: the seed's saga, done right.

reserve_inventory -> charge_payment -> dispatch_shipment. When a step fails, or the workflow is
cancelled, the steps that applied (or may have applied) are undone in reverse order by
release_inventory / refund_payment / cancel_shipment, and the run ends ``ROLLED_BACK`` (or
*cancelled*, after the compensations ran).

What the seed's snippet got wrong and this module does instead:

* compensations are data (activity type + argument), registered *after* their step applied,
  so a step that failed with an error is never "undone";
* a step that timed out, or was cancelled while it ran, may have applied: it is compensated;
  so is a step whose last attempt failed with an error after an earlier attempt timed out (a
  worker killed after the effect, before reporting it): the workflow only sees the last
  attempt's error, so it asks the history (:func:`earlier_attempt_may_have_applied`), the same
  evidence the saga verifier uses;
* ``except Exception`` does not catch ``asyncio.CancelledError``; this workflow catches the
  cancellation, runs the compensations (activities scheduled after a cancellation are not
  cancelled by it) and ends cancelled;
* forward steps use ``WAIT_CANCELLATION_COMPLETED`` so a step cancelled mid-flight has finished
  (or not) before its compensation runs. When the step finishes *successfully* after the cancel
  was requested, the SDK hands back its result and the cancellation is not raised again: the
  workflow checks :func:`temporalio.workflow.cancellation_reason` after every step, so such a
  cancel still rolls everything back (the step that just finished included);
* a cancel that arrives while a compensation (or the history question) runs does not abandon
  it: the rollback finishes, then the run ends cancelled;
* every side effect is a SQLite row written through the effects ledger under an idempotency
  key, in the same transaction as the ledger entry: a retried activity never charges twice.

The database is ``Order.db_path`` if set, else ``$REPLAYKIT_LEDGER``, else
``$REFERENCE_AGENTS_DB``, else a file in the system temp folder. The world tables
(``inventory_reservations``, ``charges``, ``shipments``) live in the ledger's file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    import os
    import tempfile
    from pathlib import Path

    from replaykit.effects import EffectsLedger
    from replaykit.sagas import SagaSpec

_T = TypeVar("_T")


@dataclass
class Order:
    """A payment-agent order.

    Attributes:
        order_id: Business id; idempotency keys derive from it.
        sku: Stock-keeping unit to reserve.
        qty: Units to reserve.
        amount_cents: Amount to charge.
        fail_at: Forward step (activity type) that fails with a non-retryable error before it
            applies anything: scenarios use it to exercise the rollback.
        block_at: Forward step that waits (heartbeating) until it is cancelled: scenarios use
            it to cancel the workflow while that step runs.
        db_path: SQLite file of the world and the ledger (see the module docstring).
    """

    order_id: str
    sku: str
    qty: int
    amount_cents: int
    fail_at: str | None = None
    block_at: str | None = None
    db_path: str | None = None


# -- side effects ---------------------------------------------------------------------------

WORLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory_reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, sku TEXT NOT NULL,
    qty INTEGER NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shipments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, status TEXT NOT NULL
);
"""
# No UNIQUE(order_id) on purpose: the ledger is what keeps effects exactly once, and a
# duplicate must show up as a second row rather than be masked by a constraint error.

_LEDGERS: dict[str, EffectsLedger] = {}


def world_path(order: Order | None = None) -> Path:
    """The SQLite file an order's effects go to."""
    if order is not None and order.db_path:
        return Path(order.db_path)
    env = os.environ.get("REPLAYKIT_LEDGER") or os.environ.get("REFERENCE_AGENTS_DB")
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / "replaykit-reference-agents.sqlite3"


def ledger_for(order: Order | None = None) -> EffectsLedger:
    """The effects ledger (and world tables) for an order; schema created on first use."""
    path = str(world_path(order))
    led = _LEDGERS.get(path)
    if led is None:
        led = EffectsLedger(path)
        conn = led.connect()
        try:
            conn.executescript(WORLD_SCHEMA)
        finally:
            conn.close()
        _LEDGERS[path] = led
    return led


async def _wait_until_cancelled() -> None:
    # Heartbeats are how an activity learns it was cancelled.
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.2)


async def _forward(order: Order, step: str, sql: str, params: tuple[object, ...]) -> str:
    if order.block_at == step:
        await _wait_until_cancelled()
    if order.fail_at == step:
        raise ApplicationError(
            f"injected failure at {step} for order {order.order_id}",
            type="OrderRejected",
            non_retryable=True,
        )
    return await asyncio.to_thread(_apply_once, order, f"{order.order_id}:{step}", sql, params)


def _apply_once(order: Order, key: str, sql: str, params: tuple[object, ...]) -> str:
    with ledger_for(order).once(key) as slot:
        if slot.fresh:
            slot.conn.execute(sql, params)
            return "applied"
        return "already applied"


@activity.defn
async def reserve_inventory(order: Order) -> str:
    """Reserve ``qty`` units of ``sku`` (one row in inventory_reservations)."""
    return await _forward(
        order,
        "reserve_inventory",
        "INSERT INTO inventory_reservations (order_id, sku, qty, status)"
        " VALUES (?, ?, ?, 'reserved')",
        (order.order_id, order.sku, order.qty),
    )


@activity.defn
async def charge_payment(order: Order) -> str:
    """Charge the order's amount (one row in charges)."""
    return await _forward(
        order,
        "charge_payment",
        "INSERT INTO charges (order_id, amount_cents, status) VALUES (?, ?, 'charged')",
        (order.order_id, order.amount_cents),
    )


@activity.defn
async def dispatch_shipment(order: Order) -> str:
    """Dispatch the order (one row in shipments)."""
    return await _forward(
        order,
        "dispatch_shipment",
        "INSERT INTO shipments (order_id, status) VALUES (?, 'dispatched')",
        (order.order_id,),
    )


async def _compensate(order: Order, step: str, sql: str) -> str:
    # Undoing a step that never applied is a no-op (UPDATE matches no row): a step that was
    # cancelled or timed out mid-flight may or may not have applied.
    return await asyncio.to_thread(
        _apply_once, order, f"{order.order_id}:{step}", sql, (order.order_id,)
    )


@activity.defn
async def release_inventory(order: Order) -> str:
    """Undo reserve_inventory."""
    return await _compensate(
        order,
        "release_inventory",
        "UPDATE inventory_reservations SET status = 'released'"
        " WHERE order_id = ? AND status = 'reserved'",
    )


@activity.defn
async def refund_payment(order: Order) -> str:
    """Undo charge_payment."""
    return await _compensate(
        order,
        "refund_payment",
        "UPDATE charges SET status = 'refunded' WHERE order_id = ? AND status = 'charged'",
    )


@activity.defn
async def cancel_shipment(order: Order) -> str:
    """Undo dispatch_shipment."""
    return await _compensate(
        order,
        "cancel_shipment",
        "UPDATE shipments SET status = 'cancelled' WHERE order_id = ? AND status = 'dispatched'",
    )


def _has_timeout(failure: Failure) -> bool:
    node: Failure | None = failure
    for _ in range(20):  # a cause chain is short; bound it anyway
        if node is None:
            return False
        if node.HasField("timeout_failure_info"):
            return True
        node = node.cause if node.HasField("cause") else None
    return False


@activity.defn
async def earlier_attempt_may_have_applied(scheduled_event_id: int) -> bool:
    """Whether an earlier attempt of a failed step may have applied its effect.

    The workflow sees only the last attempt's error. The attempt before it is in the calling
    run's history: its failure is the ``lastFailure`` of the step's ``ActivityTaskStarted``
    event (scheduled at ``scheduled_event_id``). A timed-out attempt (its worker killed after
    the effect, before the result reached the server) may have applied. This is the evidence
    ``replaykit saga verify`` uses, so the workflow and the verifier agree on what to undo.
    """
    info = activity.info()
    if not info.workflow_id:
        raise ApplicationError("only a workflow's own step can be asked about", non_retryable=True)
    handle = activity.client().get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            continue
        attrs = event.activity_task_started_event_attributes
        if attrs.scheduled_event_id == scheduled_event_id:
            return attrs.HasField("last_failure") and _has_timeout(attrs.last_failure)
    return False


WORLD_ENV = "REPLAYKIT_WORLD"
"""Where ``replaykit saga prove-rollback`` puts each run's world (see :func:`world_snapshot`)."""

_IN_FORCE = {
    "inventory_reservations": ("reserved", "order_id, sku, qty, status"),
    "charges": ("charged", "order_id, amount_cents, status"),
    "shipments": ("dispatched", "order_id, status"),
}


def world_snapshot(
    path: str | os.PathLike[str] | None = None,
) -> dict[str, list[dict[str, object]]]:
    """The effects in force in the payment world: held reservations, standing charges,
    dispatched shipments (rows whose effect was undone - released, refunded, cancelled - are
    not part of the world any more). Read-only; a missing file is an empty world.

    The file is ``path``, else ``$REPLAYKIT_WORLD`` (set by ``prove-rollback`` for each run),
    else :func:`world_path`. For ``replaykit saga prove-rollback --snapshot
    reference_agents.payment:world_snapshot``.
    """
    import sqlite3

    target = Path(path or os.environ.get(WORLD_ENV) or world_path())
    world: dict[str, list[dict[str, object]]] = {table: [] for table in _IN_FORCE}
    if not target.exists():
        return world
    conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        for table, (status, columns) in _IN_FORCE.items():
            try:
                rows = conn.execute(
                    f"SELECT {columns} FROM {table} WHERE status = ? ORDER BY id", (status,)
                ).fetchall()
            except sqlite3.OperationalError:  # no such table yet: nothing was applied
                continue
            world[table] = [dict(row) for row in rows]
    finally:
        conn.close()
    return world


# -- the workflow ---------------------------------------------------------------------------

SAGA = SagaSpec(
    steps=[
        ("reserve_inventory", "release_inventory"),
        ("charge_payment", "refund_payment"),
        ("dispatch_shipment", "cancel_shipment"),
    ],
    name="payment",
)
"""The payment saga, for ``replaykit saga verify --spec reference_agents.payment:SAGA``."""

FORWARD_TIMEOUT = timedelta(seconds=30)
FORWARD_HEARTBEAT = timedelta(seconds=5)  # cancellation reaches a step within ~4 s
FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_attempts=3,
    non_retryable_error_types=["OrderRejected"],
)
COMPENSATION_TIMEOUT = timedelta(seconds=30)
# Compensations must eventually succeed; retries are bounded only so a bug cannot hang a test.
COMPENSATION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
PROBE_TIMEOUT = timedelta(seconds=30)
PROBE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5)


@dataclass(frozen=True)
class Compensation:
    """A registered compensation: data, not a closure, so it is visible and replay-safe."""

    activity: str
    order: Order


def may_have_applied(err: BaseException) -> bool:
    """Whether the last attempt of a forward step that raised may still have applied its effect.

    A timeout or a cancellation while it ran may have left the effect behind; an application
    error raised by the activity means that attempt did not apply (effects commit atomically).
    Earlier attempts are not visible in the error: see :func:`earlier_attempt_may_have_applied`.
    """
    if isinstance(err, asyncio.CancelledError):
        return True
    if isinstance(err, ActivityError):
        cause = err.cause
        for _ in range(20):  # the chain the verifier walks too
            if cause is None:
                return False
            if isinstance(cause, (TimeoutError, CancelledError)):
                return True
            cause = cause.__cause__
    return False


async def _uninterrupted(handle: workflow.ActivityHandle[_T]) -> _T:
    """Await an activity that a cancellation of the workflow must not abandon.

    The cancel is still recorded (:func:`temporalio.workflow.cancellation_reason`); the caller
    honours it once the activity has finished.
    """
    try:
        return await asyncio.shield(handle)
    except asyncio.CancelledError:
        # The shield took the cancel; the activity runs on (or has just finished).
        return await handle


def _cancel_requested() -> bool:
    return workflow.cancellation_reason() is not None


@workflow.defn
class PaymentAgentWorkflow:
    """Reserve, charge, dispatch; on failure or cancellation undo in reverse order."""

    SAGA = SAGA

    def __init__(self) -> None:
        self.compensations: list[Compensation] = []
        self.status = "running"

    @workflow.run
    async def run(self, order: Order) -> str:
        """Run the saga; returns ``"SUCCESS"`` or ``"ROLLED_BACK"`` (or ends cancelled)."""
        try:
            for step in SAGA.steps:
                try:
                    await workflow.execute_activity(
                        step.forward,
                        order,
                        start_to_close_timeout=FORWARD_TIMEOUT,
                        heartbeat_timeout=FORWARD_HEARTBEAT,
                        retry_policy=FORWARD_RETRY,
                        cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                        result_type=str,
                    )
                except BaseException as err:
                    if may_have_applied(err) or await self._earlier_attempt_applied(err):
                        self.compensations.append(Compensation(step.compensation, order))
                    raise
                self.compensations.append(Compensation(step.compensation, order))
                if _cancel_requested():
                    # The step finished after the cancel was requested: the SDK returned its
                    # result and will not raise the cancellation again. Roll back anyway.
                    raise asyncio.CancelledError("workflow cancelled while a step finished")
        except (ActivityError, asyncio.CancelledError) as err:
            cancelled = isinstance(err, asyncio.CancelledError) or (
                isinstance(err, ActivityError) and isinstance(err.cause, CancelledError)
            )
            self.status = "compensating"
            await self._compensate()
            if cancelled or _cancel_requested():
                self.status = "cancelled"
                if isinstance(err, asyncio.CancelledError):
                    raise
                # A step failed and the workflow was cancelled too: end cancelled, as asked.
                raise asyncio.CancelledError("workflow cancelled during the rollback") from err
            self.status = "rolled back"
            return "ROLLED_BACK"
        self.status = "done"
        return "SUCCESS"

    async def _earlier_attempt_applied(self, err: BaseException) -> bool:
        if not isinstance(err, ActivityError):
            return False
        probe = workflow.start_activity(
            earlier_attempt_may_have_applied,
            err.scheduled_event_id,
            start_to_close_timeout=PROBE_TIMEOUT,
            retry_policy=PROBE_RETRY,
        )
        try:
            return await _uninterrupted(probe)
        except ActivityError:
            return True  # no answer: the step may have applied, undo it (a no-op if not)

    async def _compensate(self) -> None:
        # Newest first; one at a time, so each undo sees the world its step left.
        for comp in reversed(self.compensations):
            await _uninterrupted(
                workflow.start_activity(
                    comp.activity,
                    comp.order,
                    start_to_close_timeout=COMPENSATION_TIMEOUT,
                    retry_policy=COMPENSATION_RETRY,
                    result_type=str,
                )
            )

    @workflow.query
    def state(self) -> str:
        """Where the saga is: running, compensating, rolled back, cancelled, done."""
        return self.status


WORKFLOWS = [PaymentAgentWorkflow]
ACTIVITIES = [
    reserve_inventory,
    charge_payment,
    dispatch_shipment,
    release_inventory,
    refund_payment,
    cancel_shipment,
    earlier_attempt_may_have_applied,
]

__all__ = [
    "ACTIVITIES",
    "SAGA",
    "WORKFLOWS",
    "Compensation",
    "Order",
    "PaymentAgentWorkflow",
    "earlier_attempt_may_have_applied",
    "ledger_for",
    "may_have_applied",
    "world_path",
    "world_snapshot",
]
