"""Turning ORM rows into the frozen records steplineage hands out."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import overload

from steplineage.models import (
    AssetRecord,
    EdgeRole,
    ExecutionRecord,
    LineageEdgeRecord,
    OrchestratorIdentity,
    ResourceRecord,
    ResourceRef,
    StatusChange,
    WorkflowRecord,
)
from steplineage.status import Status
from steplineage.store import orm

__all__ = ["asset_record", "aware", "edge_record", "execution_record", "resource_record",
           "workflow_record"]



@overload
def aware(value: datetime) -> datetime: ...


@overload
def aware(value: None) -> None: ...


def aware(value: datetime | None) -> datetime | None:
    """A datetime read from a row, in UTC (SQLite hands back naive ones; all are UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def workflow_record(row: orm.Workflow) -> WorkflowRecord:
    return WorkflowRecord(id=row.id, name=row.name, workflow_type=row.workflow_type,
                          version=row.version, url=row.url, checksum=row.checksum,
                          description=row.description, active=row.active, dirty=row.dirty)


def resource_record(row: orm.Resource) -> ResourceRecord:
    return ResourceRecord(id=row.id, name=row.name, uri=row.uri, role=row.role,
                          description=row.description)


def execution_record(row: orm.Execution) -> ExecutionRecord:
    return ExecutionRecord(
        id=row.id, name=row.name, workflow_id=row.workflow_id, parent_id=row.parent_id,
        status=Status(row.status), status_message=row.status_message,
        description=row.description, created_at=row.created_at, start_time=row.start_time,
        stop_time=row.stop_time, duration_seconds=row.duration_seconds,
        parameters=row.parameters or {}, metrics=row.metrics or {}, results=row.results,
        watermark=row.watermark, next_watermark=row.next_watermark, host=row.host,
        user=row.user, working_dir=row.working_dir,
        orchestrator=OrchestratorIdentity(
            orchestrator=row.orchestrator, dag_id=row.dag_id, run_id=row.run_id,
            task_id=row.task_id, map_index=row.map_index, try_number=row.try_number,
            flow_run_id=row.flow_run_id, task_run_id=row.task_run_id, run_count=row.run_count),
        history=[StatusChange(seq=h.seq, status=Status(h.status), message=h.message, at=h.at)
                 for h in row.history],
    )


def asset_record(row: orm.Asset) -> AssetRecord:
    return AssetRecord(id=row.id, asset_table=row.asset_table, url=row.url,
                       filename=row.filename, length=row.length, md5=row.md5,
                       sha256=row.sha256, description=row.description,
                       asset_types=sorted(t.type_name for t in row.types),
                       metadata=row.asset_metadata or {})


def edge_record(row: orm.LineageEdge, resource_names: dict[str, str],
                version_hashes: dict[str, str]) -> LineageEdgeRecord:
    ref = None
    if row.resource_id is not None:
        ref = ResourceRef(resource_names[row.resource_id], row.subpath or None)
    return LineageEdgeRecord(
        execution_id=row.execution_id, role=EdgeRole(row.role), valid=row.valid, ref=ref,
        version_hash=version_hashes.get(row.version_id) if row.version_id else None,
        asset_id=row.asset_id, dataset_version_id=row.dataset_version_id)
