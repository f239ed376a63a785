"""Data Workspaces' two lineage rules, checked inside the transaction that records edges.

- **Consistency**: a step must not depend, directly or transitively, on two
  versions of one ref (``LineageConsistencyError``; ``STEPLINEAGE_CONSISTENCY``
  can relax it to a warning or turn it off).
- **Conflict**: two independent steps under one parent must not write
  overlapping refs (``LineageConflictError``).

Example:
    >>> check_consistency(exe, session, edges)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from steplineage.store import orm
from steplineage.errors import LineageConflictError, LineageConsistencyError
from steplineage.ops import EdgeSpec
from steplineage.models import ResourceRef
from steplineage.settings import ConsistencyMode

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution

__all__ = ["check_conflicts", "check_consistency"]

log = logging.getLogger("steplineage")


def check_consistency(exe: Execution, session: Session, edges: list[EdgeSpec]) -> None:
    """Raise if the new input edges depend on two versions of one ref (per settings)."""
    mode = ConsistencyMode(exe.catalog.settings.consistency)
    ids = [e.id for e in edges if e.role in ("input", "code") and e.hash is not None]
    if mode is ConsistencyMode.off or not ids:
        return
    version_ids = list(session.scalars(select(orm.LineageEdge.version_id).where(
        orm.LineageEdge.id.in_(ids))))
    seen: dict[tuple[str, str], set[str]] = {}
    for v in exe.catalog.lineage.upstream_versions(version_ids, session=session):
        seen.setdefault((v.resource_name, v.subpath), set()).add(v.hash)
    clashes = {k: h for k, h in seen.items() if len(h) > 1}
    if not clashes:
        return
    detail = "; ".join(f"{ResourceRef(name, sub or None)} at versions {', '.join(sorted(h))}"
                       for (name, sub), h in sorted(clashes.items()))
    message = (f"execution {exe.id} ({exe.name}): inputs depend on more than one version "
               f"of the same ref: {detail}. Re-run the steps that used the old version, or "
               "set STEPLINEAGE_CONSISTENCY=warn to proceed anyway")
    if mode is ConsistencyMode.warn:
        log.warning(message)
        return
    raise LineageConsistencyError(message)


def check_conflicts(exe: Execution, s: Session, ref: ResourceRef) -> None:
    """Raise if an independent sibling step writes a ref overlapping ``ref``."""
    resource_id = s.scalars(select(orm.Resource.id).where(orm.Resource.name == ref.name)
                            ).one()
    siblings = (select(orm.Execution.id, orm.Execution.name)
                .where(orm.Execution.parent_id == exe.parent_id,
                       orm.Execution.id != exe.id,
                       # another try of the same step is an attempt, not a sibling
                       orm.Execution.name != exe.name,
                       orm.Execution.status.not_in(["failed", "aborted", "skipped"])))
    sibling_names = dict(s.execute(siblings).all())
    if not sibling_names:
        return
    theirs = s.scalars(select(orm.LineageEdge).where(
        orm.LineageEdge.execution_id.in_(sibling_names), orm.LineageEdge.role == "output",
        orm.LineageEdge.resource_id == resource_id)).all()
    my_input_versions = set(s.scalars(select(orm.LineageEdge.version_id).where(
        orm.LineageEdge.execution_id == exe.id, orm.LineageEdge.role == "input")))
    for edge in theirs:
        other = ResourceRef(ref.name, edge.subpath or None)
        if not other.overlaps(ref):
            continue
        # Dependent steps (I read what the sibling wrote) may rewrite the ref.
        if edge.version_id is not None and edge.version_id in my_input_versions:
            continue
        raise LineageConflictError(
            f"step {exe.name!r} ({exe.id}) writes {ref}, which overlaps {other} written by "
            f"independent step {sibling_names[edge.execution_id]!r} ({edge.execution_id}) "
            "under the same parent execution; write to separate subpaths, or make one step "
            "read the other's output")
