"""Registry reads: workflow templates, registered model runs, batches, and the bulk lookups
that check a batch of model-run records (one query per kind of id, however many records).

The writes of model runs are in :mod:`steplineage.store.model_runs`.

Example:
    >>> store = Store("sqlite://")
    >>> from steplineage.store.workflows import insert_workflow
    >>> from steplineage.models import WorkflowRecord
    >>> _ = insert_workflow(store, WorkflowRecord(id="w1", name="m", workflow_type="manual"))
    >>> insert_template(store, TemplateRow("t1", "m", "w1", "", {"inputs": []})).name
    'm'
    >>> find_template(store, "nope", "t1").id, [t.name for t in list_templates(store)]
    ('t1', ['m'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steplineage.models import ResourceRef
from steplineage.store import orm
from steplineage.store.engine import chunks
from steplineage.store.records import aware
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race, latest_output, placeholder_hash

__all__ = ["RunLookups", "StoredBatch", "StoredModelRun", "StoredRevision", "TemplateRow",
           "batch_records", "find_batch", "find_model_run", "find_template",
           "insert_template", "list_templates"]

@dataclass(frozen=True)
class TemplateRow:
    """A stored workflow template; ``definition`` is its slots, annotations and roles as JSON."""

    id: str
    name: str
    workflow_id: str
    description: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class StoredRevision:
    """An earlier record of a model run and why it was replaced."""

    revision: int
    reason: str
    replaced_at: datetime
    record: dict[str, Any]


@dataclass(frozen=True)
class StoredModelRun:
    """A registered model run: its current record (JSON) and its audit trail, oldest first."""

    run_id: str
    template_id: str
    template_name: str
    batch_id: str | None
    batch_row: int | None
    revision: int
    record: dict[str, Any]
    history: tuple[StoredRevision, ...] = ()


@dataclass(frozen=True)
class StoredBatch:
    """A registered batch: its size and its runs' ids in row order."""

    id: str
    template_id: str
    size: int
    run_ids: tuple[str, ...]


def _template_row(row: orm.WorkflowTemplate) -> TemplateRow:
    return TemplateRow(id=row.id, name=row.name, workflow_id=row.workflow_id,
                       description=row.description, definition=dict(row.definition))


def _template_in(s: Session, ids: Iterable[str]) -> orm.WorkflowTemplate | None:
    for key in ids:
        row = s.get(orm.WorkflowTemplate, key)
        if row is not None:
            return row
    return None


def insert_template(store: Store, template: TemplateRow) -> TemplateRow:
    """Insert ``template`` unless its id is taken; the stored one (compare it to yours).

    Ids are derived from names, so a concurrent registration of the same name
    meets this one on the id: the loser gets the winner's row.
    """
    with store.session() as s:
        row = s.get(orm.WorkflowTemplate, template.id)
        if row is None:
            row = orm.WorkflowTemplate(id=template.id, name=template.name,
                                       workflow_id=template.workflow_id,
                                       description=template.description,
                                       definition=template.definition)
            if not insert_or_lose_race(s, row):
                row = s.get(orm.WorkflowTemplate, template.id)
        assert row is not None
        return _template_row(row)


def find_template(store: Store, *ids: str) -> TemplateRow | None:
    """The template with the first of ``ids`` that is stored, else None."""
    with store.session() as s:
        row = _template_in(s, ids)
        return None if row is None else _template_row(row)


def list_templates(store: Store) -> list[TemplateRow]:
    """Every template, by name."""
    with store.session() as s:
        return [_template_row(r) for r in
                s.scalars(select(orm.WorkflowTemplate).order_by(orm.WorkflowTemplate.name))]


def find_model_run(store: Store, run_id: str) -> StoredModelRun | None:
    """The model run registered as execution ``run_id``, with its audit trail; else None."""
    with store.session() as s:
        run = s.get(orm.ModelRun, run_id)
        if run is None:
            return None
        template = s.get(orm.WorkflowTemplate, run.template_id)
        assert template is not None  # a foreign key
        revisions = s.scalars(select(orm.ModelRunRevision)
                              .where(orm.ModelRunRevision.execution_id == run_id)
                              .order_by(orm.ModelRunRevision.revision))
        return StoredModelRun(
            run_id=run_id, template_id=run.template_id, template_name=template.name,
            batch_id=run.batch_id, batch_row=run.batch_row, revision=run.revision,
            record=run.record, history=tuple(
                StoredRevision(revision=r.revision, reason=r.reason,
                               replaced_at=aware(r.replaced_at), record=r.record)
                for r in revisions))


