"""The host's cache of file digests, so an unchanged input is never hashed twice.

A small SQLite table at ``$STEPLINEAGE_HOME/hashcache.db`` keyed by a file's
stat identity ``(path, size, mtime_ns, inode)``: a file whose identity changed
is hashed again. :func:`~steplineage.hashing.hash_path` takes it as its cache.
Losing it costs time, never correctness, so its commits are not fsynced.

Example:
    >>> cache = HashCache(Path(tempfile.mkdtemp()) / "hashcache.db")  # doctest: +SKIP
    >>> hash_path(big_file, cache) == hash_path(big_file, cache)  # read once  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from steplineage.hashing import Digest
from steplineage.local.sqlite import connect, transaction

if TYPE_CHECKING:
    from steplineage.settings import Settings

__all__ = ["HashCache"]

HASHCACHE_FILE = "hashcache.db"


class HashCache:
    """A per-host SQLite table of file digests keyed by stat identity.

    Args:
        path: the cache file.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = connect(path, durable=False)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS digests (path TEXT, size INTEGER, mtime_ns INTEGER,"
            " inode INTEGER, sha256 TEXT, md5 TEXT, PRIMARY KEY (path, size, mtime_ns, inode))")

    @classmethod
    def from_settings(cls, settings: Settings) -> HashCache:
        """This host's cache: ``$STEPLINEAGE_HOME/hashcache.db``."""
        return cls(settings.home.expanduser() / HASHCACHE_FILE)

    def lookup(self, path: Path, st: os.stat_result) -> Digest | None:
        """The cached digest of ``path`` if its stat identity is unchanged."""
        if self._conn is None:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT sha256, md5 FROM digests WHERE path=? AND size=? AND mtime_ns=?"
                " AND inode=?", (str(path), st.st_size, st.st_mtime_ns, st.st_ino)).fetchone()
        return Digest(row[0], row[1], st.st_size) if row else None

    def store(self, path: Path, st: os.stat_result, digest: Digest) -> None:
        """Remember ``digest`` for ``path`` at its current stat identity."""
        if self._conn is None:
            return
        # One transaction (one WAL commit): the old identity goes, the new one comes.
        with self._lock, transaction(self._conn) as db:
            db.execute("DELETE FROM digests WHERE path=?", (str(path),))
            db.execute("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?)",
                       (str(path), st.st_size, st.st_mtime_ns, st.st_ino, digest.sha256,
                        digest.md5))

    def close(self) -> None:
        """Close the cache file (lookups then find nothing)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
