"""Pipeline rows (Watcher's pipeline configs) and the watermark a pipeline's runs left.

Example:
    >>> store = Store("sqlite://")
    >>> sync_pipeline(store, PipelineRow("p1", "orders", "", True, "2024-01-01", None),
    ...               keep_active=True).active
    True
    >>> set_pipeline_active(store, "p1", False).active, find_pipeline(store, "x", "p1").active
    (False, False)
    >>> sync_pipeline(store, PipelineRow("p1", "orders", "", True, None, None),
    ...               keep_active=True).active
    False
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from steplineage.ids import utcnow
from steplineage.store import orm
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race

__all__ = ["PipelineRow", "find_pipeline", "last_watermark", "list_pipelines",
           "set_pipeline_active", "sync_pipeline"]


@dataclass(frozen=True)
class PipelineRow:
    """A pipeline as stored: its switch and its watermark settings."""

    id: str
    name: str
    description: str
    active: bool
    default_watermark: str | None
    next_watermark: str | None


def _row(row: orm.Pipeline) -> PipelineRow:
    return PipelineRow(id=row.id, name=row.name, description=row.description,
                       active=row.active, default_watermark=row.default_watermark,
                       next_watermark=row.next_watermark)


def sync_pipeline(store: Store, pipeline: PipelineRow, keep_active: bool) -> PipelineRow:
    """Insert ``pipeline``, or update the stored one to it; the stored state afterwards.

    With ``keep_active`` an existing pipeline keeps its ``active`` flag (an
    operator's switch survives a deploy); a new one gets ``pipeline.active``.
    """
    with store.session() as s:
        row = s.get(orm.Pipeline, pipeline.id)
        if row is None:
            row = orm.Pipeline(id=pipeline.id, name=pipeline.name,
                               description=pipeline.description, active=pipeline.active,
                               default_watermark=pipeline.default_watermark,
                               next_watermark=pipeline.next_watermark)
            if insert_or_lose_race(s, row):
                return _row(row)
            row = s.get(orm.Pipeline, pipeline.id, with_for_update=True)
        assert row is not None
        changes: dict[str, object] = {"description": pipeline.description,
                                      "default_watermark": pipeline.default_watermark,
                                      "next_watermark": pipeline.next_watermark}
        if not keep_active:
            changes["active"] = pipeline.active
        if any(getattr(row, k) != v for k, v in changes.items()):
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        return _row(row)


def find_pipeline(store: Store, *ids: str) -> PipelineRow | None:
    """The pipeline with the first of ``ids`` that is stored, else None."""
    with store.session() as s:
        for key in ids:
            row = s.get(orm.Pipeline, key)
            if row is not None:
                return _row(row)
        return None


def list_pipelines(store: Store) -> list[PipelineRow]:
    """Every pipeline, by name."""
    with store.session() as s:
        return [_row(r) for r in s.scalars(select(orm.Pipeline).order_by(orm.Pipeline.name))]


def set_pipeline_active(store: Store, pipeline_id: str, active: bool) -> PipelineRow | None:
    """Switch pipeline ``pipeline_id`` on or off; its new state, or None if there is none."""
    with store.session() as s:
        row = s.get(orm.Pipeline, pipeline_id)
        if row is None:
            return None
        row.active = active
        row.updated_at = utcnow()
        return _row(row)


def last_watermark(store: Store, workflow: str) -> str | None:
    """The ``next_watermark`` of the newest completed execution of ``workflow`` that set one."""
    with store.session() as s:
        return s.scalars(
            select(orm.Execution.next_watermark).join(orm.Workflow)
            .where(orm.Workflow.name == workflow, orm.Execution.status == "completed",
                   orm.Execution.next_watermark.is_not(None))
            .order_by(orm.Execution.created_at.desc(), orm.Execution.id).limit(1)).first()
