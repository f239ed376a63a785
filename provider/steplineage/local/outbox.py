"""The OpenLineage outbox: events waiting to be sent, kept in a SQLite file on local disk.

Like the :mod:`~steplineage.local.spool` (and next to it, at
``$STEPLINEAGE_HOME/openlineage-outbox.db``), so an event made while the
lineage backend is down, slow or not yet started survives the process and is
sent later. Appending is one small local transaction (WAL); a step never
waits for the network. Senders claim rows before sending and delete them once
the transport took them, so two processes draining one outbox do not send an
event twice; a claim left by a dead process expires after ``claim_seconds``.

The outbox holds at most ``max_events``; past that new events are dropped with
a warning (an outage must not fill the disk).

Example:
    >>> box = Outbox(Path(tempfile.mkdtemp()) / "outbox.db")  # doctest: +SKIP
    >>> box.append([{"eventType": "START"}]), box.pending()  # doctest: +SKIP
    (1, 1)
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Outbox", "SendResult"]

log = logging.getLogger("steplineage")


@dataclass(frozen=True)
class SendResult:
    """What one drain of the outbox did."""

    sent: int
    failed: int
    remaining: int
    error: str | None = None


class Outbox:
    """A durable FIFO of OpenLineage events (JSON) on local disk.

    Args:
        path: the SQLite file.
        max_events: most events kept; further appends are dropped with a warning.
        claim_seconds: after this long, rows claimed by a sender that never
            finished are sent again.
    """

    def __init__(self, path: Path, max_events: int = 100_000, claim_seconds: float = 120.0):
        self.path = path
        self.max_events = max_events
        self.claim_seconds = claim_seconds
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _db(self) -> sqlite3.Connection:
        # One connection per process (a forked task must not share its parent's).
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL survives a crash of the process, which is what we guard against.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " body TEXT NOT NULL, created_at REAL NOT NULL, attempts INTEGER NOT NULL"
                " DEFAULT 0, last_error TEXT, claimed_by TEXT, claimed_at REAL)")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def close(self) -> None:
        """Close this process's connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def append(self, events: list[dict[str, Any]]) -> int:
        """Keep ``events``; returns how many were kept (fewer when the outbox is full)."""
        if not events:
            return 0
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute("SELECT count(*) FROM events").fetchone()[0]
                room = max(self.max_events - count, 0)
                now = time.time()
                db.executemany("INSERT INTO events (body, created_at) VALUES (?, ?)",
                               [(json.dumps(e, separators=(",", ":")), now)
                                for e in events[:room]])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if room < len(events):
            log.warning("steplineage OpenLineage outbox %s is full (%d events): %d event(s) "
                        "DROPPED; bring the lineage backend back and run `steplineage "
                        "openlineage flush`, or raise STEPLINEAGE_OPENLINEAGE_OUTBOX_MAX_EVENTS",
                        self.path, count, len(events) - room)
        return min(room, len(events))

    def pending(self) -> int:
        """How many events wait."""
        if not self.path.exists():
            return 0
        with self._lock:
            return self._db().execute("SELECT count(*) FROM events").fetchone()[0]

    def status(self) -> dict[str, Any]:
        """Waiting events, the oldest one's age, most attempts and the last error."""
        if not self.path.exists():
            return {"events": 0, "oldest": None, "attempts": 0, "last_error": None}
        with self._lock:
            n, oldest, attempts = self._db().execute(
                "SELECT count(*), min(created_at), max(attempts) FROM events").fetchone()
            error = self._db().execute(
                "SELECT last_error FROM events WHERE last_error IS NOT NULL ORDER BY seq DESC"
                " LIMIT 1").fetchone()
        return {"events": n, "oldest": oldest, "attempts": attempts or 0,
                "last_error": error[0] if error else None}

    def _claim(self, limit: int) -> list[tuple[int, str]]:
        me = f"{os.getpid()}:{threading.get_ident()}"
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    "SELECT seq, body FROM events WHERE claimed_by IS NULL OR claimed_at < ?"
                    " ORDER BY seq LIMIT ?", (now - self.claim_seconds, limit)).fetchall()
                db.executemany("UPDATE events SET claimed_by = ?, claimed_at = ? WHERE seq = ?",
                               [(me, now, seq) for seq, _ in rows])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return rows

    def _done(self, seq: int) -> None:
        with self._lock:
            self._db().execute("DELETE FROM events WHERE seq = ?", (seq,))

    def _release(self, seqs: list[int], error: str | None) -> None:
        with self._lock:
            db = self._db()
            db.executemany("UPDATE events SET claimed_by = NULL, claimed_at = NULL,"
                           " attempts = attempts + ?, last_error = coalesce(?, last_error)"
                           " WHERE seq = ?",
                           [(1 if i == 0 and error else 0, error if i == 0 else None, seq)
                            for i, seq in enumerate(seqs)])

    def send(self, emit: Callable[[dict[str, Any]], None], batch: int = 200,
             deadline: float | None = None) -> SendResult:
        """Send waiting events in order through ``emit``; stop at the first failure.

        An event is deleted right after ``emit`` returns, so a crash in between
        sends at most that one event again (ingest in steplineage is idempotent).
        """
        sent = 0
        while deadline is None or time.monotonic() < deadline:
            rows = self._claim(batch)
            if not rows:
                break
            for i, (seq, body) in enumerate(rows):
                if deadline is not None and time.monotonic() >= deadline:
                    self._release([s for s, _ in rows[i:]], None)
                    return SendResult(sent, 0, self.pending())
                try:
                    emit(json.loads(body))
                except Exception as exc:  # noqa: BLE001 - kept and retried later
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    self._release([s for s, _ in rows[i:]], error)
                    return SendResult(sent, 1, self.pending(), error)
                self._done(seq)
                sent += 1
        return SendResult(sent, 0, self.pending())
