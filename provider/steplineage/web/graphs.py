"""The lineage graphs the web app draws: one node's, one DAG run's, redacted for a viewer.

The walks are ``cat.lineage``'s and the ids to start from ``cat.views``'; this
module only merges the walks, caps the result and hides what the viewer may
not read. No SQL here.

Example:
    >>> graph = lineage_graph(cat, "execution:5b84...", "both", depth=2, max_nodes=500)  # doctest: +SKIP
    >>> graph, hidden = redact(graph, viewer)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from steplineage.errors import NotFoundError
from steplineage.lineage.graph import LineageGraph, LineageGraphEdge, LineageNode

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.web.access import Viewer

__all__ = ["HIDDEN_LABEL", "lineage_graph", "merge_graphs", "redact", "run_graph"]

Direction = Literal["upstream", "downstream", "both"]
HIDDEN_LABEL = "hidden execution"
#: children of one execution whose lineage is merged into its own (bounded: a huge
#: mapped task would otherwise mean thousands of walks per request).
_MAX_CHILDREN = 200


def merge_graphs(graphs: Iterable[LineageGraph], root: str | None = None) -> LineageGraph:
    """The union of several graphs (nodes at their smallest depth, edges once).

    Example:
        >>> merge_graphs([cat.lineage.upstream(n, 1), cat.lineage.downstream(n, 1)], n)  # doctest: +SKIP
    """
    nodes: dict[str, LineageNode] = {}
    edges: dict[tuple[str, str, str], LineageGraphEdge] = {}
    partial = False
    for g in graphs:
        partial = partial or g.partial
        for n in g.nodes:
            if n.id not in nodes or n.depth < nodes[n.id].depth:
                nodes[n.id] = n
        for e in g.edges:
            edges[(e.source, e.target, e.relation)] = e
    ordered = sorted(nodes.values(), key=lambda n: (n.depth, n.kind, n.label, n.id))
    return LineageGraph(root=root, direction="both", nodes=ordered, edges=list(edges.values()),
                        partial=partial)


def _cap(graph: LineageGraph, max_nodes: int) -> LineageGraph:
    """At most ``max_nodes`` nodes (nearest first); partial when some were dropped."""
    if len(graph.nodes) <= max_nodes:
        return graph
    keep = {n.id for n in graph.nodes[:max_nodes]}
    return graph.model_copy(update={
        "nodes": [n for n in graph.nodes if n.id in keep],
        "edges": [e for e in graph.edges if e.source in keep and e.target in keep],
        "partial": True})


def lineage_graph(cat: Catalog, node: str, direction: Direction, depth: int | None,
                  max_nodes: int) -> LineageGraph:
    """The lineage of one node in one direction, or both merged.

    An execution with children (a DAG run, a pipeline) has no data edges of its
    own; its lineage is its steps', so the children's walks are merged in.

    Raises:
        NotFoundError: no such node.

    Example:
        >>> lineage_graph(cat, "results:report.pdf", "upstream", 3, 2000).root  # doctest: +SKIP
        'version:9b1e...'
    """
    root = cat.lineage.resolve_node(node)
    starts = [root]
    if root.startswith("execution:"):
        children = cat.views.child_ids(root.partition(":")[2], _MAX_CHILDREN)
        starts += [f"execution:{c}" for c in children]
    graphs = []
    for start in starts:
        if direction in ("upstream", "both"):
            graphs.append(cat.lineage.upstream(start, depth, max_nodes))
        if direction in ("downstream", "both"):
            graphs.append(cat.lineage.downstream(start, depth, max_nodes))
    if len(graphs) == 1:
        return graphs[0]
    merged = merge_graphs(graphs, root)
    if direction != "both":
        merged = merged.model_copy(update={"direction": direction})
    return _cap(merged, max_nodes)


def run_graph(cat: Catalog, dag_id: str, run_id: str, depth: int, max_nodes: int,
              task_id: str | None = None) -> LineageGraph:
    """The lineage around one DAG run (or one task of it): every task execution's
    inputs and outputs, ``depth`` hops both ways, merged into one graph.

    Raises:
        NotFoundError: the catalog has no execution of that run (or task).

    Example:
        >>> run_graph(cat, "etl", "manual__1", depth=1, max_nodes=2000).partial  # doctest: +SKIP
        False
    """
    ids = cat.views.run_execution_ids(dag_id, run_id, task_id)
    if not ids:
        what = f"task {task_id!r} of " if task_id else ""
        raise NotFoundError(f"the catalog has no execution of {what}run {run_id!r} of DAG "
                            f"{dag_id!r}: is the task tracked by steplineage?")
    graphs = []
    for exe_id in ids:
        node = f"execution:{exe_id}"
        graphs += [cat.lineage.upstream(node, depth, max_nodes),
                   cat.lineage.downstream(node, depth, max_nodes)]
    return _cap(merge_graphs(graphs, f"execution:{ids[-1]}" if task_id else None), max_nodes)


def redact(graph: LineageGraph, viewer: Viewer) -> tuple[LineageGraph, int]:
    """The graph with executions of unreadable DAGs reduced to an anonymous node.

    Their place in the lineage stays visible (data flowed through *something*)
    but name, status, parameters and Airflow identity are gone.

    Example:
        >>> graph, hidden = redact(cat.lineage.upstream(node), viewer)  # doctest: +SKIP
    """
    hidden = 0
    nodes = []
    for n in graph.nodes:
        if n.kind == "execution" and not viewer.can_read(n.attrs.get("dag_id")):
            hidden += 1
            n = LineageNode(id=n.id, kind=n.kind, label=HIDDEN_LABEL, depth=n.depth,
                            attrs={"status": "hidden"})
        nodes.append(n)
    if not hidden:
        return graph, 0
    return graph.model_copy(update={"nodes": nodes}), hidden
