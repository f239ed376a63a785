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

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the store is imported where used: the models stay free of SQLAlchemy
    from steplineage.local.spool import Spool
    from steplineage.registry.ports import HealthSources
    from steplineage.store.store import Store

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


def _catalog(store: Store) -> HealthCheck:
    from steplineage.store.probe import ping

    url = store.identity
    found = ping(store)
    if not found.ok:
        return HealthCheck(name="catalog", ok=False, detail=(
            f"{url} is unreachable ({(found.error or '')[:300]}); steps keep running and spool "
            "their writes until it is back"), data={"url": url})
    return HealthCheck(name="catalog", ok=True, detail=f"{url} reachable",
                       data={"url": url, "round_trip_ms": round(found.round_trip_ms or 0.0, 1)})


def _schema(store: Store, reachable: bool) -> HealthCheck:
    from steplineage.store.engine import head_revision
    from steplineage.store.probe import schema_revisions

    if not reachable:
        return HealthCheck(name="schema", ok=False, detail="not checked: catalog unreachable",
                           data={"expected": head_revision()})
    current, head = schema_revisions(store)
    if current != head:
        return HealthCheck(name="schema", ok=False, detail=(
            f"schema is at {current or 'none (empty)'}, this steplineage needs {head}: run "
            f"`steplineage db upgrade --url '{store.identity}'`"),
            data={"current": current, "expected": head})
    return HealthCheck(name="schema", ok=True, detail=f"revision {current} (current)",
                       data={"current": current, "expected": head})


def _object_store(sources: HealthSources) -> HealthCheck:
    url = sources.settings.resolved_object_store()
    try:
        store = sources.object_store
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


def _spool(spool: Spool, key: str) -> HealthCheck:
    try:
        status = spool.status()
    except Exception as exc:  # noqa: BLE001
        return HealthCheck(name="spool", ok=False, detail=f"cannot read the spool ({exc})",
                           data={"path": str(spool.path)})
    mine = status.get(key, {})
    waiting = int(mine.get("operations", 0) or 0)
    data = {"path": str(spool.path), "pending": waiting,
            "pending_all_catalogs": sum(int(v["operations"]) for v in status.values()),
            "oldest": mine.get("oldest")}
    if waiting:
        return HealthCheck(name="spool", ok=False, data=data, detail=(
            f"{waiting} write(s) wait since {mine.get('oldest')}; they replay on the next "
            "step, or run `steplineage spool flush`"))
    return HealthCheck(name="spool", ok=True, detail="nothing waiting", data=data)


def check_health(sources: HealthSources) -> HealthReport:
    """Run every check; see the module docstring.

    Example:
        >>> check_health(cat).check("schema").detail  # doctest: +SKIP
        'revision 0003 (current)'
    """
    catalog = _catalog(sources.store)
    checks = [catalog, _schema(sources.store, catalog.ok), _object_store(sources),
              _spool(sources.spool, sources.store.identity)]
    return HealthReport(ok=all(c.ok for c in checks), checks=checks)
