"""Lineage queries answered inside the database, one recursive CTE each.

``upstream`` walks against the flow of data (what produced this?),
``downstream`` with it (what did this feed?); never both at once. The walk is
a recursive CTE whose branches are index lookups on ``lineage_edges``,
``dataset_members`` and ``execution_agents``; SQLite runs them as a compound
recursive select, PostgreSQL as one ``LATERAL`` union. A row cap (LIMIT inside
the recursion) keeps a runaway query bounded; results say ``partial=True``
when it bit.

Example:
    >>> g = cat.lineage.upstream(f"execution:{exe.id}", depth=3)  # doctest: +SKIP
    >>> [n.label for n in g.of_kind("version")]  # doctest: +SKIP
    ['raw:jan.csv']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from steplineage.store import orm
from steplineage.errors import LineageQueryError, NotFoundError
from steplineage.lineage.graph import (CODE_OF_KIND, KIND_CODES, LineageGraph, LineageGraphEdge,
                                       LineageNode, node_id, split_node_id)
from steplineage.models import AssetRecord, ExecutionRecord, ResourceRef

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.lineage.impact import ExecutionDiff, StaleExecution

__all__ = ["DEFAULT_MAX_NODES", "Lineage", "NodeSpec", "UpstreamVersion"]

DEFAULT_MAX_NODES = 10_000
#: depth used for "no limit": far beyond any real pipeline, and it ends cycles.
UNBOUNDED_DEPTH = 10_000
_CHUNK = 500

NodeSpec = str | ResourceRef | ExecutionRecord | AssetRecord | Path

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
        clause = b.condition + (" AND t.created_at <= :as_of" if as_of and b.timed else "")
        return clause

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
    """A ref version found upstream of some nodes."""

    version_id: str
    resource_id: str
    resource_name: str
    subpath: str
    hash: str


# Nodes are (version_id, asset_id) pairs with exactly one set. Inputs of an
# execution are its direct input/code edges plus members of dataset versions it read.
_UPSTREAM_VERSIONS_SQL = """
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


