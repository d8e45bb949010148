"""The control channel between the fault runner and its worker processes: one SQLite file.

Workers write what they did (activity attempts with timestamps, workflow tasks completed, faults
fired, kills) and ask the parent for actions they cannot take themselves (kill the server,
cancel or signal a workflow), then wait for the answer. A SIGKILLed worker loses nothing it
committed; WAL mode lets the parent read while workers write.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AttemptRecord", "Control", "FiredRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fired (
    fault INTEGER NOT NULL, workflow_id TEXT NOT NULL, pid INTEGER NOT NULL, at REAL NOT NULL,
    detail TEXT, PRIMARY KEY (fault, workflow_id));
CREATE TABLE IF NOT EXISTS wft (
    run_id TEXT NOT NULL, history_length INTEGER NOT NULL, workflow_id TEXT, pid INTEGER,
    at REAL, PRIMARY KEY (run_id, history_length));
CREATE TABLE IF NOT EXISTS timers (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, workflow_id TEXT,
    run_id TEXT, activity_type TEXT, activity_id TEXT, attempt INTEGER, started_at REAL,
    ended_at REAL, outcome TEXT, error_type TEXT, non_retryable INTEGER, injected TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, pid INTEGER NOT NULL,
    kind TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, fault INTEGER, action TEXT NOT NULL,
    workflow_id TEXT, payload TEXT, state TEXT NOT NULL, at REAL NOT NULL, done_at REAL,
    error TEXT);
"""


@dataclass(frozen=True)
class AttemptRecord:
    """One activity attempt as the worker saw it.

    Attributes:
        outcome: ``completed``, ``failed``, ``cancelled``, ``stalled`` (made to exceed a
            timeout), ``killed`` (the worker died after the function returned) or ``None``
            (the worker died while it ran).
    """

    id: int
    pid: int
    workflow_id: str
    run_id: str
    activity_type: str
    activity_id: str
    attempt: int
    started_at: float
    ended_at: float | None
    outcome: str | None
    error_type: str | None
    non_retryable: bool
    injected: str | None


@dataclass(frozen=True)
class FiredRecord:
    """A one-shot fault that fired."""

    fault: int
    workflow_id: str
    pid: int
    at: float
    detail: str


class Control:
    """The control channel's SQLite file (one connection per process)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA journal_mode=WAL")
        # Survives a process kill (not an OS crash), which is all fault runs need.
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # -- meta ---------------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value."""
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        """Read a JSON value."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- worker side ----------------------------------------------------------------------

    def claim(self, fault: int, workflow_id: str, pid: int, detail: str) -> bool:
        """Mark a one-shot fault fired for a workflow; False when it already fired."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO fired (fault, workflow_id, pid, at, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (fault, workflow_id, pid, time.time(), detail),
        )
        return cur.rowcount == 1

    def add_wft(self, run_id: str, history_length: int, workflow_id: str, pid: int) -> int | None:
        """Record a completed workflow task; its number in the run if new, else ``None``."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO wft (run_id, history_length, workflow_id, pid, at)"
            " VALUES (?, ?, ?, ?, ?)",
            (run_id, history_length, workflow_id, pid, time.time()),
        )
        if cur.rowcount != 1:
            return None
        row = self._conn.execute("SELECT COUNT(*) FROM wft WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def add_timer(self, run_id: str, seq: int) -> int | None:
        """Record a started timer; its number in the run if new, else ``None``."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO timers (run_id, seq) VALUES (?, ?)", (run_id, seq)
        )
        if cur.rowcount != 1:
            return None
        row = self._conn.execute(
            "SELECT COUNT(*) FROM timers WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(row[0])

    def attempt_started(
        self,
        *,
        pid: int,
        workflow_id: str,
        run_id: str,
        activity_type: str,
        activity_id: str,
        attempt: int,
    ) -> int:
        """Log an attempt's start; returns its row id."""
        cur = self._conn.execute(
            "INSERT INTO attempts (pid, workflow_id, run_id, activity_type, activity_id, attempt,"
            " started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (pid, workflow_id, run_id, activity_type, activity_id, attempt, time.time()),
        )
        return int(cur.lastrowid or 0)

    def attempt_ended(
        self,
        row: int,
        outcome: str,
        *,
        error_type: str | None = None,
        non_retryable: bool = False,
        injected: str | None = None,
    ) -> None:
        """Log an attempt's end."""
        self._conn.execute(
            "UPDATE attempts SET ended_at = ?, outcome = ?, error_type = ?, non_retryable = ?,"
            " injected = COALESCE(?, injected) WHERE id = ?",
            (time.time(), outcome, error_type, int(non_retryable), injected, row),
        )

    def event(self, pid: int, kind: str, detail: str = "") -> None:
        """Log an event (``kill``, ``progress``, ``ready``...)."""
        self._conn.execute(
            "INSERT INTO events (at, pid, kind, detail) VALUES (?, ?, ?, ?)",
            (time.time(), pid, kind, detail),
        )

    def request(self, fault: int, action: str, workflow_id: str, payload: Any) -> int:
        """Ask the parent for an action; returns the request id."""
        cur = self._conn.execute(
            "INSERT INTO requests (fault, action, workflow_id, payload, state, at)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            (fault, action, workflow_id, json.dumps(payload), time.time()),
        )
        return int(cur.lastrowid or 0)

    def request_state(self, request_id: int) -> tuple[str, str | None]:
        """(state, error) of a request."""
        row = self._conn.execute(
            "SELECT state, error FROM requests WHERE id = ?", (request_id,)
        ).fetchone()
        return (str(row[0]), row[1]) if row else ("missing", None)

    # -- parent side ----------------------------------------------------------------------

    def pending_requests(self) -> list[tuple[int, int, str, str, Any]]:
        """(id, fault, action, workflow id, payload) of requests not yet handled."""
        rows = self._conn.execute(
            "SELECT id, fault, action, workflow_id, payload FROM requests"
            " WHERE state = 'pending' ORDER BY id"
        ).fetchall()
        return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def finish_request(self, request_id: int, *, error: str | None = None) -> None:
        """Answer a request."""
        self._conn.execute(
            "UPDATE requests SET state = ?, done_at = ?, error = ? WHERE id = ?",
            ("error" if error else "done", time.time(), error, request_id),
        )

    def attempts(self) -> list[AttemptRecord]:
        """Every logged attempt, in start order."""
        rows = self._conn.execute(
            "SELECT id, pid, workflow_id, run_id, activity_type, activity_id, attempt,"
            " started_at, ended_at, outcome, error_type, non_retryable, injected"
            " FROM attempts ORDER BY id"
        ).fetchall()
        return [
            AttemptRecord(
                r[0],
                r[1],
                r[2] or "",
                r[3] or "",
                r[4] or "",
                r[5] or "",
                r[6] or 0,
                r[7] or 0.0,
                r[8],
                r[9],
                r[10],
                bool(r[11]),
                r[12],
            )
            for r in rows
        ]

    def fired(self) -> list[FiredRecord]:
        """Every one-shot fault that fired."""
        rows = self._conn.execute(
            "SELECT fault, workflow_id, pid, at, detail FROM fired ORDER BY at"
        ).fetchall()
        return [FiredRecord(r[0], r[1], r[2], r[3], r[4] or "") for r in rows]

    def events(self, kind: str | None = None) -> list[tuple[float, int, str, str]]:
        """(at, pid, kind, detail) events, oldest first."""
        sql = "SELECT at, pid, kind, detail FROM events"
        params: tuple[str, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            params = (kind,)
        rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [(r[0], r[1], r[2], r[3] or "") for r in rows]
