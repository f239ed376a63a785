"""The lineage SQL: walks as recursive CTEs, node details, and the lookups around them.

A walk goes against the flow of data (``upstream``: what produced this?) or
with it (``downstream``: what did this feed?). It is a recursive CTE whose
branches are index lookups on ``lineage_edges``, ``dataset_members`` and
``execution_agents``; SQLite runs them as a compound recursive select,
PostgreSQL as one ``LATERAL`` union. A row cap (LIMIT inside the recursion)
keeps a runaway query bounded. What the rows mean (node ids, caps, graphs) is
:mod:`steplineage.lineage.queries`' business; this module returns plain tuples,
dicts and frozen dataclasses.

Example:
    >>> from steplineage.store.store import Store
    >>> with reader(Store("sqlite://")) as q:
    ...     q.walk("upstream", "execution", "e1", max_depth=3, row_cap=100, as_of=None)
    [('execution', 'e1', 0, None, None, None)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from steplineage.store import orm
from steplineage.store.engine import chunks

if TYPE_CHECKING:
    from steplineage.store.store import Store

__all__ = ["NODE_TABLES", "LineageReader", "UpstreamVersion", "WalkRow", "reader"]

#: (kind, id, depth, parent kind, parent id, relation); the root's parent fields are None.
WalkRow = tuple[str, str, int, str | None, str | None, str | None]

# One-letter kind codes inside the walk's SQL, so the recursion carries short strings.
_KINDS = {"e": "execution", "v": "version", "a": "asset", "d": "dataset_version", "g": "agent"}
_CODES = {kind: code for code, kind in _KINDS.items()}

_KIND_CASE = ("CASE WHEN t.version_id IS NOT NULL THEN 'v' WHEN t.asset_id IS NOT NULL THEN 'a' "
              "ELSE 'd' END")
_ID_COALESCE = "COALESCE(t.version_id, t.asset_id, t.dataset_version_id)"
_MEMBER_KIND = "CASE WHEN t.version_id IS NOT NULL THEN 'v' ELSE 'a' END"


@dataclass(frozen=True)
class _Branch:
    """One step of the walk: from a node of kind ``from_code`` through ``table``."""

    from_code: str
    table: str
    condition: str  # may use t (the table) and w (the walk row)
    to_code: str  # SQL expression
    to_id: str
    relation: str  # SQL expression
    timed: bool = True  # the table has created_at, so "as of" applies


_UPSTREAM = (
    _Branch("v", "lineage_edges", "t.version_id = w.id AND t.role = 'output' AND t.valid = :true",
            "'e'", "t.execution_id", "'generated'"),
    _Branch("a", "lineage_edges", "t.asset_id = w.id AND t.role = 'output' AND t.valid = :true",
            "'e'", "t.execution_id", "'generated'"),
    _Branch("e", "lineage_edges", "t.execution_id = w.id AND t.role IN ('input', 'code')",
            _KIND_CASE, _ID_COALESCE, "CASE WHEN t.role = 'code' THEN 'code' ELSE 'used' END"),
    _Branch("e", "execution_agents", "t.execution_id = w.id", "'g'", "t.agent_id",
            "'associated'", timed=False),
    _Branch("d", "dataset_members", "t.dataset_version_id = w.id", _MEMBER_KIND,
            "COALESCE(t.version_id, t.asset_id)", "'member'", timed=False),
)

_DOWNSTREAM = (
    _Branch("v", "lineage_edges", "t.version_id = w.id AND t.role IN ('input', 'code')",
            "'e'", "t.execution_id", "CASE WHEN t.role = 'code' THEN 'code' ELSE 'used' END"),
    _Branch("a", "lineage_edges", "t.asset_id = w.id AND t.role = 'input'", "'e'",
            "t.execution_id", "'used'"),
    _Branch("d", "lineage_edges", "t.dataset_version_id = w.id AND t.role = 'input'", "'e'",
            "t.execution_id", "'used'"),
    _Branch("e", "lineage_edges", "t.execution_id = w.id AND t.role = 'output' AND "
            "t.valid = :true AND (t.version_id IS NOT NULL OR t.asset_id IS NOT NULL)",
            _KIND_CASE, _ID_COALESCE, "'generated'"),
    _Branch("v", "dataset_members", "t.version_id = w.id", "'d'", "t.dataset_version_id",
            "'member'", timed=False),
    _Branch("a", "dataset_members", "t.asset_id = w.id", "'d'", "t.dataset_version_id",
            "'member'", timed=False),
    _Branch("g", "execution_agents", "t.agent_id = w.id", "'e'", "t.execution_id",
            "'associated'", timed=False),
)

_COLUMNS = "kind, id, depth, pkind, pid, rel"


def _walk_sql(dialect: str, branches: Sequence[_Branch], as_of: bool) -> str:
    """The recursive CTE for one direction, in the form ``dialect`` accepts."""

    def where(b: _Branch) -> str:
        return b.condition + (" AND t.created_at <= :as_of" if as_of and b.timed else "")

    seed = ("SELECT CAST(:kind AS TEXT), CAST(:id AS TEXT), 0, CAST(NULL AS TEXT), "
            "CAST(NULL AS TEXT), CAST(NULL AS TEXT)")
    if dialect == "postgresql":
        # PostgreSQL allows one reference to the CTE in the recursive term: LATERAL union.
        arms = " UNION ALL ".join(
            f"SELECT {b.to_code} AS kind, {b.to_id} AS id, {b.relation} AS rel FROM {b.table} t "
            f"WHERE w.kind = '{b.from_code}' AND {where(b)}" for b in branches)
        recursive = (f"SELECT CAST(s.kind AS TEXT), CAST(s.id AS TEXT), w.depth + 1, w.kind, "
                     f"w.id, CAST(s.rel AS TEXT) FROM walk w CROSS JOIN LATERAL ({arms}) s "
                     "WHERE w.depth < :max_depth")
        return (f"WITH RECURSIVE walk({_COLUMNS}) AS ({seed} UNION {recursive}) "
                f"SELECT {_COLUMNS} FROM walk LIMIT :row_cap")
    # SQLite (>= 3.34) runs several recursive selects; LIMIT inside stops the recursion.
    arms = " UNION ".join(
        f"SELECT {b.to_code}, {b.to_id}, w.depth + 1, w.kind, w.id, {b.relation} "
        f"FROM walk w JOIN {b.table} t ON {where(b)} "
        f"WHERE w.kind = '{b.from_code}' AND w.depth < :max_depth" for b in branches)
    return (f"WITH RECURSIVE walk({_COLUMNS}) AS ({seed} UNION {arms} LIMIT :row_cap) "
            f"SELECT {_COLUMNS} FROM walk")


@dataclass(frozen=True)
class UpstreamVersion:
    """A ref version found upstream of some nodes (``subpath`` is '' for a whole resource)."""

    version_id: str
    resource_id: str
    resource_name: str
    subpath: str
    hash: str


# Nodes are (version_id, asset_id) pairs with exactly one set. Inputs of an
# execution are its direct input/code edges plus members of dataset versions it read.
_UPSTREAM_VERSIONS_SQL = text("""
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
""").bindparams(bindparam("version_ids", expanding=True))

#: node kind -> the table holding nodes of that kind
NODE_TABLES: dict[str, type[orm.Base]] = {
    "execution": orm.Execution, "version": orm.Version, "asset": orm.Asset,
    "dataset_version": orm.DatasetVersion, "agent": orm.Agent}

# Plain column rows, not ORM objects: a 10,000-node graph describes its nodes in a
# fraction of the time (no identity map, no JSON columns it does not show).
_EXECUTION_COLUMNS = (orm.Execution.name, orm.Execution.status, orm.Execution.created_at,
                      orm.Execution.start_time, orm.Execution.stop_time,
                      orm.Execution.duration_seconds, orm.Execution.workflow_id,
                      orm.Execution.parent_id, orm.Execution.dag_id, orm.Execution.run_id,
                      orm.Execution.task_id, orm.Execution.map_index, orm.Execution.try_number,
                      orm.Execution.flow_run_id, orm.Execution.task_run_id)


class LineageReader:
    """Lineage lookups inside one transaction (see :func:`reader`).

    Built on a session the caller already holds when the answer must see rows
    it has not committed yet (the consistency rule).
    """

    def __init__(self, session: Session):
        self._s = session

    def walk(self, direction: Literal["upstream", "downstream"], kind: str, node: str, *,
             max_depth: int, row_cap: int, as_of: datetime | None) -> list[WalkRow]:
        """Every (node, parent, relation) step of a walk from ``kind``/``node``, at most
        ``row_cap`` rows; a node reached several ways appears once per way."""
        branches = _UPSTREAM if direction == "upstream" else _DOWNSTREAM
        dialect = self._s.get_bind().dialect.name
        params: dict[str, Any] = {"kind": _CODES[kind], "id": node, "max_depth": max_depth,
                                  "row_cap": row_cap, "true": True}
        if as_of is not None:
            params["as_of"] = as_of
        rows = self._s.execute(text(_walk_sql(dialect, branches, as_of is not None)), params)
        kinds = _KINDS
        return [(kinds[c], cid, d, kinds.get(pc), pid, rel)  # type: ignore[call-overload]
                for c, cid, d, pc, pid, rel in rows]

    def describe(self, kind: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Columns worth showing for nodes of one kind, by id (missing ids are left out).

        execution: name, status, times, workflow/parent/orchestrator ids;
        version: resource, subpath (None for a whole resource), hash, hash_kind,
        length, created_at; asset: asset_table, filename, sha256, md5, length,
        url, asset_types; dataset_version: dataset, version, created_at; agent:
        name, agent_kind.
        """
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(ids):
            out.update(_DESCRIBERS[kind](self._s, chunk))
        return out

    def exists(self, kind: str, node: str) -> bool:
        """True when the ``kind`` table has a row with id ``node``."""
        table = NODE_TABLES[kind]
        return self._s.execute(select(table.id).where(table.id == node)).first() is not None

    def current_version_id(self, resource_id: str, subpath: str | None) -> str | None:
        """The version in the most recent edge that touched a ref (None: never touched)."""
        return self._s.scalars(
            select(orm.LineageEdge.version_id)
            .where(orm.LineageEdge.resource_id == resource_id,
                   orm.LineageEdge.subpath == (subpath or ""),
                   orm.LineageEdge.version_id.is_not(None))
            .order_by(orm.LineageEdge.created_at.desc()).limit(1)).first()

    def agents_of(self, execution_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(id, name, kind) of the agents linked to any of these executions, once each."""
        found: dict[str, tuple[str, str, str]] = {}
        for chunk in chunks(execution_ids):
            rows = self._s.execute(
                select(orm.Agent.id, orm.Agent.name, orm.Agent.kind).join(
                    orm.ExecutionAgent, orm.ExecutionAgent.agent_id == orm.Agent.id)
                .where(orm.ExecutionAgent.execution_id.in_(chunk)))
            found.update((r.id, (r.id, r.name, r.kind)) for r in rows)
        return list(found.values())

    def upstream_versions(self, version_ids: Iterable[str]) -> list[UpstreamVersion]:
        """Every ref version the given versions were (transitively) computed from,
        the given versions included."""
        ids = list(dict.fromkeys(version_ids))
        if not ids:
            return []
        rows = self._s.execute(_UPSTREAM_VERSIONS_SQL, {"version_ids": ids, "true": True})
        return [UpstreamVersion(r[0], r[1], r[4], r[2], r[3]) for r in rows]

    def edge_version_ids(self, edge_ids: Sequence[str]) -> list[str | None]:
        """The version ids of these edges (None for an edge to an asset or dataset)."""
        return list(self._s.scalars(select(orm.LineageEdge.version_id).where(
            orm.LineageEdge.id.in_(edge_ids))))


@contextlib.contextmanager
def reader(store: Store) -> Iterator[LineageReader]:
    """A :class:`LineageReader` on one transaction of ``store`` (one consistent snapshot).

    Example:
        >>> with reader(store) as q:  # doctest: +SKIP
        ...     q.exists("execution", exe.id)
        True
    """
    with store.session() as s:
        yield LineageReader(s)


def _describe_executions(s: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    keys = [c.key for c in _EXECUTION_COLUMNS]
    rows = s.execute(select(orm.Execution.id, *_EXECUTION_COLUMNS)
                     .where(orm.Execution.id.in_(ids)))
    return {r[0]: dict(zip(keys, r[1:])) for r in rows}


def _describe_versions(s: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = s.execute(select(orm.Version.id, orm.Resource.name, orm.Version.subpath,
                            orm.Version.hash, orm.Version.kind, orm.Version.length,
                            orm.Version.created_at)
                     .join(orm.Resource, orm.Resource.id == orm.Version.resource_id)
                     .where(orm.Version.id.in_(ids)))
    return {vid: {"resource": name, "subpath": subpath or None, "hash": hash_,
                  "hash_kind": kind, "length": length, "created_at": created_at}
            for vid, name, subpath, hash_, kind, length, created_at in rows}


def _describe_assets(s: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    types: dict[str, list[str]] = {}
    for asset_id, type_name in s.execute(
            select(orm.AssetTypeLink.asset_id, orm.AssetTypeLink.type_name)
            .where(orm.AssetTypeLink.asset_id.in_(ids))):
        types.setdefault(asset_id, []).append(type_name)
    rows = s.execute(select(orm.Asset.id, orm.Asset.asset_table, orm.Asset.filename,
                            orm.Asset.sha256, orm.Asset.md5, orm.Asset.length, orm.Asset.url)
                     .where(orm.Asset.id.in_(ids)))
    return {r.id: {"asset_table": r.asset_table, "filename": r.filename, "sha256": r.sha256,
                   "md5": r.md5, "length": r.length, "url": r.url,
                   "asset_types": sorted(types.get(r.id, ()))} for r in rows}


def _describe_dataset_versions(s: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = s.execute(select(orm.DatasetVersion.id, orm.Dataset.name, orm.DatasetVersion.version,
                            orm.DatasetVersion.created_at)
                     .join(orm.Dataset, orm.Dataset.id == orm.DatasetVersion.dataset_id)
                     .where(orm.DatasetVersion.id.in_(ids)))
    return {dv_id: {"dataset": name, "version": version, "created_at": created_at}
            for dv_id, name, version, created_at in rows}


def _describe_agents(s: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = s.execute(select(orm.Agent.id, orm.Agent.name, orm.Agent.kind)
                     .where(orm.Agent.id.in_(ids)))
    return {aid: {"name": name, "agent_kind": kind} for aid, name, kind in rows}


_DESCRIBERS = {"execution": _describe_executions, "version": _describe_versions,
               "asset": _describe_assets, "dataset_version": _describe_dataset_versions,
               "agent": _describe_agents}
