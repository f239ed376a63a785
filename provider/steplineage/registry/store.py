"""Writing checked model runs: one transaction, SQLAlchemy Core ``executemany`` per table.

No ORM object is made per run, so a 10,000-run batch is a few bulk inserts
(executions, status history, model runs, versions, lineage edges, agents).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from steplineage.ids import new_id, utcnow
from steplineage.store import orm
from steplineage.errors import ModelRunValidationError, NotFoundError
from steplineage.registry.model_runs import (BatchResult, ModelRunInfo, ModelRunRecord,
                                             ModelRunRevision)
from steplineage.registry.resolve import Plan, Resolver, VersionKey, _chunks
from steplineage.store.versions import insert_versions_skipping_existing

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["get_model_run", "register_batch", "register_one", "update_run"]

_MESSAGE = "registered from a model-run record"


def _execution_values(plan: Plan) -> dict[str, Any]:
    r = plan.record
    return {"name": r.display_name, "workflow_id": plan.workflow_id,
            "description": r.description, "start_time": r.start_time,
            "stop_time": r.end_time, "duration_seconds": r.duration_seconds,
            "parameters": dict(r.annotations)}


def _existing_versions(s: Session, keys: set[VersionKey]) -> dict[tuple[str, str, str], str]:
    """(resource id, subpath, hash) -> version id, for those of ``keys`` the catalog holds."""
    found: dict[tuple[str, str, str], str] = {}
    by_resource: dict[str, set[str]] = {}
    for rid, _, hash_, _ in keys:
        by_resource.setdefault(rid, set()).add(hash_)
    for rid, hashes in by_resource.items():
        for chunk in _chunks(hashes):
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
        s.connection().execute(insert_versions_skipping_existing(s), _version_rows(missing))
        content.update(_existing_versions(s, set(missing)))
    fresh_rows = _version_rows(sorted(new))
    if fresh_rows:
        _insert(s, orm.Version, fresh_rows)
        content.update({(r["resource_id"], r["subpath"], r["hash"]): r["id"]
                        for r in fresh_rows})
    return {k: content[k[:3]] for k in keys}


def _insert(s: Session, table: type[orm.Base], rows: list[dict[str, Any]]) -> None:
    """Core executemany on the session's connection (no ORM bulk-persistence layer)."""
    s.connection().execute(insert(table.__table__), rows)  # type: ignore[arg-type]


def _write_lineage(s: Session, plans: Sequence[Plan], now: datetime, fresh: bool) -> None:
    keys = {e.version for p in plans for e in p.edges if e.version}
    # An output placeholder is derived from the run id: new when the run is.
    new = {e.version for p in plans for e in p.edges if fresh and e.role == "output"
           and e.version and e.version[3] == "placeholder"}
    versions = _version_ids(s, keys, new)
    edges = [{"id": new_id(), "execution_id": p.run_id, "role": e.role,
              "resource_id": e.resource_id, "subpath": e.subpath,
              "version_id": versions[e.version] if e.version else None,
              "asset_id": e.asset_id, "dataset_version_id": e.dataset_version_id,
              "valid": True, "created_at": now} for p in plans for e in p.edges]
    if edges:
        _insert(s, orm.LineageEdge, edges)
    links = [{"execution_id": p.run_id, "agent_id": agent_id, "role": role}
             for p in plans for agent_id, role in p.agents]
    if links:
        _insert(s, orm.ExecutionAgent, links)


