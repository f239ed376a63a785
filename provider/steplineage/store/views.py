"""Read models of the lineage web app (and CLI): lists, DAG summaries, search, one execution.

:class:`Views` (``cat.views``) answers each question with one or two queries
and hands back frozen records or plain JSON-ready dicts, never ORM rows. Every
list that shows executions takes a :class:`~steplineage.models.Visibility` and
applies it in its WHERE clause, so totals and pages agree with what the reader
may see. Search terms are matched with ``contains(..., autoescape=True)``:
``%`` and ``_`` in them are literal.

Example:
    >>> from steplineage.models import ExecutionFilter, Visibility
    >>> page = cat.views.executions(ExecutionFilter(dag_id="etl"), Visibility())  # doctest: +SKIP
    >>> page.total, [e.name for e in page.items]  # doctest: +SKIP
    (3, ['load', 'transform', 'extract'])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from steplineage.errors import NotFoundError
from steplineage.models import ExecutionFilter, ExecutionRecord, Visibility
from steplineage.status import Status
from steplineage.store import orm
from steplineage.store.records import asset_record, execution_record, workflow_record
from steplineage.store.store import Store

__all__ = ["DagRun", "DagSummary", "ExecutionPage", "SearchHit", "Views", "visible"]


@dataclass(frozen=True)
class ExecutionPage:
    """One page of executions (newest first) and how many matched in all."""

    total: int
    items: tuple[ExecutionRecord, ...]


@dataclass(frozen=True)
class DagSummary:
    """A DAG with recorded executions."""

    dag_id: str
    executions: int
    runs: int
    last_at: datetime | None


@dataclass(frozen=True)
class DagRun:
    """One recorded run of a DAG: when its first execution was recorded, how many failed."""

    run_id: str
    started: datetime | None
    executions: int
    failed: int


@dataclass(frozen=True)
class SearchHit:
    """A node whose name or checksum matched a search."""

    node: str
    kind: str
    label: str
    detail: str


def visible(visibility: Visibility) -> ColumnElement[bool]:
    """The SQL condition "the execution is visible" for :class:`orm.Execution` rows.

    Example:
        >>> str(visible(Visibility(frozenset(), include_non_airflow=True)))
        'executions.dag_id IS NULL'
    """
    dag_id = orm.Execution.dag_id
    if visibility.dag_ids is None:
        dagged = dag_id.is_not(None)
    else:  # an empty IN () is not valid everywhere; no DAG at all is plainly false
        dagged = dag_id.in_(sorted(visibility.dag_ids)) if visibility.dag_ids else false()
    if not visibility.include_non_airflow:
        return dagged
    return true() if visibility.dag_ids is None else or_(dagged, dag_id.is_(None))


def _utc(value: datetime) -> datetime:
    # A naive bound is taken as UTC, as the catalog stores every time in UTC.
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _where(f: ExecutionFilter) -> list[ColumnElement[bool]]:
    e = orm.Execution
    clauses: list[ColumnElement[bool]] = []
    for column, value in ((e.dag_id, f.dag_id), (e.run_id, f.run_id), (e.task_id, f.task_id),
                          (e.parent_id, f.parent_id)):
        if value is not None:
            clauses.append(column == value)
    if f.status is not None:
        clauses.append(e.status == Status(f.status).value)
    if f.since is not None:
        clauses.append(e.created_at >= _utc(f.since))
    if f.until is not None:
        clauses.append(e.created_at <= _utc(f.until))
    if f.text:
        clauses.append(e.name.contains(f.text, autoescape=True))
    if f.top_level:
        clauses.append(e.parent_id.is_(None))
    return clauses


def _summary(row: orm.Execution) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "status": row.status,
            "created_at": row.created_at.isoformat(),
            "duration_seconds": row.duration_seconds, "dag_id": row.dag_id,
            "run_id": row.run_id, "task_id": row.task_id, "map_index": row.map_index,
            "try_number": row.try_number}


def _edges(s: Session, execution_id: str) -> tuple[dict[str, list[dict[str, Any]]],
                                                    list[dict[str, Any]]]:
    """The execution's edges by role (input, output, code), and the assets they name."""
    edge, version = orm.LineageEdge, orm.Version
    rows = s.execute(
        select(edge, orm.Resource.name, version)
        .outerjoin(orm.Resource, orm.Resource.id == edge.resource_id)
        .outerjoin(version, version.id == edge.version_id)
        .where(edge.execution_id == execution_id)
        .order_by(edge.role, edge.created_at, edge.id)).all()
    asset_ids = [e.asset_id for e, _, _ in rows if e.asset_id]
    assets = {a.id: asset_record(a).model_dump(mode="json") for a in s.scalars(
        select(orm.Asset).where(orm.Asset.id.in_(asset_ids)))} if asset_ids else {}
    by_role: dict[str, list[dict[str, Any]]] = {"input": [], "output": [], "code": []}
    for e, resource, v in rows:
        item: dict[str, Any] = {"role": e.role, "valid": e.valid,
                                "recorded_at": e.created_at.isoformat()}
        if e.resource_id is not None:
            item.update(kind="version", ref=resource + (f":{e.subpath}" if e.subpath else ""),
                        node=f"version:{v.id}" if v else None, hash=v.hash if v else None,
                        hash_kind=v.kind if v else None, length=v.length if v else None)
        elif e.asset_id is not None:
            item.update(kind="asset", node=f"asset:{e.asset_id}", asset=assets.get(e.asset_id))
        else:
            item.update(kind="dataset_version", node=f"dataset_version:{e.dataset_version_id}")
        by_role.setdefault(e.role, []).append(item)
    return by_role, list(assets.values())


