"""Data Workspaces' two lineage rules, checked inside the transaction that records edges.

- **Consistency**: a step must not depend, directly or transitively, on two
  versions of one ref (``LineageConsistencyError``; ``STEPLINEAGE_CONSISTENCY``
  can relax it to a warning or turn it off).
- **Conflict**: two independent steps under one parent must not write
  overlapping refs (``LineageConflictError``).

They take the writer's session, so they see the edges being recorded; the
lookups are in :mod:`steplineage.store.lineage` and :mod:`steplineage.store.rules`.

Example:
    >>> check_consistency(session, edges, execution_id=exe.id, name=exe.name,
    ...                   mode="error")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from steplineage.errors import LineageConflictError, LineageConsistencyError
from steplineage.models import ResourceRef
from steplineage.settings import ConsistencyMode
from steplineage.store.lineage import LineageReader
from steplineage.store.rules import sibling_writes

if TYPE_CHECKING:
    from steplineage.ops import EdgeSpec
    from steplineage.store.store import Session

__all__ = ["check_conflicts", "check_consistency"]

log = logging.getLogger("steplineage")


def check_consistency(session: Session, edges: list[EdgeSpec], *, execution_id: str, name: str,
                      mode: ConsistencyMode | str) -> None:
    """Raise if the new input edges depend on two versions of one ref (per ``mode``).

    Raises:
        LineageConsistencyError: they do, and ``mode`` is ``error``.
    """
    mode = ConsistencyMode(mode)
    ids = [e.id for e in edges if e.role in ("input", "code") and e.hash is not None]
    if mode is ConsistencyMode.off or not ids:
        return
    q = LineageReader(session)
    seen: dict[tuple[str, str], set[str]] = {}
    for v in q.upstream_versions(v for v in q.edge_version_ids(ids) if v is not None):
        seen.setdefault((v.resource_name, v.subpath), set()).add(v.hash)
    clashes = {k: h for k, h in seen.items() if len(h) > 1}
    if not clashes:
        return
    detail = "; ".join(f"{ResourceRef(res, sub or None)} at versions {', '.join(sorted(h))}"
                       for (res, sub), h in sorted(clashes.items()))
    message = (f"execution {execution_id} ({name}): inputs depend on more than one version "
               f"of the same ref: {detail}. Re-run the steps that used the old version, or "
               "set STEPLINEAGE_CONSISTENCY=warn to proceed anyway")
    if mode is ConsistencyMode.warn:
        log.warning(message)
        return
    raise LineageConsistencyError(message)


def check_conflicts(session: Session, ref: ResourceRef, *, execution_id: str, name: str,
                    parent_id: str | None) -> None:
    """Raise if an independent sibling step writes a ref overlapping ``ref``.

    Raises:
        LineageConflictError: a step beside this one under ``parent_id`` (not
            another try of it) writes an overlapping ref it did not read from.
    """
    found = sibling_writes(session, execution_id, parent_id=parent_id, name=name,
                           resource=ref.name)
    for sibling, subpath, version_id in found.outputs:
        other = ResourceRef(ref.name, subpath)
        if not other.overlaps(ref):
            continue
        # Dependent steps (I read what the sibling wrote) may rewrite the ref.
        if version_id is not None and version_id in found.my_input_versions:
            continue
        raise LineageConflictError(
            f"step {name!r} ({execution_id}) writes {ref}, which overlaps {other} written by "
            f"independent step {found.names[sibling]!r} ({sibling}) "
            "under the same parent execution; write to separate subpaths, or make one step "
            "read the other's output")
