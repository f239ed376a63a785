"""The lookups behind the conflict rule, run in the transaction that records the edges.

:mod:`steplineage.tracking.rules` decides; this module only reads. The
consistency rule's walk is :meth:`~steplineage.store.lineage.LineageReader.upstream_versions`.

Example:
    >>> from steplineage.store.store import Store
    >>> with Store("sqlite://").session() as s:
    ...     sibling_writes(s, "e2", parent_id="e1", name="clean", resource="raw")
    SiblingWrites(names={}, outputs=(), my_input_versions=frozenset())
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from steplineage.store import orm

__all__ = ["SiblingWrites", "sibling_writes"]


@dataclass(frozen=True)
class SiblingWrites:
    """What the other live steps under one parent write to one resource."""

    names: dict[str, str]  # sibling execution id -> step name
    outputs: tuple[tuple[str, str | None, str | None], ...]  # (execution id, subpath, version id)
    my_input_versions: frozenset[str]  # versions the step itself read


def sibling_writes(session: Session, execution_id: str, *, parent_id: str | None, name: str,
                   resource: str) -> SiblingWrites:
    """Outputs to ``resource`` of the steps beside ``execution_id`` under ``parent_id``.

    Siblings are the other executions under the same parent that did not fail,
    abort or skip; another try of the same step (same name) is an attempt, not
    a sibling.
    """
    siblings = (select(orm.Execution.id, orm.Execution.name)
                .where(orm.Execution.parent_id == parent_id,
                       orm.Execution.id != execution_id,
                       orm.Execution.name != name,
                       orm.Execution.status.not_in(["failed", "aborted", "skipped"])))
    names = {eid: ename for eid, ename in session.execute(siblings)}
    if not names:
        return SiblingWrites({}, (), frozenset())
    edge = orm.LineageEdge
    outputs = session.execute(
        select(edge.execution_id, edge.subpath, edge.version_id)
        .join(orm.Resource, orm.Resource.id == edge.resource_id)
        .where(edge.execution_id.in_(names), edge.role == "output",
               orm.Resource.name == resource)
        .order_by(edge.created_at, edge.id)).all()
    mine = session.scalars(select(edge.version_id).where(
        edge.execution_id == execution_id, edge.role == "input", edge.version_id.is_not(None)))
    return SiblingWrites(names, tuple((e, sub or None, v) for e, sub, v in outputs),
                         frozenset(mine))
