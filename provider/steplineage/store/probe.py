"""Probing a catalog database for the health check: never raises, reports what it found.

Example:
    >>> store = Store("sqlite://")
    >>> ping(store).ok, schema_revisions(store)[0] == schema_revisions(store)[1]
    (True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

from steplineage.store import engine as engines
from steplineage.store.store import Store

__all__ = ["Reachability", "ping", "schema_revisions"]


@dataclass(frozen=True)
class Reachability:
    """Whether a round trip to the database worked: its time, or the driver's first line."""

    ok: bool
    round_trip_ms: float | None = None
    error: str | None = None


def ping(store: Store) -> Reachability:
    """One ``SELECT 1`` on a fresh connection (no schema check: an empty database answers)."""
    started = time.perf_counter()
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        said = str(exc).strip()
        return Reachability(ok=False, error=said.splitlines()[0] if said else type(exc).__name__)
    return Reachability(ok=True, round_trip_ms=(time.perf_counter() - started) * 1000)


def schema_revisions(store: Store) -> tuple[str | None, str]:
    """(the database's schema revision or None when empty, the revision this code needs)."""
    return engines.current_revision(store.engine), engines.head_revision()
