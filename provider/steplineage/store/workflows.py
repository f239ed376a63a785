"""Workflow rows: the code that executions run.

Example:
    >>> from steplineage.models import WorkflowRecord
    >>> store = Store("sqlite://")
    >>> rec = WorkflowRecord(id="w1", name="etl", workflow_type="script")
    >>> insert_workflow(store, rec).name, find_workflow(store, "etl").id
    ('etl', 'w1')
"""

from __future__ import annotations

from sqlalchemy import select, update

from steplineage.models import WorkflowRecord
from steplineage.store import orm
from steplineage.store.records import workflow_record
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race

__all__ = ["find_workflow", "insert_workflow", "set_workflow_active"]


def insert_workflow(store: Store, rec: WorkflowRecord) -> WorkflowRecord:
    """Insert ``rec`` unless its id exists (ids are deterministic); the stored record."""
    with store.session() as s:
        row = s.get(orm.Workflow, rec.id)
        if row is None:
            row = orm.Workflow(**rec.model_dump())
            if not insert_or_lose_race(s, row):
                row = s.get(orm.Workflow, rec.id)
        return workflow_record(row)


def find_workflow(store: Store, name_or_id: str) -> WorkflowRecord | None:
    """The workflow with this id, else the newest one with this name, else None."""
    with store.session() as s:
        row = s.get(orm.Workflow, name_or_id) or s.scalars(
            select(orm.Workflow).where(orm.Workflow.name == name_or_id)
            .order_by(orm.Workflow.created_at.desc()).limit(1)).first()
        return None if row is None else workflow_record(row)


def set_workflow_active(store: Store, name: str, active: bool) -> int:
    """Switch every version of workflow ``name`` on or off; how many rows there are."""
    with store.session() as s:
        return s.execute(update(orm.Workflow).where(orm.Workflow.name == name)
                         .values(active=active)).rowcount
