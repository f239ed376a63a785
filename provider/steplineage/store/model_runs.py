"""Writing checked model runs: every write of the registry's model runs is here.

One transaction, SQLAlchemy Core ``executemany`` per table: no ORM object is
made per run, so a 10,000-run batch is a few bulk inserts (executions, status
history, model runs, versions, lineage edges, agent links). The caller checks
the records first (:mod:`steplineage.registry.resolve`) and passes the session
those checks ran in, so checks and writes see one state of the catalog.

Example:
    >>> from steplineage.store.store import Store
    >>> with Store("sqlite://").session() as s:
    ...     lock_model_run(s, "not-a-run") is None
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steplineage.ids import new_id, utcnow
from steplineage.store import orm
from steplineage.store.engine import chunks
from steplineage.store.engine import insert_skipping_existing
from steplineage.store.versions import VERSION_KEY

__all__ = ["LockedRun", "NewRun", "RunEdge", "VersionKey", "insert_batch", "insert_runs",
           "lock_model_run", "replace_model_run"]

VersionKey = tuple[str, str, str, str]  # resource_id, subpath ('' = whole), hash, kind
_MESSAGE = "registered from a model-run record"


# Inputs to the writes, not records handed out: not frozen, because a 10,000-run batch
# makes 50,000 of them and a frozen dataclass's __init__ costs about five times more.
@dataclass(slots=True)
class RunEdge:
    """One lineage edge of a model run: a ref version, an asset or a dataset version."""

    role: str
    resource_id: str | None = None
    subpath: str | None = None
    version: VersionKey | None = None
    asset_id: str | None = None
    dataset_version_id: str | None = None


@dataclass(slots=True)
class NewRun:
    """A checked model run: its execution, its model-run row and its lineage."""

    run_id: str
    workflow_id: str
    template_id: str
    template_name: str
    name: str
    description: str
    start_time: datetime
    end_time: datetime
    parameters: dict[str, str]
    record: dict[str, Any]  # the record as JSON, kept as given
    edges: Sequence[RunEdge] = ()
    agents: Sequence[tuple[str, str]] = ()  # (agent id, role)


@dataclass(frozen=True)
class LockedRun:
    """A registered run's model-run row, locked until the transaction ends."""

    run_id: str
    template_id: str
    revision: int
    record: dict[str, Any]


def _execution_values(run: NewRun) -> dict[str, Any]:
    return {"name": run.name, "workflow_id": run.workflow_id, "description": run.description,
            "start_time": run.start_time, "stop_time": run.end_time,
            "duration_seconds": (run.end_time - run.start_time).total_seconds(),
            "parameters": dict(run.parameters)}


def _insert(s: Session, table: type[orm.Base], rows: list[dict[str, Any]]) -> None:
    """Core executemany on the session's connection (no ORM bulk-persistence layer)."""
    s.connection().execute(insert(table.__table__), rows)  # type: ignore[arg-type]


def _existing_versions(s: Session, keys: set[VersionKey]) -> dict[tuple[str, str, str], str]:
    """(resource id, subpath, hash) -> version id, for those of ``keys`` the catalog holds."""
    found: dict[tuple[str, str, str], str] = {}
    by_resource: dict[str, set[str]] = {}
    for rid, _, hash_, _ in keys:
        by_resource.setdefault(rid, set()).add(hash_)
    for rid, hashes in by_resource.items():
        for chunk in chunks(hashes):
            for vid, sub, hash_ in s.execute(
                    select(orm.Version.id, orm.Version.subpath, orm.Version.hash)
                    .where(orm.Version.resource_id == rid, orm.Version.hash.in_(chunk))):
                found[(rid, sub, hash_)] = vid
    return found


def _version_rows(keys: Sequence[VersionKey]) -> list[dict[str, Any]]:
    now = utcnow()
    return [{"id": new_id(), "resource_id": rid, "subpath": sub, "hash": hash_,
             "kind": kind, "length": None, "created_at": now} for rid, sub, hash_, kind in keys]


def _version_ids(s: Session, keys: set[VersionKey], new: set[VersionKey]
                 ) -> dict[VersionKey, str]:
    """Ids of these versions, inserting the ones the catalog does not hold yet.

    Keys in ``new`` are known not to exist (placeholders derived from fresh run ids),
    so only the others are looked up. Those may be inserted by another writer at the
    same moment: the insert skips rows that exist by then, and the ids are read back.
    """
    shared = keys - new
    content = _existing_versions(s, shared)  # a hash under the other kind is the same version
    missing = sorted({k for k in shared if k[:3] not in content})
    if missing:
        s.connection().execute(insert_skipping_existing(s, orm.Version.__table__, VERSION_KEY), _version_rows(missing))
        content.update(_existing_versions(s, set(missing)))
    fresh_rows = _version_rows(sorted(new))
    if fresh_rows:
        _insert(s, orm.Version, fresh_rows)
        content.update({(r["resource_id"], r["subpath"], r["hash"]): r["id"]
                        for r in fresh_rows})
    return {k: content[k[:3]] for k in keys}