class Views:
    """The read models, over one store (``cat.views``).

    Args:
        store: the catalog database to read.

    Example:
        >>> views = Views(Store("sqlite://"))
        >>> views.executions(ExecutionFilter(), Visibility()).total
        0
    """

    def __init__(self, store: Store):
        self.store = store

    def dag_ids(self) -> frozenset[str]:
        """Every DAG id with a recorded execution (one index scan).

        Example:
            >>> sorted(cat.views.dag_ids())  # doctest: +SKIP
            ['steplineage_etl']
        """
        e = orm.Execution
        with self.store.session() as s:
            return frozenset(s.scalars(select(e.dag_id).where(e.dag_id.is_not(None)).distinct()))

    def executions(self, f: ExecutionFilter, visibility: Visibility, limit: int = 50,
                   offset: int = 0) -> ExecutionPage:
        """Visible executions matching ``f``, newest first: one page and the total.

        Example:
            >>> failed = ExecutionFilter(status=Status.failed)
            >>> cat.views.executions(failed, Visibility(), limit=10).total  # doctest: +SKIP
            2
        """
        e = orm.Execution
        clauses = [visible(visibility), *_where(f)]
        with self.store.session() as s:
            total = s.scalar(select(func.count()).select_from(e).where(*clauses)) or 0
            rows = s.scalars(select(e).where(*clauses).options(selectinload(e.history))
                             .order_by(e.created_at.desc(), e.id).limit(limit).offset(offset))
            return ExecutionPage(total=total, items=tuple(execution_record(r) for r in rows))

    def dags(self, visibility: Visibility) -> list[DagSummary]:
        """One summary per visible DAG with recorded executions, by DAG id.

        Example:
            >>> cat.views.dags(Visibility())[0].dag_id  # doctest: +SKIP
            'steplineage_etl'
        """
        e = orm.Execution
        with self.store.session() as s:
            rows = s.execute(
                select(e.dag_id, func.count(), func.count(func.distinct(e.run_id)),
                       func.max(e.created_at))
                .where(e.dag_id.is_not(None), visible(visibility)).group_by(e.dag_id)
                .order_by(e.dag_id)).all()
        return [DagSummary(dag_id, n, runs, last) for dag_id, n, runs, last in rows]

    def dag_runs(self, dag_id: str, limit: int = 25) -> list[DagRun]:
        """The newest recorded runs of one DAG.

        Example:
            >>> cat.views.dag_runs("steplineage_etl")[0].run_id  # doctest: +SKIP
            'manual__2024-06-01T00:00:00+00:00'
        """
        e = orm.Execution
        failed = func.sum(case((e.status.in_([Status.failed.value, Status.aborted.value]), 1),
                               else_=0))
        with self.store.session() as s:
            rows = s.execute(
                select(e.run_id, func.min(e.created_at), func.count(), failed)
                .where(e.dag_id == dag_id, e.run_id.is_not(None)).group_by(e.run_id)
                .order_by(func.max(e.created_at).desc()).limit(limit)).all()
        return [DagRun(run_id, first, n, int(bad or 0)) for run_id, first, n, bad in rows]

    def latest_run_id(self, dag_id: str) -> str | None:
        """The run id of the newest recorded execution of ``dag_id`` (None: no run yet).

        Example:
            >>> cat.views.latest_run_id("steplineage_etl")  # doctest: +SKIP
            'manual__2024-06-01T00:00:00+00:00'
        """
        e = orm.Execution
        with self.store.session() as s:
            return s.scalars(select(e.run_id).where(e.dag_id == dag_id, e.run_id.is_not(None))
                             .order_by(e.created_at.desc()).limit(1)).first()

    def execution_detail(self, execution_id: str, visibility: Visibility) -> dict[str, Any]:
        """Everything the execution page shows, JSON-ready: record, history, workflow, the
        visible parent and children (and how many are hidden), inputs/outputs/code with
        versions and checksums, and asset files.

        The execution itself is returned whatever ``visibility`` says: the caller
        decides whether its reader may see it (and answers 403 if not).

        Raises:
            NotFoundError: no such execution.

        Example:
            >>> detail = cat.views.execution_detail(exe.id, Visibility())  # doctest: +SKIP
            >>> detail["outputs"][0]["hash"]  # doctest: +SKIP
            '9f86d08...'
        """
        with self.store.session() as s:
            row = s.get(orm.Execution, execution_id)
            if row is None:
                raise NotFoundError(f"no execution with id {execution_id!r}")
            workflow = s.get(orm.Workflow, row.workflow_id) if row.workflow_id else None
            parent = s.get(orm.Execution, row.parent_id) if row.parent_id else None
            children = s.scalars(select(orm.Execution).where(orm.Execution.parent_id == row.id)
                                 .order_by(orm.Execution.created_at, orm.Execution.id)).all()
            shown = [c for c in children if visibility.allows(c.dag_id)]
            edges, assets = _edges(s, row.id)
            return {
                "execution": execution_record(row).model_dump(mode="json"),
                "node": f"execution:{row.id}",
                "workflow": workflow and workflow_record(workflow).model_dump(mode="json"),
                "parent": _summary(parent) if parent and visibility.allows(parent.dag_id)
                else None,
                "children": [_summary(c) for c in shown],
                "hidden_children": len(children) - len(shown),
                "inputs": edges["input"], "outputs": edges["output"], "code": edges["code"],
                "assets": assets,
            }

    def child_ids(self, execution_id: str, limit: int) -> list[str]:
        """Ids of the first ``limit`` children of an execution, oldest first.

        Example:
            >>> cat.views.child_ids(dag_run.id, 200)  # doctest: +SKIP
            ['5b8470d0-...', '0c7e11a2-...']
        """
        e = orm.Execution
        with self.store.session() as s:
            return list(s.scalars(select(e.id).where(e.parent_id == execution_id)
                                  .order_by(e.created_at, e.id).limit(limit)))

    def run_execution_ids(self, dag_id: str, run_id: str, task_id: str | None = None
                          ) -> list[str]:
        """Ids of a DAG run's task executions (or one task's), oldest first; a run with
        only its DAG-run execution recorded gives that one.

        Example:
            >>> cat.views.run_execution_ids("etl", "manual__1", "extract")  # doctest: +SKIP
            ['5b8470d0-...']
        """
        e = orm.Execution
        of_run = (e.dag_id == dag_id, e.run_id == run_id)
        tasks = e.task_id == task_id if task_id else e.task_id.is_not(None)
        with self.store.session() as s:
            ids = list(s.scalars(select(e.id).where(*of_run, tasks).order_by(e.created_at, e.id)))
            if not ids and task_id is None:
                ids = list(s.scalars(select(e.id).where(*of_run).order_by(e.created_at, e.id)))
        return ids

    def search(self, text: str, visibility: Visibility, limit: int = 20) -> list[SearchHit]:
        """Refs (newest version of each), asset files and visible executions whose name
        contains ``text`` or whose checksum (execution id) starts with it.

        Example:
            >>> [h.label for h in cat.views.search("orders", Visibility())]  # doctest: +SKIP
            ['etl_files:staging/raw_orders.csv', 'extract']
        """
        text = text.strip()
        if not text:
            return []
        v, r, a, e = orm.Version, orm.Resource, orm.Asset, orm.Execution
        found: list[SearchHit] = []
        seen: set[tuple[str, str]] = set()
        with self.store.session() as s:
            for version, name in s.execute(
                    select(v, r.name).join(r, r.id == v.resource_id)
                    .where(or_(r.name.contains(text, autoescape=True),
                               v.subpath.contains(text, autoescape=True),
                               v.hash.startswith(text.lower(), autoescape=True)))
                    .order_by(v.created_at.desc()).limit(limit * 5)):
                if (name, version.subpath) in seen:  # newest version of each ref only
                    continue
                seen.add((name, version.subpath))
                label = name + (f":{version.subpath}" if version.subpath else "")
                found.append(SearchHit(f"version:{version.id}", "version", label, version.hash))
            for asset in s.scalars(
                    select(a).where(or_(a.filename.contains(text, autoescape=True),
                                        a.asset_table.contains(text, autoescape=True),
                                        a.sha256.startswith(text.lower(), autoescape=True)))
                    .order_by(a.created_at.desc()).limit(limit)):
                found.append(SearchHit(f"asset:{asset.id}", "asset",
                                       f"{asset.asset_table}/{asset.filename}", asset.sha256))
            for exe in s.scalars(
                    select(e).where(visible(visibility),
                                    or_(e.name.contains(text, autoescape=True),
                                        e.id.startswith(text, autoescape=True)))
                    .order_by(e.created_at.desc()).limit(limit)):
                detail = " ".join(str(p) for p in (exe.status, exe.dag_id, exe.run_id) if p)
                found.append(SearchHit(f"execution:{exe.id}", "execution", exe.name, detail))
        return found[:limit * 3]