def _write(s: Session, plans: Sequence[Plan], batch_id: str | None) -> None:
    now = utcnow()
    _insert(s, orm.Execution, [
        {"id": p.run_id, "parent_id": None, "status": "completed", "status_message": _MESSAGE,
         "created_at": now, "metrics": {}, "results": None, **_execution_values(p)}
        for p in plans])
    _insert(s, orm.StatusHistory, [
        {"execution_id": p.run_id, "seq": seq, "status": status, "message": message, "at": at}
        for p in plans for seq, status, message, at in (
            (0, "created", f"{_MESSAGE} (template {p.template.name!r})", p.record.start_time),
            (1, "completed", _MESSAGE, p.record.end_time))])
    _insert(s, orm.ModelRun, [
        {"execution_id": p.run_id, "template_id": p.template.id, "batch_id": batch_id,
         "batch_row": i if batch_id else None, "revision": 1,
         "record": p.record.model_dump(mode="json"), "updated_at": now}
        for i, p in enumerate(plans, start=1)])
    _write_lineage(s, plans, now, fresh=True)


def _check(catalog: Catalog, s: Session, records: Sequence[Any], labels: Sequence[str],
           what: str, run_ids: Sequence[str] | None = None) -> list[Plan]:
    plans, problems = Resolver(catalog, s).plan(records, labels, run_ids)
    if problems:
        raise ModelRunValidationError(problems, what)
    return plans


def register_one(catalog: Catalog, record: ModelRunRecord | dict[str, Any]) -> str:
    """Register one model run; returns its execution id.

    Example:
        >>> register_one(cat, record)  # doctest: +SKIP
        '5b8470d0-...'
    """
    with catalog.session() as s:
        [plan] = _check(catalog, s, [record], ["record"], "model run")
        _write(s, [plan], None)
        return plan.run_id


def register_batch(catalog: Catalog, records: Sequence[ModelRunRecord | dict[str, Any]],
                   labels: Sequence[str] | None = None,
                   batch_id: str | None = None) -> BatchResult:
    """Register every record or none; problems name ``labels`` (default ``row 1``, ...).

    A client-chosen ``batch_id`` makes a retry safe: registering a batch whose id
    is already in the catalog returns that batch instead of registering it twice.

    Example:
        >>> len(register_batch(cat, records).run_ids)  # doctest: +SKIP
        10000
    """
    from sqlalchemy.exc import IntegrityError

    if not records:
        raise ModelRunValidationError(["the batch is empty: give at least one record"], "batch")
    labels = labels or [f"row {i}" for i in range(1, len(records) + 1)]
    if batch_id is not None:
        done = _existing_batch(catalog, batch_id, len(records))
        if done is not None:
            return done
    try:
        with catalog.session() as s:
            plans = _check(catalog, s, records, labels, f"batch of {len(records)} model runs")
            templates = {p.template.id for p in plans}
            if len(templates) > 1:
                raise ModelRunValidationError(
                    [f"a batch uses one workflow template; this one names "
                     f"{', '.join(sorted({p.template.name for p in plans}))}: split it"],
                    "batch")
            batch = batch_id or new_id()
            _insert(s, orm.ModelRunBatch, [{"id": batch, "template_id": templates.pop(),
                                            "size": len(plans), "created_at": utcnow()}])
            _write(s, plans, batch)
            return BatchResult(batch_id=batch, run_ids=[p.run_id for p in plans])
    except IntegrityError:
        # the same batch id, registered by a concurrent retry a moment ago
        done = _existing_batch(catalog, batch_id, len(records)) if batch_id else None
        if done is None:
            raise
        return done


def _existing_batch(catalog: Catalog, batch_id: str, size: int) -> BatchResult | None:
    """The batch ``batch_id`` if it is registered (with ``size`` runs), else None."""
    with catalog.session() as s:
        batch = s.get(orm.ModelRunBatch, batch_id)
        if batch is None:
            return None
        if batch.size != size:
            raise ModelRunValidationError(
                [f"batch id {batch_id!r} is already registered with {batch.size} runs, this "
                 f"batch has {size}: use a new batch id for a different batch"], "batch")
        run_ids = s.scalars(select(orm.ModelRun.execution_id)
                            .where(orm.ModelRun.batch_id == batch_id)
                            .order_by(orm.ModelRun.batch_row)).all()
        return BatchResult(batch_id=batch_id, run_ids=list(run_ids))


