"""PaymentAgentWorkflow: the seed's saga, done right.

reserve_inventory -> charge_payment -> dispatch_shipment. When a step fails, or the workflow is
cancelled, the steps that applied (or may have applied) are undone in reverse order by
release_inventory / refund_payment / cancel_shipment, and the run ends ``ROLLED_BACK`` (or
*cancelled*, after the compensations ran).

What the seed's snippet got wrong and this module does instead:

* compensations are data (activity type + argument), registered *after* their step applied,
  so a step that failed with an error is never "undone";
* a step that timed out, or was cancelled while it ran, may have applied: it is compensated;
* ``except Exception`` does not catch ``asyncio.CancelledError``; this workflow catches the
  cancellation, runs the compensations (activities scheduled after a cancellation are not
  cancelled by it) and re-raises it;
* forward steps use ``WAIT_CANCELLATION_COMPLETED`` so a step cancelled mid-flight has finished
  (or not) before its compensation runs;
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

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    import os
    import tempfile
    from pathlib import Path

    from replaykit._effects import EffectsLedger
    from replaykit._saga import SagaSpec


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


@dataclass(frozen=True)
class Compensation:
    """A registered compensation: data, not a closure, so it is visible and replay-safe."""

    activity: str
    order: Order


def may_have_applied(err: BaseException) -> bool:
    """Whether a forward step that raised may still have applied its effect.

    A timeout or a cancellation while it ran may have left the effect behind; an application
    error raised by the activity means it did not apply (effects commit atomically).
    """
    if isinstance(err, asyncio.CancelledError):
        return True
    if isinstance(err, ActivityError):
        return isinstance(err.cause, (TimeoutError, CancelledError))
    return False


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
                    if may_have_applied(err):
                        self.compensations.append(Compensation(step.compensation, order))
                    raise
                self.compensations.append(Compensation(step.compensation, order))
        except (ActivityError, asyncio.CancelledError) as err:
            cancelled = isinstance(err, asyncio.CancelledError) or (
                isinstance(err, ActivityError) and isinstance(err.cause, CancelledError)
            )
            self.status = "compensating"
            await self._compensate()
            if cancelled:
                self.status = "cancelled"
                raise
            self.status = "rolled back"
            return "ROLLED_BACK"
        self.status = "done"
        return "SUCCESS"

    async def _compensate(self) -> None:
        # Newest first; one at a time, so each undo sees the world its step left.
        for comp in reversed(self.compensations):
            await workflow.execute_activity(
                comp.activity,
                comp.order,
                start_to_close_timeout=COMPENSATION_TIMEOUT,
                retry_policy=COMPENSATION_RETRY,
                result_type=str,
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
]

__all__ = [
    "ACTIVITIES",
    "SAGA",
    "WORKFLOWS",
    "Compensation",
    "Order",
    "PaymentAgentWorkflow",
    "ledger_for",
    "may_have_applied",
    "world_path",
    "world_snapshot",
]
