"""The SQLite plumbing of the host-local files: one way to open them, one transaction form.

Example:
    >>> conn = connect(Path(tempfile.mkdtemp()) / "x.db")  # doctest: +SKIP
    >>> with transaction(conn):  # doctest: +SKIP
    ...     conn.execute("CREATE TABLE t (x)")
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["connect", "transaction"]


def connect(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """An autocommit connection in WAL mode, usable from several threads behind a lock.

    Args:
        durable: ``synchronous=FULL``, so a commit survives a crash of the host,
            not only of the process (for queues; a cache can do without).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
