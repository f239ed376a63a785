"""Execution rows: lookups, lists, edges, liveness.

Writes go through :meth:`Store.apply <steplineage.store.store.Store.apply>`; this
module reads, and keeps the heartbeat column fresh.

Example:
    >>> store = Store("sqlite://")
    >>> get_execution(store, "11111111-2222-3333-4444-555555555555") is None
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from steplineage.ids import utcnow
from steplineage.models import ExecutionRecord, LineageEdgeRecord
from steplineage.status import Status
from steplineage.store import orm
from steplineage.store.records import edge_record, execution_record
from steplineage.store.store import Store

__all__ = ["LiveState", "completed_with_metric", "get_execution", "last_seq", "list_edges",
           "list_executions", "live_state", "silent_executions", "touch_heartbeats"]

_LIVE = (Status.created.value, Status.initializing.value, Status.running.value,
         Status.uploading.value)


@dataclass(frozen=True)
class LiveState:
    """What a live handle of an existing execution needs: status, last history seq, dir."""

    status: Status
    seq: int
    working_dir: str | None


def get_execution(store: Store, execution_id: str) -> ExecutionRecord | None:
    """One execution with its status history, or None."""
    with store.session() as s:
        row = s.get(orm.Execution, execution_id)
        return None if row is None else execution_record(row)


def live_state(store: Store, execution_id: str) -> LiveState | None:
    """The state a retried create picks up from, or None if the execution is new."""
    with store.session() as s:
        row = s.execute(select(orm.Execution.status, orm.Execution.working_dir)
                        .where(orm.Execution.id == execution_id)).first()
        if row is None:
            return None
        return LiveState(Status(row.status), _max_seq(s, execution_id), row.working_dir)


def last_seq(store: Store, execution_id: str) -> int:
    """The highest status-history sequence number of an execution (0 when none)."""
    with store.session() as s:
        return _max_seq(s, execution_id)


def _max_seq(s: Session, execution_id: str) -> int:
    return s.scalar(select(func.max(orm.StatusHistory.seq)).where(
        orm.StatusHistory.execution_id == execution_id)) or 0


def list_executions(store: Store, workflow: str | None = None, status: Status | None = None,
                    parent_id: str | None = None, dag_id: str | None = None,
                    limit: int | None = 100) -> list[ExecutionRecord]:
    """Executions, newest first, filtered by workflow name, status, parent or DAG."""
    # Histories in one more query for the whole page, not one per execution.
    query = select(orm.Execution).options(selectinload(orm.Execution.history)).order_by(
        orm.Execution.created_at.desc(), orm.Execution.id)
    if workflow is not None:
        query = query.join(orm.Workflow).where(orm.Workflow.name == workflow)
    if status is not None:
        query = query.where(orm.Execution.status == status.value)
    if parent_id is not None:
        query = query.where(orm.Execution.parent_id == parent_id)
    if dag_id is not None:
        query = query.where(orm.Execution.dag_id == dag_id)
    if limit is not None:
        query = query.limit(limit)
    with store.session() as s:
        return [execution_record(r) for r in s.scalars(query)]


def list_edges(store: Store, execution_id: str | None = None,
               role: str | None = None) -> list[LineageEdgeRecord]:
    """Lineage edges in creation order, optionally of one execution and/or one role."""
    query = select(orm.LineageEdge).order_by(orm.LineageEdge.created_at, orm.LineageEdge.id)
    if execution_id is not None:
        query = query.where(orm.LineageEdge.execution_id == execution_id)
    if role is not None:
        query = query.where(orm.LineageEdge.role == role)
    with store.session() as s:
        resources = {r.id: r.name for r in s.scalars(select(orm.Resource))}
        versions: dict[str, str] = {}
        edges = list(s.scalars(query))
        ids = {e.version_id for e in edges if e.version_id}
        if ids:
            versions = {v.id: v.hash for v in
                        s.scalars(select(orm.Version).where(orm.Version.id.in_(ids)))}
        return [edge_record(e, resources, versions) for e in edges]


def touch_heartbeats(store: Store, execution_ids: Sequence[str]) -> None:
    """Mark these executions alive now (one UPDATE)."""
    with store.session() as s:
        s.execute(update(orm.Execution).where(orm.Execution.id.in_(list(execution_ids)))
                  .values(heartbeat_at=utcnow()))


def silent_executions(store: Store, before: datetime) -> list[tuple[str, datetime]]:
    """(id, last heartbeat) of unfinished executions not heard from since ``before``."""
    with store.session() as s:
        return [(i, beat) for i, beat in s.execute(
            select(orm.Execution.id, orm.Execution.heartbeat_at).where(
                orm.Execution.status.in_(_LIVE), orm.Execution.heartbeat_at < before))]


def completed_with_metric(store: Store, metric: str, value: str,
                          orchestrator: str | None = None) -> str | None:
    """The id of the newest completed execution whose metric ``metric`` is ``value``.

    The metrics column is JSON; the database compares (with its dialect's JSON
    text extraction), so no rows are loaded to look.

    Example:
        >>> completed_with_metric(Store("sqlite://"), "prefect_cache_key", "a1b2") is None
        True
    """
    query = (select(orm.Execution.id)
             .where(orm.Execution.status == Status.completed.value,
                    orm.Execution.metrics[metric].as_string() == value)
             .order_by(orm.Execution.created_at.desc()).limit(1))
    if orchestrator is not None:
        query = query.where(orm.Execution.orchestrator == orchestrator)
    with store.session() as s:
        return s.scalars(query).first()
