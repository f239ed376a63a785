"""What is out of date (``stale``) and how two runs differ (``diff``).

A ref's *current* version is the one in the most recent edge that touched it
(a valid output, or an input read). An execution is *stale* when it is the
latest completed run of its step (same workflow and name) and it read a
version of some ref that is no longer current. Re-running it, and then the
latest runs downstream of it, brings everything up to date: that chain is the
impact analysis ``stale()`` returns.

Example:
    >>> for item in cat.lineage.stale():  # doctest: +SKIP
    ...     print(item.name, [r.ref for r in item.reasons], item.rerun)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from steplineage.models import ResourceRef
from steplineage.store.impact import EdgeFact, latest_completed, run_facts, stale_reads

if TYPE_CHECKING:
    from steplineage.lineage.graph import LineageGraph, LineageNode
    from steplineage.lineage.ports import HasStore
    from steplineage.lineage.queries import Lineage
    from steplineage.store.store import Store

__all__ = ["ExecutionDiff", "StaleExecution", "StaleInput", "execution_diff", "find_stale",
           "stale_ids_in_graph"]


class StaleInput(BaseModel):
    """An input an execution read that has since changed."""

    model_config = ConfigDict(frozen=True)

    ref: ResourceRef
    used_version: str
    current_version: str


class StaleExecution(BaseModel):
    """A step whose result is out of date, why, and what must re-run."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    execution_id: str
    name: str
    reasons: list[StaleInput]
    stale_outputs: list[str] = Field(description="Node ids of outputs computed from old inputs.")
    rerun: list[str] = Field(description="Execution ids to re-run, this one first, in order.")


def find_stale(lineage: Lineage, within: Iterable[str] | None = None
               ) -> list[StaleExecution]:
    """Every stale execution with its reasons and re-run chain (``cat.lineage.stale()``).

    Args:
        within: only consider these execution ids as stale roots (e.g. the
            executions of a graph on screen), instead of the whole catalog.

    Example:
        >>> [s.rerun for s in find_stale(cat.lineage)]  # doctest: +SKIP
        [['5b84...', '9c1e...']]
    """
    result = []
    for exe_id, (name, why) in _stale_roots(lineage.store, within).items():
        graph = lineage.downstream(f"execution:{exe_id}")
        latest = latest_completed(lineage.store,
                                  [n.catalog_id for n in graph.of_kind("execution")])
        executions = [n for n in _topological(graph) if n.kind == "execution"
                      and n.catalog_id in latest]
        outputs = [n.id for n in graph.nodes if n.kind != "execution" and n.kind != "agent"]
        result.append(StaleExecution(execution_id=exe_id, name=name, reasons=why,
                                     stale_outputs=outputs,
                                     rerun=[n.catalog_id for n in executions]))
    return sorted(result, key=lambda item: (item.name, item.execution_id))


def stale_ids_in_graph(catalog: HasStore, graph: LineageGraph) -> set[str]:
    """Node ids of ``graph`` to highlight as stale, from one query and a walk in memory.

    The same nodes :func:`find_stale` with ``within=`` the graph's executions
    leads to (stale executions, the latest runs downstream of them, and what
    they produced), as far as they are on the graph: instead of one catalog
    walk downstream per stale execution, the walk follows the graph's own
    edges. The web app highlights a 2,000-node graph this way.

    Example:
        >>> graph = cat.lineage.upstream("results:report.pdf")  # doctest: +SKIP
        >>> graph.to_html(stale=stale_ids_in_graph(cat, graph))  # doctest: +SKIP
    """
    executions = [n.catalog_id for n in graph.of_kind("execution")]
    roots = [f"execution:{e}" for e in _stale_roots(catalog.store, executions)]
    if not roots:
        return set()
    latest = {f"execution:{e}" for e in latest_completed(catalog.store, executions)}
    kinds = {n.id: n.kind for n in graph.nodes}
    downstream: dict[str, list[str]] = {}
    for edge in graph.edges:
        downstream.setdefault(edge.source, []).append(edge.target)
    stale, todo = set(roots), list(roots)
    while todo:
        for nxt in downstream.get(todo.pop(), ()):
            if nxt in stale or kinds.get(nxt) == "agent":
                continue
            stale.add(nxt)
            todo.append(nxt)
    # Older runs downstream are not re-run; what they produced is still out of date.
    return {n for n in stale if kinds.get(n) != "execution" or n in latest or n in roots}


def _stale_roots(store: Store, within: Iterable[str] | None
                 ) -> dict[str, tuple[str, list[StaleInput]]]:
    """Stale executions (optionally among ``within``): id -> (name, changed inputs)."""
    reasons: dict[str, tuple[str, list[StaleInput]]] = {}
    for read in stale_reads(store, within):
        reasons.setdefault(read.execution_id, (read.name, []))[1].append(
            StaleInput(ref=ResourceRef(read.resource, read.subpath),
                       used_version=read.used_hash, current_version=read.current_hash))
    return reasons


def _topological(graph: LineageGraph) -> list[LineageNode]:
    """Nodes in an order where producers come before consumers (depth order on a cycle)."""
    import networkx as nx

    try:
        order = list(nx.topological_sort(graph.to_networkx()))
    except nx.NetworkXUnfeasible:
        return list(graph.nodes)
    by_id = {n.id: n for n in graph.nodes}
    return [by_id[i] for i in order]


class ExecutionDiff(BaseModel):
    """What differs between two executions; each value is ``(a, b)``."""

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    parameters: dict[str, tuple[Any, Any]]
    metrics: dict[str, tuple[Any, Any]]
    inputs: dict[str, tuple[str | None, str | None]] = Field(
        description="ref or asset -> version hash in a and in b.")
    code: dict[str, tuple[str | None, str | None]]
    workflow: dict[str, tuple[Any, Any]]

    @property
    def same(self) -> bool:
        """True when nothing differs."""
        return not (self.parameters or self.metrics or self.inputs or self.code or
                    self.workflow)


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def execution_diff(store: Store, a: str, b: str) -> ExecutionDiff:
    """Parameters, metrics, input versions, code and workflow that differ between runs.

    Raises:
        NotFoundError: either execution is not in the catalog.

    Example:
        >>> execution_diff(cat.store, first.id, second.id).same  # doctest: +SKIP
        False
    """
    fa, fb = run_facts(store, a), run_facts(store, b)
    return ExecutionDiff(
        a=a, b=b, parameters=_changed(fa.parameters, fb.parameters),
        metrics=_changed(fa.metrics, fb.metrics),
        inputs=_changed(_versions(fa.edges, "input"), _versions(fb.edges, "input")),
        code=_changed(_versions(fa.edges, "code"), _versions(fb.edges, "code")),
        workflow=_changed(fa.workflow, fb.workflow))


def _versions(edges: Iterable[EdgeFact], role: str) -> dict[str, str | None]:
    """What each edge of ``role`` points at -> the version it saw (later edges win)."""
    out: dict[str, str | None] = {}
    for e in edges:
        if e.role != role:
            continue
        if e.resource is not None:
            out[f"ref {ResourceRef(e.resource, e.subpath)}"] = e.version_hash
        elif e.asset is not None:
            table, filename, sha256 = e.asset
            out[f"asset {table}/{filename}"] = sha256
        elif e.dataset_version_id is not None:
            out[f"dataset_version {e.dataset_version_id}"] = e.dataset_version_id
    return out