def _write_lineage(s: Session, runs: Sequence[NewRun], now: datetime, fresh: bool) -> None:
    keys = {e.version for r in runs for e in r.edges if e.version}
    # An output placeholder is derived from the run id: new when the run is.
    new = {e.version for r in runs for e in r.edges if fresh and e.role == "output"
           and e.version and e.version[3] == "placeholder"}
    versions = _version_ids(s, keys, new)
    edges = [{"id": new_id(), "execution_id": r.run_id, "role": e.role,
              "resource_id": e.resource_id, "subpath": e.subpath,
              "version_id": versions[e.version] if e.version else None,
              "asset_id": e.asset_id, "dataset_version_id": e.dataset_version_id,
              "valid": True, "created_at": now} for r in runs for e in r.edges]
    if edges:
        _insert(s, orm.LineageEdge, edges)
    links = [{"execution_id": r.run_id, "agent_id": agent_id, "role": role}
             for r in runs for agent_id, role in r.agents]
    if links:
        _insert(s, orm.ExecutionAgent, links)


def insert_batch(s: Session, batch_id: str, template_id: str, size: int) -> bool:
    """Insert the batch row; False (nothing written) if ``batch_id`` is already taken.

    A savepoint keeps the transaction usable when a concurrent retry of the same
    batch committed first.
    """
    try:
        with s.begin_nested():
            _insert(s, orm.ModelRunBatch, [{"id": batch_id, "template_id": template_id,
                                            "size": size, "created_at": utcnow()}])
    except IntegrityError:
        return False
    return True


def insert_runs(s: Session, runs: Sequence[NewRun], batch_id: str | None) -> None:
    """Write new runs as completed executions with their history, model-run rows and lineage
    (rows numbered 1, 2, ... in ``batch_id`` when given)."""
    now = utcnow()
    _insert(s, orm.Execution, [
        {"id": r.run_id, "parent_id": None, "status": "completed", "status_message": _MESSAGE,
         "created_at": now, "metrics": {}, "results": None, **_execution_values(r)}
        for r in runs])
    _insert(s, orm.StatusHistory, [
        {"execution_id": r.run_id, "seq": seq, "status": status, "message": message, "at": at}
        for r in runs for seq, status, message, at in (
            (0, "created", f"{_MESSAGE} (template {r.template_name!r})", r.start_time),
            (1, "completed", _MESSAGE, r.end_time))])
    _insert(s, orm.ModelRun, [
        {"execution_id": r.run_id, "template_id": r.template_id, "batch_id": batch_id,
         "batch_row": i if batch_id else None, "revision": 1, "record": r.record,
         "updated_at": now}
        for i, r in enumerate(runs, start=1)])
    _write_lineage(s, runs, now, fresh=True)


def lock_model_run(s: Session, run_id: str) -> LockedRun | None:
    """The model-run row of ``run_id``, locked for this transaction; None if not registered."""
    row = s.get(orm.ModelRun, run_id, with_for_update=True)
    if row is None:
        return None
    return LockedRun(run_id=run_id, template_id=row.template_id, revision=row.revision,
                     record=row.record)


def replace_model_run(s: Session, old: LockedRun, new: NewRun, reason: str) -> None:
    """Replace a run's record, execution values and lineage; keep the old record with
    ``reason`` as the next revision of the audit trail."""
    now = utcnow()
    _insert(s, orm.ModelRunRevision, [{"execution_id": old.run_id, "revision": old.revision,
                                       "reason": reason, "record": old.record,
                                       "replaced_at": now}])
    s.execute(delete(orm.LineageEdge).where(orm.LineageEdge.execution_id == old.run_id))
    s.execute(delete(orm.ExecutionAgent).where(orm.ExecutionAgent.execution_id == old.run_id))
    s.execute(update(orm.Execution).where(orm.Execution.id == old.run_id)
              .values(**_execution_values(new)))
    s.execute(update(orm.ModelRun).where(orm.ModelRun.execution_id == old.run_id)
              .values(record=new.record, revision=old.revision + 1, updated_at=now))
    _write_lineage(s, [new], now, fresh=False)
