"""The durable spool: catalog writes that could not be made yet, kept on local disk.

When the catalog is unreachable (or slower than ``STEPLINEAGE_TIMEOUT_SECONDS``)
and tracking is not strict, an execution appends its remaining operations
here instead of failing the step: one SQLite file per host under
``$STEPLINEAGE_HOME/spool.db`` (WAL, synchronous=FULL, so an appended
operation survives a crash of the process). They are replayed in order, each
idempotent (client-generated ids), by the next tracked step that reaches the
catalog, by ``steplineage spool flush``, or by :meth:`Spool.flush`.

The spool holds at most ``STEPLINEAGE_SPOOL_MAX_OPS`` operations; past that new
operations are refused with a warning naming how many were dropped, so a
long outage cannot fill the disk. Nothing is kept in memory between calls.

Example:
    >>> spool = Spool(Path(tempfile.mkdtemp()) / "spool.db")  # doctest: +SKIP
    >>> spool.status()  # doctest: +SKIP
    {}
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from steplineage.ops import Op, parse_op
from steplineage.store.apply import apply_op

if TYPE_CHECKING:
    from steplineage.store.store import Store

__all__ = ["FlushResult", "Spool"]

log = logging.getLogger("steplineage")


@dataclass(frozen=True)
class FlushResult:
    """What one flush did."""

    applied: int
    failed: int
    remaining: int


class Spool:
    """An append-only queue of catalog operations, per catalog URL, on local disk.

    Args:
        path: the spool file.
        max_ops: most operations kept; further appends are refused with a warning.
    """

    def __init__(self, path: Path, max_ops: int = 100_000):
        self.path = path
        self.max_ops = max_ops
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ops (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " catalog_url TEXT NOT NULL, execution_id TEXT, body TEXT NOT NULL,"
                " created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                " last_error TEXT)")
            conn.execute("CREATE INDEX IF NOT EXISTS ix_ops_url ON ops (catalog_url, seq)")
            yield conn
        finally:
            conn.close()

    def append(self, catalog_url: str, op: Op) -> bool:
        """Keep ``op`` for ``catalog_url``; False (and a warning) when the spool is full."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            count = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            if count >= self.max_ops:
                conn.execute("ROLLBACK")
                log.warning("steplineage spool %s is full (%d operations): an operation of "
                            "execution %s was DROPPED; bring the catalog back and run "
                            "`steplineage spool flush`, or raise STEPLINEAGE_SPOOL_MAX_OPS",
                            self.path, count, getattr(op, "execution_id", None) or "?")
                return False
            conn.execute(
                "INSERT INTO ops (catalog_url, execution_id, body, created_at) VALUES (?,?,?,?)",
                (catalog_url, _execution_id(op), op.model_dump_json(),
                 datetime.now(timezone.utc).isoformat()))
            conn.execute("COMMIT")
        return True

    def pending(self, catalog_url: str | None = None) -> int:
        """How many operations wait (for one catalog, or in all)."""
        if not self.path.exists():
            return 0
        with self._connect() as conn:
            if catalog_url is None:
                return conn.execute("SELECT count(*) FROM ops").fetchone()[0]
            return conn.execute("SELECT count(*) FROM ops WHERE catalog_url = ?",
                                (catalog_url,)).fetchone()[0]

    def status(self) -> dict[str, dict[str, object]]:
        """Per catalog URL: waiting operations, oldest time, attempts, last error."""
        if not self.path.exists():
            return {}
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT catalog_url, count(*), min(created_at), max(attempts),"
                " max(last_error) FROM ops GROUP BY catalog_url").fetchall()
        return {url: {"operations": n, "oldest": oldest, "attempts": attempts,
                      "last_error": error} for url, n, oldest, attempts, error in rows}

    def flush(self, store: Store, batch: int = 500) -> FlushResult:
        """Replay the operations kept for ``store.identity`` in order; stop at the first failure.

        Each operation is applied in its own transaction and then deleted, so a
        crash mid-flush replays at most the one in flight, harmlessly.
        """
        url = store.identity
        applied = failed = 0
        if not self.path.exists():
            return FlushResult(0, 0, 0)
        with self._lock, self._connect() as conn:
            while True:
                rows = conn.execute("SELECT seq, body FROM ops WHERE catalog_url = ? ORDER BY seq"
                                    " LIMIT ?", (url, batch)).fetchall()
                if not rows:
                    break
                for seq, body in rows:
                    try:
                        with store.session() as s:
                            apply_op(s, parse_op(body), strict=False)
                    except Exception as exc:  # noqa: BLE001 - kept, retried later
                        failed = 1
                        conn.execute("UPDATE ops SET attempts = attempts + 1, last_error = ?"
                                     " WHERE seq = ?", (f"{type(exc).__name__}: {exc}"[:500],
                                                        seq))
                        log.warning("steplineage spool: replay of operation %d stopped: %s",
                                    seq, exc)
                        break
                    conn.execute("DELETE FROM ops WHERE seq = ?", (seq,))
                    applied += 1
                if failed:
                    break
            remaining = conn.execute("SELECT count(*) FROM ops WHERE catalog_url = ?",
                                     (url,)).fetchone()[0]
        if applied:
            log.info("steplineage spool: replayed %d operation(s) into %s", applied, url)
        return FlushResult(applied, failed, remaining)


def _execution_id(op: Op) -> str | None:
    return getattr(op, "execution_id", None) or (
        op.execution.get("id") if hasattr(op, "execution") else None)
