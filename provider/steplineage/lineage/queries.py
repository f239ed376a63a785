"""Lineage queries answered inside the database with recursive CTEs.

A node is a ref version or an asset. Going *upstream* from a node: the
executions that wrote it (valid output edges), then everything those
executions read (input and code edges, including the members of dataset
versions they read), and so on.

Example:
    >>> cat.lineage.upstream_versions([version_id])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["Lineage", "UpstreamVersion"]

# Nodes are (version_id, asset_id) pairs with exactly one set. Inputs of an
# execution are its direct input/code edges plus members of dataset versions it read.
_UPSTREAM_SQL = """
WITH RECURSIVE
exe_inputs(execution_id, version_id, asset_id) AS (
    SELECT e.execution_id, e.version_id, e.asset_id FROM lineage_edges e
     WHERE e.role IN ('input', 'code') AND (e.version_id IS NOT NULL OR e.asset_id IS NOT NULL)
    UNION ALL
    SELECT e.execution_id, m.version_id, m.asset_id FROM lineage_edges e
      JOIN dataset_members m ON m.dataset_version_id = e.dataset_version_id
     WHERE e.role = 'input'
),
up(version_id, asset_id) AS (
    SELECT v.id, CAST(NULL AS VARCHAR(36)) FROM versions v WHERE v.id IN :version_ids
    UNION
    SELECT i.version_id, i.asset_id FROM up
      JOIN lineage_edges o ON o.role = 'output' AND o.valid = :true
           AND (o.version_id = up.version_id OR o.asset_id = up.asset_id)
      JOIN exe_inputs i ON i.execution_id = o.execution_id
)
SELECT v.id, v.resource_id, v.subpath, v.hash, r.name
  FROM up JOIN versions v ON v.id = up.version_id JOIN resources r ON r.id = v.resource_id
"""


@dataclass(frozen=True)
class UpstreamVersion:
    """A ref version found upstream of some nodes."""

    version_id: str
    resource_id: str
    resource_name: str
    subpath: str
    hash: str


class Lineage:
    """Lineage queries over one catalog (``cat.lineage``)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def upstream_versions(self, version_ids: Iterable[str],
                          session: Session | None = None) -> list[UpstreamVersion]:
        """Every ref version the given versions were (transitively) computed from,
        the given versions included.

        Pass ``session`` to see rows of a transaction that is not committed yet.
        """
        ids = list(dict.fromkeys(version_ids))
        if not ids:
            return []
        stmt = text(_UPSTREAM_SQL).bindparams(bindparam("version_ids", expanding=True))
        params = {"version_ids": ids, "true": True}
        if session is not None:
            rows = session.execute(stmt, params).all()
        else:
            with self.catalog.session() as s:
                rows = s.execute(stmt, params).all()
        return [UpstreamVersion(r[0], r[1], r[4], r[2], r[3]) for r in rows]