def find_batch(store: Store, batch_id: str) -> StoredBatch | None:
    """The batch ``batch_id`` with its run ids in row order, else None."""
    with store.session() as s:
        batch = s.get(orm.ModelRunBatch, batch_id)
        if batch is None:
            return None
        run_ids = s.scalars(select(orm.ModelRun.execution_id)
                            .where(orm.ModelRun.batch_id == batch_id)
                            .order_by(orm.ModelRun.batch_row))
        return StoredBatch(id=batch_id, template_id=batch.template_id, size=batch.size,
                           run_ids=tuple(run_ids))


def batch_records(store: Store, batch_id: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The template name and current records (JSON) of batch ``batch_id`` in row order."""
    with store.session() as s:
        batch = s.get(orm.ModelRunBatch, batch_id)
        if batch is None:
            return None
        template = s.get(orm.WorkflowTemplate, batch.template_id)
        assert template is not None  # a foreign key
        records = s.scalars(select(orm.ModelRun.record).where(orm.ModelRun.batch_id == batch_id)
                            .order_by(orm.ModelRun.batch_row))
        return template.name, list(records)


class RunLookups:
    """What checking model-run records looks up, inside the transaction that writes them.

    Each method takes every id of one kind at once (a 10,000-run batch costs a
    handful of queries).

    Example:
        >>> with Store("sqlite://").session() as s:
        ...     RunLookups(s).agent_ids({"nobody"})
        {}
    """

    def __init__(self, session: Session):
        self._s = session

    def template(self, *ids: str) -> TemplateRow | None:
        """The template with the first of ``ids`` that is stored, else None."""
        row = _template_in(self._s, ids)
        return None if row is None else _template_row(row)

    def dataset_versions(self, names: Iterable[str]) -> dict[str, dict[int, str]]:
        """Dataset name -> {version number: dataset-version id}, for those that have versions."""
        out: dict[str, dict[int, str]] = {}
        for chunk in chunks(names):
            for name, number, dv_id in self._s.execute(
                    select(orm.Dataset.name, orm.DatasetVersion.version, orm.DatasetVersion.id)
                    .join(orm.DatasetVersion, orm.DatasetVersion.dataset_id == orm.Dataset.id)
                    .where(orm.Dataset.name.in_(chunk))):
                out.setdefault(name, {})[number] = dv_id
        return out

    def asset_types(self, ids: Iterable[str]) -> dict[str, set[str]]:
        """Asset id -> its asset types, for the ids that are assets."""
        out: dict[str, set[str]] = {}
        for chunk in chunks(ids):
            for asset_id, type_name in self._s.execute(
                    select(orm.Asset.id, orm.AssetTypeLink.type_name)
                    .outerjoin(orm.AssetTypeLink, orm.AssetTypeLink.asset_id == orm.Asset.id)
                    .where(orm.Asset.id.in_(chunk))):
                types = out.setdefault(asset_id, set())
                if type_name is not None:
                    types.add(type_name)
        return out

    def agent_ids(self, names: Iterable[str]) -> dict[str, str]:
        """Agent name -> id, for the names that are registered."""
        out: dict[str, str] = {}
        for chunk in chunks(names):
            out.update(self._s.execute(select(orm.Agent.name, orm.Agent.id)
                                       .where(orm.Agent.name.in_(chunk))).all())
        return out

    def current_hash(self, resource_id: str, ref: ResourceRef) -> tuple[str, str]:
        """(hash, kind) of what ``ref`` holds by the catalog's account, without hashing it (a
        registered run's files need not be on this machine) and without writing anything."""
        latest = latest_output(self._s, resource_id, ref.subpath or "")
        if latest is not None:
            return latest.hash, latest.kind
        return placeholder_hash(ref, "initial"), "placeholder"
