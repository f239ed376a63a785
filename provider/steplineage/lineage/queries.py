"""``cat.lineage``: walks over the catalog's lineage, turned into :class:`LineageGraph`s.

``upstream`` walks against the flow of data (what produced this?),
``downstream`` with it (what did this feed?); never both at once. The walk
itself runs inside the database (:mod:`steplineage.store.lineage`); this
module names nodes, caps the result at ``max_nodes`` (the nodes nearest the
root are kept and the graph says ``partial=True``) and builds the graph.

Example:
    >>> g = cat.lineage.upstream(f"execution:{exe.id}", depth=3)  # doctest: +SKIP
    >>> [n.label for n in g.of_kind("version")]  # doctest: +SKIP
    ['raw:jan.csv']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steplineage.errors import LineageQueryError, NotFoundError
from steplineage.lineage.graph import (NODE_KINDS, LineageGraph, LineageGraphEdge, LineageNode,
                                       node_id, split_node_id)
from steplineage.models import AssetRecord, ExecutionRecord, ResourceRef
from steplineage.store.lineage import LineageReader, UpstreamVersion, reader

if TYPE_CHECKING:
    from steplineage.lineage.impact import ExecutionDiff, StaleExecution
    from steplineage.lineage.ports import LineageCatalog
    from steplineage.store.store import Store

__all__ = ["DEFAULT_MAX_NODES", "Lineage", "NodeSpec", "UpstreamVersion"]

DEFAULT_MAX_NODES = 10_000
#: depth used for "no limit": far beyond any real pipeline, and it ends cycles.
UNBOUNDED_DEPTH = 10_000
# A node is reached by a few rows (one per way in); this many rows per node cap the walk.
_ROWS_PER_NODE = 4

NodeSpec = str | ResourceRef | ExecutionRecord | AssetRecord | Path
_Key = tuple[str, str]  # (kind, catalog id)


class Lineage:
    """Lineage queries over one catalog (``cat.lineage``).

    Args:
        catalog: the facade (or anything with its ``store``, ``resolve_ref`` and
            ``get_resource``, see :class:`~steplineage.lineage.ports.LineageCatalog`).
    """

    def __init__(self, catalog: LineageCatalog):
        self._catalog = catalog

    @property
    def store(self) -> Store:
        """The catalog's store."""
        return self._catalog.store

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

        Example:
            >>> cat.lineage.upstream("results:report.pdf", depth=3).partial  # doctest: +SKIP
            False
        """
        return self._walk("upstream", node, depth, max_nodes, as_of)

    def downstream(self, node: NodeSpec, depth: int | None = None,
                   max_nodes: int = DEFAULT_MAX_NODES, as_of: datetime | None = None
                   ) -> LineageGraph:
        """Everything made from ``node``, up to ``depth`` hops (None: all).

        Example:
            >>> [n.label for n in cat.lineage.downstream(raw).of_kind("execution")]  # doctest: +SKIP
            ['clean', 'train']
        """
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
        with reader(self.store) as q:
            agents = q.agents_of(executions)
        return [LineageNode(id=node_id("agent", aid), kind="agent", label=name,
                            attrs={"agent_kind": kind}) for aid, name, kind in agents]

    def _walk(self, direction: Literal["upstream", "downstream"], node: NodeSpec,
              depth: int | None, max_nodes: int, as_of: datetime | None) -> LineageGraph:
        if max_nodes < 1:
            raise LineageQueryError(f"max_nodes is {max_nodes}: give at least 1 (the root)")
        row_cap = max_nodes * _ROWS_PER_NODE + 1
        with self._at(node) as (q, root):
            kind, catalog_id = split_node_id(root)
            rows = q.walk(direction, kind, catalog_id, row_cap=row_cap, as_of=as_of,
                          max_depth=UNBOUNDED_DEPTH if depth is None else depth)
            partial = len(rows) >= row_cap
            depths: dict[_Key, int] = {}
            for k, cid, d, *_ in rows:
                depths[(k, cid)] = min(d, depths.get((k, cid), d))
            if len(depths) > max_nodes:  # keep the nodes nearest the root
                partial = True
                keep = sorted(depths, key=lambda n: (depths[n], n))[:max_nodes]
                depths = {n: depths[n] for n in keep}
            by_kind: dict[str, list[str]] = {}
            for k, cid in depths:
                by_kind.setdefault(k, []).append(cid)
            details = {k: q.describe(k, ids) for k, ids in by_kind.items()}
        edges: dict[tuple[str, str, str], LineageGraphEdge] = {}
        for k, cid, _, pk, pid, rel in rows:
            if pk is None or (pk, pid) not in depths or (k, cid) not in depths:
                continue
            here, there = f"{pk}:{pid}", f"{k}:{cid}"
            src, dst = (there, here) if direction == "upstream" else (here, there)
            edges[(src, dst, rel)] = LineageGraphEdge(source=src, target=dst,
                                                      relation=rel)  # type: ignore[arg-type]
        return LineageGraph(root=root, direction=direction, nodes=_nodes(depths, details),
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

        return find_stale(self, within)

    def diff(self, execution_a: str, execution_b: str) -> ExecutionDiff:
        """What differs between two executions: parameters, metrics, inputs, code, workflow.

        Example:
            >>> cat.lineage.diff(first.id, second.id).parameters  # doctest: +SKIP
            {'alpha': (0.1, 0.2)}
        """
        from steplineage.lineage.impact import execution_diff

        return execution_diff(self.store, execution_a, execution_b)

    # -- naming nodes -----------------------------------------------------------------

    def resolve_node(self, node: NodeSpec) -> str:
        """The node id (``kind:id``) for any accepted way of naming a node.

        Raises:
            NotFoundError: nothing in the catalog matches.

        Example:
            >>> cat.lineage.resolve_node(sl.ResourceRef("raw", "jan.csv"))  # doctest: +SKIP
            'version:6f1c...'
        """
        with self._at(node) as (_, root):
            return root

    @contextlib.contextmanager
    def _at(self, node: NodeSpec) -> Iterator[tuple[LineageReader, str]]:
        """A reader, and ``node``'s id resolved in its transaction.

        The facade's lookups (paths, resources) come first, outside the transaction.
        """
        if isinstance(node, Path):
            node = self._catalog.resolve_ref(node)
        resource_id = self._catalog.get_resource(node.name).id \
            if isinstance(node, ResourceRef) else None
        with reader(self.store) as q:
            yield q, _resolve(q, node, resource_id)

    def current_version_id(self, ref: ResourceRef) -> str:
        """The id of the version a ref held most recently (last edge that touched it).

        Raises:
            NotFoundError: no execution read or wrote the ref yet.

        Example:
            >>> cat.lineage.current_version_id(sl.ResourceRef("raw", "jan.csv"))  # doctest: +SKIP
            '6f1c...'
        """
        resource_id = self._catalog.get_resource(ref.name).id
        with reader(self.store) as q:
            return _current_version(q, ref, resource_id)

    # -- consistency support --------------------------------------------------------

    def upstream_versions(self, version_ids: Iterable[str]) -> list[UpstreamVersion]:
        """Every ref version the given versions were (transitively) computed from,
        the given versions included.

        Example:
            >>> {v.resource_name for v in cat.lineage.upstream_versions([vid])}  # doctest: +SKIP
            {'raw', 'mid'}
        """
        with reader(self.store) as q:
            return q.upstream_versions(version_ids)


def _resolve(q: LineageReader, node: NodeSpec, resource_id: str | None) -> str:
    if isinstance(node, ExecutionRecord):
        return node_id("execution", node.id)
    if isinstance(node, AssetRecord):
        return node_id("asset", node.id)
    if isinstance(node, ResourceRef):
        assert resource_id is not None
        return node_id("version", _current_version(q, node, resource_id))
    node = str(node)
    try:
        kind, cid = split_node_id(node)
    except LineageQueryError:
        kind, cid = None, node
    for name in NODE_KINDS:
        if (kind is None or kind == name) and q.exists(name, cid):
            return node_id(name, cid)
    raise NotFoundError(f"no lineage node {node!r}: pass 'execution:<id>', 'version:<id>', "
                        "'asset:<id>', 'dataset_version:<id>', 'agent:<id>', a bare id, "
                        "or a ResourceRef")


def _current_version(q: LineageReader, ref: ResourceRef, resource_id: str) -> str:
    found = q.current_version_id(resource_id, ref.subpath)
    if found is None:
        raise NotFoundError(f"{ref} has no recorded version yet: no execution read or "
                            "wrote it")
    return found


def _nodes(depths: dict[_Key, int], details: dict[str, dict[str, dict[str, Any]]]
           ) -> list[LineageNode]:
    """Graph nodes, nearest first, labelled from the catalog's columns."""
    nodes = []
    for (kind, cid), depth in depths.items():
        nid = f"{kind}:{cid}"
        row = details[kind].get(cid)
        label, attrs = _LABELS[kind](row) if row is not None else (nid, {})
        # Built from catalog rows, so already valid: skip pydantic's validation.
        nodes.append(LineageNode.model_construct(id=nid, kind=kind, label=label, depth=depth,
                                                 attrs=attrs))
    return sorted(nodes, key=lambda n: (n.depth, n.kind, n.label, n.id))


def _iso(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``row`` with these datetime columns as ISO text (attrs are JSON-able)."""
    for key in keys:
        if row[key] is not None:
            row[key] = row[key].isoformat()
    return row


# kind -> (label, attrs) from the store's columns for one node (the dict is ours to change)
_LABELS = {
    "execution": lambda r: (r.pop("name"), _iso(r, "created_at", "start_time", "stop_time")),
    "version": lambda r: (str(ResourceRef(r["resource"], r["subpath"])), _iso(r, "created_at")),
    "asset": lambda r: (f"{r['asset_table']}/{r['filename']}", r),
    "dataset_version": lambda r: (f"{r['dataset']} v{r['version']}", _iso(r, "created_at")),
    "agent": lambda r: (r.pop("name"), r),
}
