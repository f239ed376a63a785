"""Registering model runs: check every record, then write them all in the same transaction.

The checks are here and in :mod:`~steplineage.registry.resolve`; the writes
are :mod:`steplineage.store.model_runs` (Core ``executemany``, a few bulk
inserts for a 10,000-run batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from steplineage.errors import ModelRunValidationError, NotFoundError
from steplineage.ids import new_id
from steplineage.registry.model_runs import (BatchResult, ModelRunInfo, ModelRunRecord,
                                             ModelRunRevision)
from steplineage.registry.resolve import Plan, Resolver
from steplineage.store import model_runs
from steplineage.store import registry as stored
from steplineage.store.registry import RunLookups

if TYPE_CHECKING:
    from steplineage.registry.ports import RegistryCatalog
    from steplineage.store.store import Store

__all__ = ["batch_records", "get_model_run", "register_batch", "register_one", "update_run"]


def _check(catalog: RegistryCatalog, lookups: RunLookups, records: Sequence[Any],
           labels: Sequence[str], what: str, run_ids: Sequence[str] | None = None
           ) -> list[Plan]:
    plans, problems = Resolver(lookups, catalog.list_resources()).plan(records, labels, run_ids)
    if problems:
        raise ModelRunValidationError(problems, what)
    return plans


def register_one(catalog: RegistryCatalog, record: ModelRunRecord | dict[str, Any]) -> str:
    """Register one model run; returns its execution id.

    Example:
        >>> register_one(cat, record)  # doctest: +SKIP
        '5b8470d0-...'
    """
    with catalog.store.session() as s:
        [plan] = _check(catalog, RunLookups(s), [record], ["record"], "model run")
        model_runs.insert_runs(s, [plan.new_run()], None)
        return plan.run_id


def register_batch(catalog: RegistryCatalog, records: Sequence[ModelRunRecord | dict[str, Any]],
                   labels: Sequence[str] | None = None,
                   batch_id: str | None = None) -> BatchResult:
    """Register every record or none; problems name ``labels`` (default ``row 1``, ...).

    A client-chosen ``batch_id`` makes a retry safe: registering a batch whose id
    is already in the catalog returns that batch instead of registering it twice.

    Example:
        >>> len(register_batch(cat, records).run_ids)  # doctest: +SKIP
        10000
    """
    if not records:
        raise ModelRunValidationError(["the batch is empty: give at least one record"], "batch")
    labels = labels or [f"row {i}" for i in range(1, len(records) + 1)]
    if batch_id is not None:
        done = _existing_batch(catalog.store, batch_id, len(records))
        if done is not None:
            return done
    chosen = batch_id or new_id()
    with catalog.store.session() as s:
        plans = _check(catalog, RunLookups(s), records, labels,
                       f"batch of {len(records)} model runs")
        templates = {p.template.id for p in plans}
        if len(templates) > 1:
            raise ModelRunValidationError(
                [f"a batch uses one workflow template; this one names "
                 f"{', '.join(sorted({p.template.name for p in plans}))}: split it"], "batch")
        [template] = templates
        assert template is not None  # planned from a stored template
        registered = model_runs.insert_batch(s, chosen, template, len(plans))
        if registered:
            model_runs.insert_runs(s, [p.new_run() for p in plans], chosen)
    if registered:
        return BatchResult(batch_id=chosen, run_ids=[p.run_id for p in plans])
    # the same batch id, registered by a concurrent retry a moment ago
    done = _existing_batch(catalog.store, chosen, len(records))
    assert done is not None  # batches are never deleted
    return done


def _existing_batch(store: Store, batch_id: str, size: int) -> BatchResult | None:
    """The batch ``batch_id`` if it is registered (with ``size`` runs), else None."""
    batch = stored.find_batch(store, batch_id)
    if batch is None:
        return None
    if batch.size != size:
        raise ModelRunValidationError(
            [f"batch id {batch_id!r} is already registered with {batch.size} runs, this "
             f"batch has {size}: use a new batch id for a different batch"], "batch")
    return BatchResult(batch_id=batch_id, run_ids=list(batch.run_ids))


def update_run(catalog: RegistryCatalog, run_id: str, reason: str,
               record: ModelRunRecord | dict[str, Any]) -> ModelRunInfo:
    """Replace a run's record, keeping the earlier one with ``reason``.

    Example:
        >>> update_run(cat, run_id, "wrong DEM tile", fixed).revision  # doctest: +SKIP
        2
    """
    if not reason or not reason.strip():
        raise ModelRunValidationError(["reason: say why the run is being updated (it is kept "
                                       "in the run's audit trail)"], "update")
    with catalog.store.session() as s:
        old = model_runs.lock_model_run(s, run_id)
        if old is None:
            raise NotFoundError(f"{run_id!r} is not a registered model run; register it with "
                                "cat.register_model_run(record)")
        [plan] = _check(catalog, RunLookups(s), [record], ["record"], "update", [run_id])
        if plan.template.id != old.template_id:
            raise ModelRunValidationError([f"record: the run was registered against template "
                                           f"{old.record['template']!r}; an update keeps it"],
                                          "update")
        model_runs.replace_model_run(s, old, plan.new_run(), reason.strip())
    return get_model_run(catalog.store, run_id)


def get_model_run(store: Store, run_id: str) -> ModelRunInfo:
    """A registered run with its audit trail (oldest revision first).

    Raises:
        NotFoundError: ``run_id`` is not a registered model run.

    Example:
        >>> get_model_run(cat.store, run_id).revision  # doctest: +SKIP
        1
    """
    run = stored.find_model_run(store, run_id)
    if run is None:
        raise NotFoundError(f"{run_id!r} is not a registered model run")
    return ModelRunInfo(
        run_id=run_id, template=run.template_name, batch_id=run.batch_id,
        batch_row=run.batch_row, revision=run.revision,
        record=ModelRunRecord.model_validate(run.record),
        history=[ModelRunRevision(revision=r.revision, reason=r.reason, replaced_at=r.replaced_at,
                                  record=ModelRunRecord.model_validate(r.record))
                 for r in run.history])


def batch_records(store: Store, batch_id: str) -> tuple[str, list[ModelRunRecord]]:
    """The template name and current records of a batch, in their original order.

    Example:
        >>> name, records = batch_records(cat.store, batch_id)  # doctest: +SKIP
    """
    found = stored.batch_records(store, batch_id)
    if found is None:
        raise NotFoundError(f"no model-run batch {batch_id!r}; batch ids are returned by "
                            "cat.register_batch_model_runs(...) and import_model_runs_csv(...)")
    name, records = found
    return name, [ModelRunRecord.model_validate(r) for r in records]
