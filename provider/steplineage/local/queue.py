"""A durable, bounded FIFO per key in one SQLite file on local disk.

The one queue behind the :mod:`~steplineage.local.spool` (catalog writes made
during an outage, keyed by catalog identity) and the
:mod:`~steplineage.local.outbox` (OpenLineage events waiting to be sent). An
append is one small local transaction in WAL mode with ``synchronous=FULL``,
so what was appended survives a crash of the process or the host.

Items of a key are handed out in the order they were appended. A drainer
claims a batch before handling it and deletes each item once handled, so a
crash in between handles at most that one item again (consumers are
idempotent). While one drainer holds unexpired claims on a key, other drainers
of that key get nothing: items are never handled out of order or twice at
once. A claim left by a dead process expires after ``claim_seconds``.

The queue holds at most ``max_items``; past that new items are dropped with a
warning, so a long outage cannot fill the disk.

Example:
    >>> import tempfile
    >>> q = DurableQueue(Path(tempfile.mkdtemp()) / "q.db", what="queue")
    >>> q.append("k", ['{"n": 1}', '{"n": 2}'])
    2
    >>> seen = []
    >>> q.drain("k", seen.append), seen
    (DrainResult(done=2, failed=0, remaining=0, error=None), ['{"n": 1}', '{"n": 2}'])
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from steplineage.local.sqlite import connect, transaction

__all__ = ["DrainResult", "DurableQueue", "KeyStatus"]

log = logging.getLogger("steplineage")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, claimed_by TEXT, claimed_at REAL)",
    "CREATE INDEX IF NOT EXISTS ix_queue_key ON queue (key, seq)",
)


@dataclass(frozen=True)
class DrainResult:
    """What one drain of a key did."""

    done: int
    failed: int
    remaining: int
    error: str | None = None


@dataclass(frozen=True)
class KeyStatus:
    """What waits under one key."""

    items: int
    oldest: float  # epoch seconds
    attempts: int
    last_error: str | None


class DurableQueue:
    """A durable FIFO of text items per key.

    Args:
        path: the SQLite file (created on first append).
        what: how warnings name this queue, e.g. ``"spool"``.
        max_items: most items kept over all keys; further appends are dropped.
        when_full: what the warning tells the user to do when items are dropped.
        legacy: ``(table, select)``: a table an earlier release kept items in and a
            SELECT of its rows as ``key, body, created_at (epoch), attempts,
            last_error`` in order; they are moved into the queue when it opens.
        claim_seconds: after this long, items claimed by a drainer that never
            finished are handed out again.
    """

    def __init__(self, path: Path, *, what: str, max_items: int = 100_000, when_full: str = "",
                 legacy: tuple[str, str] | None = None, claim_seconds: float = 120.0):
        self.path = path
        self.what = what
        self.max_items = max_items
        self.when_full = when_full
        self.legacy = legacy
        self.claim_seconds = claim_seconds
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _db(self) -> sqlite3.Connection:
        # One connection per process (a forked task must not share its parent's).
        if self._conn is None or self._pid != os.getpid():
            conn = connect(self.path)
            with transaction(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
                self._adopt_legacy(conn)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _adopt_legacy(self, conn: sqlite3.Connection) -> None:
        """Move items an earlier release left in its own table into the queue, in order."""
        if self.legacy is None:
            return
        table, rows = self.legacy
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is None:
            return
        conn.execute("INSERT INTO queue (key, body, created_at, attempts, last_error) " + rows)
        conn.execute(f"DROP TABLE {table}")

    def close(self) -> None:
        """Close this process's connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def append(self, key: str, bodies: Sequence[str], about: str = "") -> int:
        """Keep ``bodies`` under ``key``; returns how many were kept (fewer when full).

        Args:
            about: what the dropped items were, for the warning (e.g. an execution id).
        """
        if not bodies:
            return 0
        with self._lock:
            db = self._db()
            with transaction(db):
                count = db.execute("SELECT count(*) FROM queue").fetchone()[0]
                room = max(self.max_items - count, 0)
                now = time.time()
                db.executemany("INSERT INTO queue (key, body, created_at) VALUES (?, ?, ?)",
                               [(key, body, now) for body in bodies[:room]])
        if room < len(bodies):
            log.warning("steplineage %s %s is full (%d items): %d item(s)%s DROPPED; %s",
                        self.what, self.path, count, len(bodies) - room,
                        f" {about}" if about else "", self.when_full)
        return min(room, len(bodies))

    def pending(self, key: str | None = None) -> int:
        """How many items wait (under one key, or in all)."""
        if not self.path.exists():
            return 0
        with self._lock:
            if key is None:
                return self._db().execute("SELECT count(*) FROM queue").fetchone()[0]
            return self._db().execute("SELECT count(*) FROM queue WHERE key = ?",
                                      (key,)).fetchone()[0]

    def peek(self, key: str, limit: int = 1000) -> list[str]:
        """The first ``limit`` items of ``key`` in order, left in place and unclaimed."""
        if not self.path.exists():
            return []
        with self._lock:
            return [body for (body,) in self._db().execute(
                "SELECT body FROM queue WHERE key = ? ORDER BY seq LIMIT ?", (key, limit))]

    def status(self) -> dict[str, KeyStatus]:
        """Per key: waiting items, the oldest one's time, most attempts, the last error."""
        if not self.path.exists():
            return {}
        with self._lock:
            rows = self._db().execute(
                "SELECT key, count(*), min(created_at), max(attempts), (SELECT last_error FROM"
                " queue e WHERE e.key = q.key AND e.last_error IS NOT NULL ORDER BY e.seq DESC"
                " LIMIT 1) FROM queue q GROUP BY key ORDER BY key").fetchall()
        return {key: KeyStatus(n, oldest, attempts or 0, error)
                for key, n, oldest, attempts, error in rows}

    def drain(self, key: str, handle: Callable[[str], None], *, batch: int = 200,
              deadline: float | None = None) -> DrainResult:
        """Hand the items of ``key`` to ``handle`` in order, deleting each once handled.

        Stops at the first item ``handle`` raises on (it stays, with one more
        attempt and the error) or at ``deadline`` (a ``time.monotonic()`` value).
        """
        done = 0
        while deadline is None or time.monotonic() < deadline:
            items = self._claim(key, batch)
            if not items:
                break
            for i, (seq, body) in enumerate(items):
                rest = [s for s, _ in items[i:]]
                if deadline is not None and time.monotonic() >= deadline:
                    self._release(rest, None)
                    return DrainResult(done, 0, self.pending(key))
                try:
                    handle(body)
                except Exception as exc:  # noqa: BLE001 - kept and retried later
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    self._release(rest, error)
                    return DrainResult(done, 1, self.pending(key), error)
                except BaseException:
                    self._release(rest, None)
                    raise
                self._delete(seq)
                done += 1
        return DrainResult(done, 0, self.pending(key))

    def _claim(self, key: str, limit: int) -> list[tuple[int, str]]:
        if not self.path.exists():
            return []
        me = f"{os.getpid()}:{threading.get_ident()}"
        now = time.time()
        with self._lock:
            db = self._db()
            with transaction(db):
                busy = db.execute(
                    "SELECT 1 FROM queue WHERE key = ? AND claimed_by IS NOT NULL AND"
                    " claimed_by != ? AND claimed_at >= ? LIMIT 1",
                    (key, me, now - self.claim_seconds)).fetchone()
                if busy:  # another drainer is on this key: let it keep the order
                    return []
                rows = db.execute("SELECT seq, body FROM queue WHERE key = ? ORDER BY seq"
                                  " LIMIT ?", (key, limit)).fetchall()
                db.executemany("UPDATE queue SET claimed_by = ?, claimed_at = ? WHERE seq = ?",
                               [(me, now, seq) for seq, _ in rows])
        return rows

    def _delete(self, seq: int) -> None:
        with self._lock:
            self._db().execute("DELETE FROM queue WHERE seq = ?", (seq,))

    def _release(self, seqs: list[int], error: str | None) -> None:
        """Unclaim ``seqs``; the first one failed with ``error`` (if any)."""
        with self._lock:
            db = self._db()
            with transaction(db):
                db.executemany("UPDATE queue SET claimed_by = NULL, claimed_at = NULL"
                               " WHERE seq = ?", [(seq,) for seq in seqs])
                if error is not None and seqs:
                    db.execute("UPDATE queue SET attempts = attempts + 1, last_error = ?"
                               " WHERE seq = ?", (error, seqs[0]))
