"""Health check: can this process reach the catalog, is its schema current, can it write
to the object store, and is anything waiting in the spool?

Never raises for an unhealthy part: each check reports ``ok`` and a detail
that says what to do.

Example:
    >>> import steplineage as sl, tempfile
    >>> report = sl.Catalog(home=tempfile.mkdtemp()).health()
    >>> report.ok, [c.name for c in report.checks]
    (True, ['catalog', 'schema', 'object_store', 'spool'])
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["HealthCheck", "HealthReport", "check_health"]


class HealthCheck(BaseModel):
    """One part of the health report."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="catalog, schema, object_store or spool.")
    ok: bool
    detail: str = Field(description="What was found, and what to do when not ok.")
    data: dict[str, Any] = Field(default_factory=dict, description="Machine-readable facts.")


class HealthReport(BaseModel):
    """The result of :meth:`Catalog.health`."""

    model_config = ConfigDict(frozen=True)

    ok: bool = Field(description="Every check passed.")
    checks: list[HealthCheck]

    def check(self, name: str) -> HealthCheck:
        """The check called ``name``."""
        return next(c for c in self.checks if c.name == name)


def _catalog(cat: Catalog) -> HealthCheck:
    from sqlalchemy import text

    url = cat.spool_key
    started = time.perf_counter()
    try:
        with cat.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return HealthCheck(name="catalog", ok=False, detail=(
            f"{url} is unreachable ({first[:300]}); steps keep running and spool their "
            "writes until it is back"), data={"url": url})
    ms = (time.perf_counter() - started) * 1000
    return HealthCheck(name="catalog", ok=True, detail=f"{url} reachable",
                       data={"url": url, "round_trip_ms": round(ms, 1)})


def _schema(cat: Catalog, reachable: bool) -> HealthCheck:
    from steplineage.store import engine as engines

    head = engines.head_revision()
    if not reachable:
        return HealthCheck(name="schema", ok=False, detail="not checked: catalog unreachable",
                           data={"expected": head})
    current = engines.current_revision(cat.engine)
    if current != head:
        return HealthCheck(name="schema", ok=False, detail=(
            f"schema is at {current or 'none (empty)'}, this steplineage needs {head}: run "
            f"`steplineage db upgrade --url '{cat.spool_key}'`"),
            data={"current": current, "expected": head})
    return HealthCheck(name="schema", ok=True, detail=f"revision {current} (current)",
                       data={"current": current, "expected": head})


def _object_store(cat: Catalog) -> HealthCheck:
    url = cat.settings.resolved_object_store()
    try:
        store = cat.object_store
        # Write, read back and remove a probe: listing alone does not prove we can upload.
        probe = f"{store.root}/tmp/health-{uuid.uuid4().hex}"
        store.fs.makedirs(f"{store.root}/tmp", exist_ok=True)
        store.fs.pipe_file(probe, b"ok")
        readable = store.fs.cat_file(probe) == b"ok"
        store.fs.rm(probe)
    except Exception as exc:  # noqa: BLE001
        return HealthCheck(name="object_store", ok=False, detail=(
            f"cannot write to {url} ({type(exc).__name__}: {exc}); check the path or "
            "credentials of STEPLINEAGE_OBJECT_STORE"), data={"url": url})
    if not readable:
        return HealthCheck(name="object_store", ok=False,
                           detail=f"{url} returned other bytes than were written",
                           data={"url": url})
    return HealthCheck(name="object_store", ok=True, detail=f"{url} writable",
                       data={"url": url})


def _spool(cat: Catalog) -> HealthCheck:
    try:
        status = cat.spool.status()
    except Exception as exc:  # noqa: BLE001
        return HealthCheck(name="spool", ok=False, detail=f"cannot read the spool ({exc})",
                           data={"path": str(cat.spool.path)})
    mine = status.get(cat.spool_key, {})
    waiting = int(mine.get("operations", 0) or 0)
    data = {"path": str(cat.spool.path), "pending": waiting,
            "pending_all_catalogs": sum(int(v["operations"]) for v in status.values()),
            "oldest": mine.get("oldest")}
    if waiting:
        return HealthCheck(name="spool", ok=False, data=data, detail=(
            f"{waiting} write(s) wait since {mine.get('oldest')}; they replay on the next "
            "step, or run `steplineage spool flush`"))
    return HealthCheck(name="spool", ok=True, detail="nothing waiting", data=data)


def check_health(cat: Catalog) -> HealthReport:
    """Run every check; see the module docstring.

    Example:
        >>> check_health(cat).check("schema").detail  # doctest: +SKIP
        'revision 0003 (current)'
    """
    catalog = _catalog(cat)
    checks = [catalog, _schema(cat, catalog.ok), _object_store(cat), _spool(cat)]
    return HealthReport(ok=all(c.ok for c in checks), checks=checks)
