"""``LineageGraph``: the answer to a lineage query, and its conversions.

Nodes are executions, ref versions, assets, dataset versions and agents, each
with an id of the form ``<kind>:<catalog id>``. Edges point the way data
flows: an input ``version -> execution`` (relation ``used``), an output
``execution -> version`` (``generated``), code ``version -> execution``
(``code``), dataset membership ``member -> dataset_version`` (``member``),
and ``agent -> execution`` (``associated``).

Example:
    >>> g = LineageGraph(root="execution:e1", direction="upstream", nodes=[
    ...     LineageNode(id="execution:e1", kind="execution", label="train"),
    ...     LineageNode(id="version:v1", kind="version", label="raw:jan.csv")],
    ...     edges=[LineageGraphEdge(source="version:v1", target="execution:e1", relation="used")])
    >>> sorted(g.to_networkx().nodes)
    ['execution:e1', 'version:v1']
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from steplineage.errors import LineageQueryError, NodeNotInGraphError

if TYPE_CHECKING:
    import networkx as nx
    from prov.model import ProvDocument

__all__ = ["NODE_KINDS", "LineageGraph", "LineageGraphEdge", "LineageNode", "NodeKind",
           "node_id", "split_node_id"]

NodeKind = Literal["execution", "version", "asset", "dataset_version", "agent"]
Relation = Literal["used", "generated", "code", "member", "associated"]

#: every node kind, in the order a bare catalog id is looked up
NODE_KINDS: tuple[NodeKind, ...] = ("execution", "version", "asset", "dataset_version", "agent")


def node_id(kind: str, catalog_id: str) -> str:
    """``node_id("execution", "abc")`` -> ``"execution:abc"``."""
    return f"{kind}:{catalog_id}"


def split_node_id(value: str) -> tuple[NodeKind, str]:
    """``"execution:abc"`` -> ``("execution", "abc")``.

    Raises:
        LineageQueryError: ``value`` is not ``<kind>:<id>`` with a known kind.
    """
    kind, sep, rest = value.partition(":")
    if not sep or kind not in NODE_KINDS or not rest:
        raise LineageQueryError(
            f"{value!r} is not a node id: use '<kind>:<id>' with kind one of "
            f"{', '.join(NODE_KINDS)}, e.g. 'execution:<id>'")
    return kind, rest  # type: ignore[return-value]


class LineageNode(BaseModel):
    """One node of a lineage graph."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="'<kind>:<catalog id>'.")
    kind: NodeKind = Field(description="What the node is.")
    label: str = Field(description="Short human-readable name.")
    depth: int = Field(default=0, description="Hops from the query's root.")
    attrs: dict[str, Any] = Field(default_factory=dict, description="Details by kind.")

    @property
    def catalog_id(self) -> str:
        """The id in the catalog table (without the kind prefix)."""
        return self.id.partition(":")[2]


class LineageGraphEdge(BaseModel):
    """A directed edge, oriented the way data flows."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    relation: Relation


class LineageGraph(BaseModel):
    """Nodes and edges reached from ``root`` in one direction.

    ``partial`` is True when the node cap stopped the walk before it ended.
    """

    # The to_dot/to_html/to_prov*/to_openlineage conveniences (public API) import
    # their exporter from steplineage.export / steplineage.openlineage on call: the
    # only upward imports of this layer, deliberate (ignore_imports in import-linter).

    model_config = ConfigDict(frozen=True)

    root: str | None = Field(default=None, description="Node the query started from.")
    direction: Literal["upstream", "downstream", "both"] = "upstream"
    nodes: list[LineageNode] = Field(default_factory=list)
    edges: list[LineageGraphEdge] = Field(default_factory=list)
    partial: bool = Field(default=False, description="True when capped by max_nodes.")

    def node(self, node_id_: str) -> LineageNode:
        """The node with this id.

        Raises:
            NodeNotInGraphError: the graph has no such node (also a ``KeyError``).
        """
        for n in self.nodes:
            if n.id == node_id_:
                return n
        raise NodeNotInGraphError(
            f"{node_id_!r} is not in this graph of {len(self.nodes)} node(s); walk further "
            "(a larger depth or max_nodes) or check the id")

    def of_kind(self, *kinds: NodeKind) -> list[LineageNode]:
        """Nodes of the given kinds, in the graph's order."""
        return [n for n in self.nodes if n.kind in kinds]

    def to_networkx(self) -> nx.MultiDiGraph:
        """A networkx MultiDiGraph with node and edge attributes.

        Example:
            >>> nxg = graph.to_networkx()  # doctest: +SKIP
            >>> nx.ancestors(nxg, "execution:...")  # doctest: +SKIP
        """
        import networkx as nx

        g = nx.MultiDiGraph(root=self.root, direction=self.direction, partial=self.partial)
        for n in self.nodes:
            g.add_node(n.id, kind=n.kind, label=n.label, depth=n.depth, **n.attrs)
        for e in self.edges:
            g.add_edge(e.source, e.target, key=e.relation, relation=e.relation)
        return g

    def to_node_link(self) -> dict[str, Any]:
        """networkx node-link JSON (``nx.node_link_data``)."""
        import networkx as nx

        return nx.node_link_data(self.to_networkx(), edges="links")

    def to_dot(self, stale: Collection[str] = ()) -> str:
        """Graphviz DOT text (see :func:`steplineage.export.dot.to_dot`).

        Example:
            >>> Path("lineage.dot").write_text(graph.to_dot())  # doctest: +SKIP
        """
        from steplineage.export.dot import to_dot

        return to_dot(self, stale=stale)

    def to_html(self, title: str | None = None, stale: Collection[str] = ()) -> str:
        """A self-contained HTML page drawing the graph offline
        (see :func:`steplineage.export.html.to_html`).

        Example:
            >>> Path("lineage.html").write_text(graph.to_html())  # doctest: +SKIP
        """
        from steplineage.export.html import to_html

        return to_html(self, title=title, stale=stale)

    def to_prov(self) -> ProvDocument:
        """A W3C PROV document (``prov.model.ProvDocument``; see
        :func:`steplineage.export.prov.to_prov_document` for the mapping).

        Example:
            >>> graph.to_prov().get_records()  # doctest: +SKIP
        """
        from steplineage.export.prov import to_prov_document

        return to_prov_document(self)

    def to_prov_json(self, indent: int | None = 2) -> str:
        """PROV-JSON text.

        Example:
            >>> ProvDocument.deserialize(content=graph.to_prov_json(), format="json")  # doctest: +SKIP
        """
        from steplineage.export.prov import to_prov_json

        return to_prov_json(self, indent=indent)

    def to_openlineage(self, namespace: str = "steplineage",
                       resource_uris: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """OpenLineage RunEvents (JSON-able dicts), one per execution (see
        :func:`steplineage.openlineage.export.graph_to_openlineage`).

        Example:
            >>> events = graph.to_openlineage(resource_uris={"raw": "file:///data/raw"})  # doctest: +SKIP
            >>> {e["eventType"] for e in events}  # doctest: +SKIP
            {'COMPLETE'}
        """
        from steplineage.openlineage.export import graph_to_openlineage

        return graph_to_openlineage(self, namespace, resource_uris)

    def to_prov_n(self) -> str:
        """PROV-N text.

        Example:
            >>> print(graph.to_prov_n())  # doctest: +SKIP
        """
        from steplineage.export.prov import to_prov_n

        return to_prov_n(self)
