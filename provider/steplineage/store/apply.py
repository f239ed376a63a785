"""The one apply path: every catalog write is an operation applied here.

:func:`apply_op` writes one :mod:`~steplineage.ops` operation inside a session
and is idempotent (an operation applied twice changes nothing the second
time): live steps, spool replay, batch registration and OpenLineage ingest
all write through it.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from steplineage.errors import NotFoundError, StatusTransitionError, UnknownResourceError
from steplineage.ops import (
    EdgesAdded,
    EdgeSpec,
    ExecutionCreated,
    ExecutionUpdated,
    Op,
    OutputsRegistered,
    StatusChanged,
)
from steplineage.status import FINAL_STATUSES, Status, allowed_next, can_transition
from steplineage.store import orm
from steplineage.store.versions import insert_or_lose_race, version_id_for

__all__ = ["apply_op", "ensure_agent"]

log = logging.getLogger(__name__)

_AGENT_NAMESPACE = uuid.UUID("0b6c7e0e-8a5e-4f39-9a53-5c1e2a3f4d21")

# Per catalog database: resource ids, and agent and workflow rows known to be committed
# there. None of them is ever deleted, so a step need not look them up again.
_COMMITTED: weakref.WeakKeyDictionary[Any, set[tuple[type, str]]] = weakref.WeakKeyDictionary()
_RESOURCE_IDS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _insert_once(s: Session, table: type[orm.Base], row_id: str,
                 make: Callable[[], orm.Base]) -> None:
    """Insert ``make()`` unless a row with ``row_id`` exists; looked up once per database."""
    committed = _COMMITTED.setdefault(s.get_bind(), set())
    if (table, row_id) in committed:
        return
    if s.get(table, row_id) is None:
        insert_or_lose_race(s, make())
    # Remembered once committed: a rolled-back insert must not be taken for a row.
    s.info.setdefault("steplineage_on_commit", []).append(
        lambda: committed.add((table, row_id)))


def ensure_agent(s: Session, name: str, kind: str) -> str:
    """The id of the agent called ``name``, created (race-safely) if new."""
    agent_id = str(uuid.uuid5(_AGENT_NAMESPACE, name))
    _insert_once(s, orm.Agent, agent_id, lambda: orm.Agent(id=agent_id, name=name, kind=kind))
    return agent_id


def _locked_execution(s: Session, execution_id: str) -> orm.Execution | None:
    """The execution row, locked for this transaction (queried once, then kept here).

    The session's identity map holds rows weakly, so the rows are kept in
    ``s.info`` for the transaction: later operations on them need no SELECT.
    """
    rows: dict[str, orm.Execution] = s.info.setdefault("steplineage_executions", {})
    row = rows.get(execution_id)
    if row is None:
        row = s.get(orm.Execution, execution_id, with_for_update=True)
        if row is not None:
            rows[execution_id] = row
    return row


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the catalog stores UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _apply_created(s: Session, op: ExecutionCreated) -> None:
    exe_id = op.execution["id"]
    if s.get(orm.Execution, exe_id) is not None:
        return
    _insert_once(s, orm.Workflow, op.workflow["id"], lambda: orm.Workflow(**op.workflow))
    parent = op.execution.get("parent_id")
    if parent and s.get(orm.Execution, parent) is None:
        raise NotFoundError(f"parent execution {parent!r} does not exist; create the parent "
                            "first")
    row = orm.Execution(**op.execution, heartbeat_at=op.at, created_at=op.at)
    s.add(row)
    s.info.setdefault("steplineage_executions", {})[exe_id] = row  # ours: nobody else has it
    s.add(orm.StatusHistory(execution_id=exe_id, seq=0, status=Status.created.value,
                            message="created", at=op.at))
    if op.agent:
        s.add(orm.ExecutionAgent(execution_id=exe_id, agent_id=ensure_agent(s, op.agent,
                                                                             "person"),
                                 role="operator"))


def _apply_status(s: Session, op: StatusChanged, strict: bool) -> None:
    row = _locked_execution(s, op.execution_id)
    if row is None:
        raise NotFoundError(f"execution {op.execution_id} is not in the catalog")
    # Only a replay can meet its own row again; a live writer owns its sequence numbers.
    existing = None if strict else s.scalars(select(orm.StatusHistory).where(
        orm.StatusHistory.execution_id == op.execution_id,
        orm.StatusHistory.seq == op.seq)).first()
    if existing is not None and existing.status == op.status.value and \
            _aware(existing.at) == _aware(op.at):
        return  # already applied
    current = Status(row.status)
    message = op.message
    if not can_transition(current, op.status):
        if strict:
            raise StatusTransitionError(op.execution_id, current.value, op.status.value,
                                        [n.value for n in allowed_next(current)])
        # Replayed late (e.g. the reaper aborted it meanwhile): keep the record, not the move.
        message = f"{op.message} [not applied: execution was already {current.value}]"
    else:
        row.status, row.status_message = op.status.value, op.message
        row.heartbeat_at = op.at
        if op.status is Status.running and row.start_time is None:
            row.start_time = op.at
        if op.status in FINAL_STATUSES and row.start_time is not None:
            row.stop_time = row.stop_time or op.at
            row.duration_seconds = (_aware(row.stop_time) - _aware(row.start_time)
                                    ).total_seconds()
    seq = op.seq
    if existing is not None:  # another writer took this seq: append after the last one
        seq = (s.scalar(select(func.max(orm.StatusHistory.seq)).where(
            orm.StatusHistory.execution_id == op.execution_id)) or 0) + 1
    s.add(orm.StatusHistory(execution_id=op.execution_id, seq=seq, status=op.status.value,
                            message=message, at=op.at))


def _apply_updated(s: Session, op: ExecutionUpdated) -> None:
    row = _locked_execution(s, op.execution_id)
    if row is None:
        raise NotFoundError(f"execution {op.execution_id} is not in the catalog")
    if op.parameters:
        row.parameters = {**(row.parameters or {}), **op.parameters}
    if op.metrics:
        row.metrics = {**(row.metrics or {}), **op.metrics}
    if op.results is not None:
        row.results = op.results
    if op.stop_time is not None:
        row.stop_time = op.stop_time
        if row.start_time is not None:
            row.duration_seconds = (_aware(op.stop_time) - _aware(row.start_time)
                                    ).total_seconds()


_RESOURCE_ID_BY_NAME = select(orm.Resource.id).where(orm.Resource.name == bindparam("name"))


def _resource_id(s: Session, name: str) -> str:
    # Resource ids never change and resources are registered in their own transactions.
    cache = _RESOURCE_IDS.setdefault(s.get_bind(), {})
    if name not in cache:
        found = s.scalars(_RESOURCE_ID_BY_NAME, {"name": name}).first()
        if found is None:
            raise UnknownResourceError(f"unknown resource {name!r}: register it with "
                                       f"cat.add_resource({name!r}, uri=..., role=...)")
        cache[name] = found
    return cache[name]


def _version_of(s: Session, spec: EdgeSpec) -> tuple[str | None, str | None]:
    """(resource id, version id) of an edge to a ref (Nones for assets and datasets)."""
    if spec.resource is None:
        return None, None
    resource_id = _resource_id(s, spec.resource)
    if spec.hash is None:
        return resource_id, None
    return resource_id, version_id_for(s, resource_id, spec.subpath, spec.hash, spec.hash_kind,
                                       spec.length)


def _edge_row(s: Session, execution_id: str, spec: EdgeSpec, at: datetime) -> orm.LineageEdge:
    resource_id, version_id = _version_of(s, spec)
    return orm.LineageEdge(id=spec.id, execution_id=execution_id, role=spec.role,
                           resource_id=resource_id,
                           subpath=(spec.subpath or "") if resource_id else None,
                           version_id=version_id, asset_id=spec.asset_id,
                           dataset_version_id=spec.dataset_version_id, valid=spec.valid,
                           created_at=at)


def _apply_edges(s: Session, op: EdgesAdded, strict: bool) -> None:
    known = set() if strict else set(s.scalars(select(orm.LineageEdge.id).where(
        orm.LineageEdge.id.in_([e.id for e in op.edges]))))
    added = s.info.setdefault("steplineage_edges", {})  # kept: the identity map is weak
    for spec in op.edges:
        if spec.id not in known:
            added[spec.id] = row = _edge_row(s, op.execution_id, spec, op.at)
            s.add(row)
    s.flush()


def _apply_outputs(s: Session, op: OutputsRegistered, strict: bool) -> None:
    for a in op.assets:
        asset = s.scalars(select(orm.Asset).where(
            orm.Asset.asset_table == a.asset_table, orm.Asset.sha256 == a.sha256,
            orm.Asset.filename == a.filename)).first()
        if asset is None:
            asset = orm.Asset(id=a.asset_id, asset_table=a.asset_table, url=a.url,
                              filename=a.filename, length=a.length, md5=a.md5, sha256=a.sha256,
                              description=a.description, asset_metadata=a.metadata)
            asset.types = [orm.AssetTypeLink(type_name=t) for t in a.asset_types]
            s.add(asset)
            s.flush()
        if s.get(orm.LineageEdge, a.edge_id) is None:
            s.add(orm.LineageEdge(id=a.edge_id, execution_id=op.execution_id, role="output",
                                  asset_id=asset.id, valid=True, created_at=op.status.at))
    added = s.info.get("steplineage_edges", {})
    for spec in op.outputs:
        edge = added.get(spec.id) or s.get(orm.LineageEdge, spec.id)
        if edge is None:
            s.add(_edge_row(s, op.execution_id, spec, op.status.at))
        else:
            edge.version_id, edge.valid, edge.created_at = (_version_of(s, spec)[1], spec.valid,
                                                            op.status.at)
    _apply_status(s, op.status, strict)


def apply_op(s: Session, op: Op, *, strict: bool = True) -> None:
    """Write one operation in the open session; applying it twice is harmless.

    With ``strict=False`` (replay), a status change the state machine no longer
    allows is recorded in the history without moving the status.
    """
    if isinstance(op, ExecutionCreated):
        _apply_created(s, op)
    elif isinstance(op, StatusChanged):
        _apply_status(s, op, strict)
    elif isinstance(op, ExecutionUpdated):
        _apply_updated(s, op)
    elif isinstance(op, EdgesAdded):
        _apply_edges(s, op, strict)
    else:
        _apply_outputs(s, op, strict)

