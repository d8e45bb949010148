"""SQLite side effects of the reference agents (reports, alerts, plan executions, cleanups).

The database path comes from ``REFERENCE_AGENTS_DB`` (default: a file in the system temp
folder). Every write is keyed by the calling activity's idempotency key (workflow id + run id +
activity id), so a retried activity never writes a row twice.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_ENV = "REFERENCE_AGENTS_DB"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, kind TEXT NOT NULL,
    topic TEXT NOT NULL, body TEXT NOT NULL, sources TEXT NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    workflow_id TEXT NOT NULL, stage TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (workflow_id, stage)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_key TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, check_number INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executed_steps (
    step_key TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, step_index INTEGER NOT NULL,
    step TEXT NOT NULL, output TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cleanups (
    workflow_id TEXT PRIMARY KEY, stage TEXT NOT NULL, drafts_deleted INTEGER NOT NULL
);
"""


def db_path() -> Path:
    """Where the agents' SQLite database lives."""
    env = os.environ.get(DB_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / "replaykit-reference-agents.sqlite3"


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection with the schema in place; commits on success."""
    target = path or db_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, timeout=30)
    try:
        conn.executescript(_SCHEMA)
        yield conn
        conn.commit()
    finally:
        conn.close()