def update_run(catalog: Catalog, run_id: str, reason: str,
               record: ModelRunRecord | dict[str, Any]) -> ModelRunInfo:
    """Replace a run's record, keeping the earlier one with ``reason``.

    Example:
        >>> update_run(cat, run_id, "wrong DEM tile", fixed).revision  # doctest: +SKIP
        2
    """
    if not reason or not reason.strip():
        raise ModelRunValidationError(["reason: say why the run is being updated (it is kept "
                                       "in the run's audit trail)"], "update")
    with catalog.session() as s:
        run = s.get(orm.ModelRun, run_id, with_for_update=True)
        if run is None:
            raise NotFoundError(f"{run_id!r} is not a registered model run; register it with "
                                "cat.register_model_run(record)")
        [plan] = _check(catalog, s, [record], ["record"], "update", [run_id])
        if plan.template.id != run.template_id:
            raise ModelRunValidationError([f"record: the run was registered against template "
                                           f"{run.record['template']!r}; an update keeps it"],
                                          "update")
        now = utcnow()
        s.add(orm.ModelRunRevision(execution_id=run_id, revision=run.revision,
                                   reason=reason.strip(), record=run.record, replaced_at=now))
        s.execute(delete(orm.LineageEdge).where(orm.LineageEdge.execution_id == run_id))
        s.execute(delete(orm.ExecutionAgent).where(orm.ExecutionAgent.execution_id == run_id))
        s.execute(update(orm.Execution).where(orm.Execution.id == run_id)
                  .values(**_execution_values(plan)))
        run.record = plan.record.model_dump(mode="json")
        run.revision += 1
        run.updated_at = now
        s.flush()
        _write_lineage(s, [plan], now, fresh=False)
    return get_model_run(catalog, run_id)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; the catalog stores UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def get_model_run(catalog: Catalog, run_id: str) -> ModelRunInfo:
    """A registered run with its audit trail (oldest revision first).

    Raises:
        NotFoundError: ``run_id`` is not a registered model run.

    Example:
        >>> get_model_run(cat, run_id).revision  # doctest: +SKIP
        1
    """
    with catalog.session() as s:
        run = s.get(orm.ModelRun, run_id)
        if run is None:
            raise NotFoundError(f"{run_id!r} is not a registered model run")
        template = s.get(orm.WorkflowTemplate, run.template_id)
        assert template is not None
        revisions = s.scalars(select(orm.ModelRunRevision)
                              .where(orm.ModelRunRevision.execution_id == run_id)
                              .order_by(orm.ModelRunRevision.revision)).all()
        return ModelRunInfo(
            run_id=run_id, template=template.name, batch_id=run.batch_id,
            batch_row=run.batch_row, revision=run.revision, record=run.record,
            history=[ModelRunRevision(revision=r.revision, reason=r.reason,
                                      replaced_at=_aware(r.replaced_at), record=r.record)
                     for r in revisions])


def batch_records(catalog: Catalog, batch_id: str) -> tuple[str, list[ModelRunRecord]]:
    """The template name and current records of a batch, in their original order.

    Example:
        >>> name, records = batch_records(cat, batch_id)  # doctest: +SKIP
    """
    with catalog.session() as s:
        batch = s.get(orm.ModelRunBatch, batch_id)
        if batch is None:
            raise NotFoundError(f"no model-run batch {batch_id!r}; batch ids are returned by "
                                "cat.register_batch_model_runs(...) and import_model_runs_csv(...)")
        template = s.get(orm.WorkflowTemplate, batch.template_id)
        assert template is not None
        rows = s.scalars(select(orm.ModelRun.record).where(orm.ModelRun.batch_id == batch_id)
                         .order_by(orm.ModelRun.batch_row)).all()
        return template.name, [ModelRunRecord.model_validate(r) for r in rows]
