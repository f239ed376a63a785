"""Read queries behind the command line's reports and the provenance report.

Each function takes a :class:`~steplineage.store.store.Store`, runs one
transaction and returns plain values or frozen records, so the renderers above
(``steplineage.cli``, ``steplineage.export.provenance``) never see a session
or a row.

Example:
    >>> from steplineage.store.store import Store
    >>> store = Store("sqlite://")
    >>> status_counts(store)
    {}
    >>> dataset_exists(store, "release")
    False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from steplineage.errors import NotFoundError
from steplineage.models import WorkflowRecord
from steplineage.store import engine as engines
from steplineage.store import orm
from steplineage.store.records import workflow_record
from steplineage.store.store import Store

__all__ = ["DatasetVersionInfo", "dataset_exists", "dataset_version_exists",
           "dataset_version_info", "schema_revisions", "status_counts", "version_as_of",
           "workflows_by_id"]


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One dataset version with its dataset's name (what a provenance report states)."""

    id: str
    dataset: str
    version: int
    description: str
    created_at: datetime


def schema_revisions(store: Store) -> tuple[str | None, str]:
    """``(current, head)``: the catalog's schema revision (None if empty) and this code's.

    Example:
        >>> schema_revisions(Store("sqlite://"))  # doctest: +ELLIPSIS
        ('...', '...')
    """
    with store.translated():
        return engines.current_revision(store.engine), engines.head_revision()


def status_counts(store: Store) -> dict[str, int]:
    """How many executions the catalog holds in each status (statuses with none are absent).

    Example:
        >>> status_counts(store)  # doctest: +SKIP
        {'completed': 12, 'failed': 1}
    """
    with store.session() as s:
        return {status: count for status, count in s.execute(
            select(orm.Execution.status, func.count()).group_by(orm.Execution.status))}


def version_as_of(store: Store, resource_id: str, subpath: str | None,
                  as_of: datetime) -> str | None:
    """Id of the version a ref held at ``as_of``: that of the last edge touching it by then.

    This is a lineage query; it lives here until the lineage SQL moves into the
    store's lineage module.

    Example:
        >>> may_first = datetime(2024, 5, 1, tzinfo=timezone.utc)  # doctest: +SKIP
        >>> version_as_of(store, resource.id, "latest", may_first)  # doctest: +SKIP
        '0c5e...'
    """
    edge = orm.LineageEdge
    with store.session() as s:
        return s.scalars(
            select(edge.version_id)
            .where(edge.resource_id == resource_id, edge.subpath == (subpath or ""),
                   edge.version_id.is_not(None), edge.created_at <= as_of)
            .order_by(edge.created_at.desc()).limit(1)).first()


def dataset_version_exists(store: Store, dataset_version_id: str) -> bool:
    """Whether the catalog has a dataset version with this id.

    Example:
        >>> dataset_version_exists(store, "0c5e...")  # doctest: +SKIP
        True
    """
    dv = orm.DatasetVersion
    with store.session() as s:
        return s.scalar(select(dv.id).where(dv.id == dataset_version_id)) is not None


def dataset_exists(store: Store, name: str) -> bool:
    """Whether the catalog has a dataset with this name.

    Example:
        >>> dataset_exists(store, "release")  # doctest: +SKIP
        True
    """
    with store.session() as s:
        return s.scalar(select(orm.Dataset.id).where(orm.Dataset.name == name)) is not None


def dataset_version_info(store: Store, dataset_version_id: str) -> DatasetVersionInfo:
    """A dataset version with its dataset's name; the description falls back to the dataset's.

    Raises:
        NotFoundError: no dataset version has this id.

    Example:
        >>> dataset_version_info(store, dv_id).dataset  # doctest: +SKIP
        'release'
    """
    dv, ds = orm.DatasetVersion, orm.Dataset
    with store.session() as s:
        row = s.execute(select(dv.id, ds.name, dv.version, dv.description, ds.description,
                               dv.created_at)
                        .join(ds, ds.id == dv.dataset_id)
                        .where(dv.id == dataset_version_id)).first()
    if row is None:
        raise NotFoundError(f"no dataset version with id {dataset_version_id!r}")
    return DatasetVersionInfo(id=row[0], dataset=row[1], version=row[2],
                              description=row[3] or row[4] or "", created_at=row[5])


def workflows_by_id(store: Store, ids: Iterable[str | None]) -> dict[str, WorkflowRecord]:
    """The workflows with these ids (None and unknown ids are skipped).

    Example:
        >>> workflows_by_id(store, [record.workflow_id])  # doctest: +SKIP
        {'9f0c...': WorkflowRecord(name='train', ...)}
    """
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    with store.session() as s:
        return {row.id: workflow_record(row) for row in
                s.scalars(select(orm.Workflow).where(orm.Workflow.id.in_(wanted)))}