class Lineage:
    """Lineage queries over one catalog (``cat.lineage``)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    # -- walking --------------------------------------------------------------------

    def upstream(self, node: NodeSpec, depth: int | None = None,
                 max_nodes: int = DEFAULT_MAX_NODES, as_of: datetime | None = None
                 ) -> LineageGraph:
        """Everything ``node`` was made from, up to ``depth`` hops (None: all).

        Args:
            node: ``"execution:<id>"``-style node id, a bare catalog id, a
                ResourceRef (its current version), or an execution/asset record.
            depth: hops to walk; None walks to the sources.
            max_nodes: stop after this many nodes and mark the result partial.
            as_of: ignore edges recorded after this moment.
        """
        return self._walk("upstream", node, depth, max_nodes, as_of)

    def downstream(self, node: NodeSpec, depth: int | None = None,
                   max_nodes: int = DEFAULT_MAX_NODES, as_of: datetime | None = None
                   ) -> LineageGraph:
        """Everything made from ``node``, up to ``depth`` hops (None: all)."""
        return self._walk("downstream", node, depth, max_nodes, as_of)

    def contributing_datasets(self, node: NodeSpec, depth: int | None = None
                              ) -> list[LineageNode]:
        """Data (ref versions, assets, dataset versions) upstream of ``node`` (Provena)."""
        graph = self.upstream(node, depth)
        return [n for n in graph.of_kind("version", "asset", "dataset_version")
                if n.id != graph.root]

    def affected_datasets(self, node: NodeSpec, depth: int | None = None) -> list[LineageNode]:
        """Data downstream of ``node``: what a bad input or a bad step has touched."""
        graph = self.downstream(node, depth)
        return [n for n in graph.of_kind("version", "asset", "dataset_version")
                if n.id != graph.root]

    def contributing_agents(self, node: NodeSpec, depth: int | None = None
                            ) -> list[LineageNode]:
        """People, organisations and services whose executions led to ``node``."""
        return self.upstream(node, depth).of_kind("agent")

    def affected_agents(self, node: NodeSpec, depth: int | None = None) -> list[LineageNode]:
        """Agents associated with executions downstream of ``node``."""
        graph = self.downstream(node, depth)
        executions = [n.catalog_id for n in graph.of_kind("execution")]
        if not executions:
            return []
        with self.catalog.session() as s:
            rows = s.execute(select(orm.Agent).join(
                orm.ExecutionAgent, orm.ExecutionAgent.agent_id == orm.Agent.id).where(
                orm.ExecutionAgent.execution_id.in_(executions)).distinct()).scalars().all()
            return [LineageNode(id=node_id("agent", a.id), kind="agent", label=a.name,
                                attrs={"agent_kind": a.kind}) for a in rows]

    def _walk(self, direction: Literal["upstream", "downstream"], node: NodeSpec,
              depth: int | None, max_nodes: int, as_of: datetime | None) -> LineageGraph:
        if max_nodes < 1:
            raise LineageQueryError(f"max_nodes is {max_nodes}: give at least 1 (the root)")
        root = self.resolve_node(node)
        kind, catalog_id = split_node_id(root)
        branches = _UPSTREAM if direction == "upstream" else _DOWNSTREAM
        sql = _walk_sql(self.catalog.engine.dialect.name, branches, as_of is not None)
        row_cap = max_nodes * 4 + 1
        params: dict[str, Any] = {"kind": CODE_OF_KIND[kind], "id": catalog_id,
                                  "max_depth": UNBOUNDED_DEPTH if depth is None else depth,
                                  "row_cap": row_cap, "true": True}
        if as_of is not None:
            params["as_of"] = as_of
        with self.catalog.session() as s:
            rows = s.execute(text(sql), params).all()
            partial = len(rows) >= row_cap
            depths: dict[str, int] = {}
            for code, cid, d, *_ in rows:
                nid = node_id(KIND_CODES[code], cid)
                depths[nid] = min(d, depths.get(nid, d))
            if len(depths) > max_nodes:
                partial = True
                keep = sorted(depths, key=lambda n: (depths[n], n))[:max_nodes]
                depths = {n: depths[n] for n in keep}
            edges: dict[tuple[str, str, str], LineageGraphEdge] = {}
            for code, cid, _, pcode, pid, rel in rows:
                if pcode is None:
                    continue
                here, there = node_id(KIND_CODES[pcode], pid), node_id(KIND_CODES[code], cid)
                if here not in depths or there not in depths:
                    continue
                src, dst = (there, here) if direction == "upstream" else (here, there)
                edges[(src, dst, rel)] = LineageGraphEdge(source=src, target=dst, relation=rel)
            nodes = self._describe(s, depths)
        return LineageGraph(root=root, direction=direction, nodes=nodes,
                            edges=list(edges.values()), partial=partial)

    # -- impact -----------------------------------------------------------------------

    def stale(self, within: Iterable[str] | None = None) -> list[StaleExecution]:
        """Latest runs that read a version that is no longer current, with re-run chains.

        ``within`` limits the stale roots to these execution ids (a graph on screen).

        Example:
            >>> [s.name for s in cat.lineage.stale()]  # doctest: +SKIP
            ['clean']
        """
        from steplineage.lineage.impact import find_stale

        return find_stale(self.catalog, within)

    def diff(self, execution_a: str, execution_b: str) -> ExecutionDiff:
        """What differs between two executions: parameters, metrics, inputs, code, workflow."""
        from steplineage.lineage.impact import execution_diff

        return execution_diff(self.catalog, execution_a, execution_b)

    # -- node details ---------------------------------------------------------------

    def _describe(self, s: Session, depths: dict[str, int]) -> list[LineageNode]:
        by_kind: dict[str, list[str]] = {}
        for nid in depths:
            kind, cid = split_node_id(nid)
            by_kind.setdefault(kind, []).append(cid)
        described: dict[str, tuple[str, dict[str, Any]]] = {}
        for kind, ids in by_kind.items():
            for chunk in _chunks(ids):
                described.update(_DESCRIBERS[kind](s, chunk))
        nodes = []
        for nid, depth in depths.items():
            kind, _ = split_node_id(nid)
            label, attrs = described.get(nid, (nid, {}))
            # Built from catalog rows, so already valid: skip pydantic's validation.
            nodes.append(LineageNode.model_construct(id=nid, kind=kind, label=label,
                                                     depth=depth, attrs=attrs))
        return sorted(nodes, key=lambda n: (n.depth, n.kind, n.label, n.id))

    def resolve_node(self, node: NodeSpec) -> str:
        """The node id (``kind:id``) for any accepted way of naming a node.

        Raises:
            NotFoundError: nothing in the catalog matches.
        """
        if isinstance(node, ExecutionRecord):
            return node_id("execution", node.id)
        if isinstance(node, AssetRecord):
            return node_id("asset", node.id)
        if isinstance(node, Path):
            node = self.catalog.resolve_ref(node)
        if isinstance(node, ResourceRef):
            return node_id("version", self.current_version_id(node))
        try:
            kind, cid = split_node_id(node)
        except LineageQueryError:
            kind, cid = None, node
        tables = {"execution": orm.Execution, "version": orm.Version, "asset": orm.Asset,
                  "dataset_version": orm.DatasetVersion, "agent": orm.Agent}
        with self.catalog.session() as s:
            for name, table in tables.items():
                if (kind is None or kind == name) and s.get(table, cid) is not None:
                    return node_id(name, cid)
        raise NotFoundError(f"no lineage node {node!r}: pass 'execution:<id>', 'version:<id>', "
                            "'asset:<id>', 'dataset_version:<id>', 'agent:<id>', a bare id, "
                            "or a ResourceRef")

    def current_version_id(self, ref: ResourceRef) -> str:
        """The id of the version a ref held most recently (last edge that touched it)."""
        resource = self.catalog.get_resource(ref.name)
        with self.catalog.session() as s:
            found = s.scalars(
                select(orm.LineageEdge.version_id)
                .where(orm.LineageEdge.resource_id == resource.id,
                       orm.LineageEdge.subpath == (ref.subpath or ""),
                       orm.LineageEdge.version_id.is_not(None))
                .order_by(orm.LineageEdge.created_at.desc()).limit(1)).first()
        if found is None:
            raise NotFoundError(f"{ref} has no recorded version yet: no execution read or "
                                "wrote it")
        return found

    # -- consistency support --------------------------------------------------------

    def upstream_versions(self, version_ids: Iterable[str],
                          session: Session | None = None) -> list[UpstreamVersion]:
        """Every ref version the given versions were (transitively) computed from,
        the given versions included.

        Pass ``session`` to see rows of a transaction that is not committed yet.
        """
        ids = list(dict.fromkeys(version_ids))
        if not ids:
            return []
        stmt = text(_UPSTREAM_VERSIONS_SQL).bindparams(bindparam("version_ids", expanding=True))
        params = {"version_ids": ids, "true": True}
        if session is not None:
            rows = session.execute(stmt, params).all()
        else:
            with self.catalog.session() as s:
                rows = s.execute(stmt, params).all()
        return [UpstreamVersion(r[0], r[1], r[4], r[2], r[3]) for r in rows]


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# Plain column rows, not ORM objects: a 10,000-node graph describes its nodes in a
# fraction of the time (no identity map, no JSON columns it does not show).
_EXECUTION_COLUMNS = [orm.Execution.id, orm.Execution.name, orm.Execution.status,
                      orm.Execution.created_at, orm.Execution.start_time,
                      orm.Execution.stop_time, orm.Execution.duration_seconds,
                      orm.Execution.workflow_id, orm.Execution.parent_id, orm.Execution.dag_id,
                      orm.Execution.run_id, orm.Execution.task_id, orm.Execution.map_index,
                      orm.Execution.try_number, orm.Execution.flow_run_id,
                      orm.Execution.task_run_id]


def _describe_executions(s: Session, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    for e in s.execute(select(*_EXECUTION_COLUMNS).where(orm.Execution.id.in_(ids))):
        out[node_id("execution", e.id)] = (e.name, {
            "status": e.status, "created_at": _iso(e.created_at),
            "start_time": _iso(e.start_time), "stop_time": _iso(e.stop_time),
            "duration_seconds": e.duration_seconds, "workflow_id": e.workflow_id,
            "parent_id": e.parent_id, "dag_id": e.dag_id, "run_id": e.run_id,
            "task_id": e.task_id, "map_index": e.map_index, "try_number": e.try_number,
            "flow_run_id": e.flow_run_id, "task_run_id": e.task_run_id})
    return out


def _describe_versions(s: Session, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    rows = s.execute(select(orm.Version.id, orm.Version.subpath, orm.Version.hash,
                            orm.Version.kind, orm.Version.length, orm.Version.created_at,
                            orm.Resource.name).join(
        orm.Resource, orm.Resource.id == orm.Version.resource_id).where(orm.Version.id.in_(ids)))
    for v in rows:
        name = v.name
        ref = ResourceRef(name, v.subpath or None)
        out[node_id("version", v.id)] = (str(ref), {
            "resource": name, "subpath": v.subpath or None, "hash": v.hash,
            "hash_kind": v.kind, "length": v.length, "created_at": _iso(v.created_at)})
    return out


def _describe_assets(s: Session, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    for a in s.scalars(select(orm.Asset).where(orm.Asset.id.in_(ids))):
        out[node_id("asset", a.id)] = (f"{a.asset_table}/{a.filename}", {
            "asset_table": a.asset_table, "filename": a.filename, "sha256": a.sha256,
            "md5": a.md5, "length": a.length, "url": a.url,
            "asset_types": sorted(t.type_name for t in a.types)})
    return out


def _describe_dataset_versions(s: Session, ids: list[str]
                               ) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    rows = s.execute(select(orm.DatasetVersion, orm.Dataset.name).join(
        orm.Dataset, orm.Dataset.id == orm.DatasetVersion.dataset_id).where(
        orm.DatasetVersion.id.in_(ids)))
    for dv, name in rows:
        out[node_id("dataset_version", dv.id)] = (f"{name} v{dv.version}", {
            "dataset": name, "version": dv.version, "created_at": _iso(dv.created_at)})
    return out


def _describe_agents(s: Session, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {node_id("agent", a.id): (a.name, {"agent_kind": a.kind})
            for a in s.scalars(select(orm.Agent).where(orm.Agent.id.in_(ids)))}


_DESCRIBERS = {"execution": _describe_executions, "version": _describe_versions,
               "asset": _describe_assets, "dataset_version": _describe_dataset_versions,
               "agent": _describe_agents}
