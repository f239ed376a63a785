"""The JSON API of the lineage web app (``<prefix>/api/...``, documented at ``<prefix>/docs``).

Every route depends on the viewer (401 without credentials) and checks the
DAG of what it returns (403, or hidden from lists and graphs). Data comes from
``cat.views`` (lists, search, one execution) and ``cat.lineage`` (graphs); our
errors become HTTP statuses in :mod:`steplineage.web.errors`.

Example:
    $ curl -H "Authorization: Bearer $TOKEN" \\
        'http://127.0.0.1:8080/steplineage/api/executions?dag_id=steplineage_etl&status=failed'
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route
# signatures, which use aliases local to build_api_router.
from dataclasses import asdict
from datetime import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from steplineage.errors import NotFoundError
from steplineage.export.html import graph_payload
from steplineage.models import ExecutionFilter
from steplineage.status import Status
from steplineage.web import graphs
from steplineage.web.access import Viewer

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["ExecutionList", "ExecutionSummary", "GraphResponse", "build_api_router"]

MAX_NODES_LIMIT = 10_000


class ExecutionSummary(BaseModel):
    """One row of the executions list."""

    id: str
    name: str
    status: Status
    status_message: str
    created_at: datetime
    start_time: datetime | None
    stop_time: datetime | None
    duration_seconds: float | None
    parent_id: str | None
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    map_index: int | None
    try_number: int | None
    flow_run_id: str | None


class ExecutionList(BaseModel):
    """A page of executions."""

    total: int = Field(description="How many executions match the filters.")
    limit: int
    offset: int
    items: list[ExecutionSummary]


class DagSummary(BaseModel):
    """A DAG with recorded executions."""

    dag_id: str
    executions: int
    runs: int
    last_at: str | None


class SearchHit(BaseModel):
    """A node whose name or checksum matched the search."""

    node: str = Field(description="Node id, e.g. 'version:<id>'.")
    kind: str
    label: str
    detail: str


class GraphResponse(BaseModel):
    """A lineage graph as the renderer takes it."""

    root: str | None
    direction: str
    partial: bool
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    stale: list[str] = Field(description="Ids of nodes that are out of date.")
    hidden: int = Field(description="Executions replaced by an anonymous node (no access).")


def summarize(record: Any) -> ExecutionSummary:
    """The list row for an :class:`~steplineage.models.ExecutionRecord`."""
    o = record.orchestrator
    return ExecutionSummary(
        id=record.id, name=record.name, status=record.status,
        status_message=record.status_message, created_at=record.created_at,
        start_time=record.start_time, stop_time=record.stop_time,
        duration_seconds=record.duration_seconds, parent_id=record.parent_id, dag_id=o.dag_id,
        run_id=o.run_id, task_id=o.task_id, map_index=o.map_index, try_number=o.try_number,
        flow_run_id=o.flow_run_id)


def graph_response(cat: "Catalog", viewer: Viewer, graph: Any, with_stale: bool) -> GraphResponse:
    """Redact, add stale ids, and shape a graph for the renderer."""
    from steplineage.lineage.impact import stale_ids_in_graph

    graph, hidden = graphs.redact(graph, viewer)
    # Stale roots among the graph's own executions, spread along the graph's edges.
    stale = stale_ids_in_graph(cat, graph) if with_stale else set()
    return GraphResponse(**graph_payload(graph, stale), hidden=hidden)


def execution_detail(cat: "Catalog", viewer: Viewer, execution_id: str) -> dict[str, Any]:
    """One execution for ``viewer`` (403 when its DAG is not readable; 404 when unknown).

    Example:
        >>> execution_detail(cat, viewer, exe.id)["node"]  # doctest: +SKIP
        'execution:5b8470d0-...'
    """
    detail = cat.views.execution_detail(execution_id, viewer.visibility(cat.views.dag_ids))
    viewer.require(detail["execution"]["orchestrator"]["dag_id"])
    return detail


def build_api_router(catalog: "Callable[[], Catalog]", viewer_dep: Any) -> APIRouter:
    """The ``/api`` routes, reading ``catalog()`` and resolving viewers with ``viewer_dep``.

    Example:
        >>> router = build_api_router(lambda: cat, TokenAccess().dependency)  # doctest: +SKIP
    """
    router = APIRouter(prefix="/api", tags=["lineage"])
    ViewerDep = Annotated[Viewer, Depends(viewer_dep)]
    Depth = Annotated[int, Query(ge=0, le=100, description="Hops to walk from the start.")]
    MaxNodes = Annotated[int, Query(ge=1, le=MAX_NODES_LIMIT,
                                    description="Stop after this many nodes (partial=true).")]

    @router.get("/health", summary="The catalog answers")
    def health(viewer: ViewerDep) -> dict[str, str]:
        catalog().list_executions(limit=1)
        return {"status": "ok", "viewer": viewer.name}

    @router.get("/dags", response_model=list[DagSummary], summary="DAGs with recorded executions")
    def dags(viewer: ViewerDep) -> list[DagSummary]:
        views = catalog().views
        return [DagSummary(dag_id=d.dag_id, executions=d.executions, runs=d.runs,
                           last_at=d.last_at.isoformat() if d.last_at else None)
                for d in views.dags(viewer.visibility(views.dag_ids))]

    @router.get("/executions", response_model=ExecutionList, summary="Executions, newest first")
    def executions(
        viewer: ViewerDep,
        dag_id: str | None = None, run_id: str | None = None, task_id: str | None = None,
        status: Status | None = None,
        since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601).")]
        = None,
        until: Annotated[datetime | None, Query(description="Created at or before (ISO 8601).")]
        = None,
        q: Annotated[str | None, Query(max_length=200, description="Name contains.")] = None,
        parent_id: str | None = None,
        top_level: bool = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ExecutionList:
        if dag_id is not None:
            viewer.require(dag_id)
        f = ExecutionFilter(dag_id=dag_id, run_id=run_id, task_id=task_id, status=status,
                            since=since, until=until, text=q, parent_id=parent_id,
                            top_level=top_level)
        views = catalog().views
        page = views.executions(f, viewer.visibility(views.dag_ids), limit, offset)
        return ExecutionList(total=page.total, limit=limit, offset=offset,
                             items=[summarize(r) for r in page.items])

    @router.get("/executions/{execution_id}", summary="One execution with history, children, "
                "inputs/outputs (versions, checksums) and asset files")
    def execution(execution_id: str, viewer: ViewerDep) -> dict[str, Any]:
        return execution_detail(catalog(), viewer, execution_id)

    @router.get("/lineage", response_model=GraphResponse,
                summary="Lineage of one node: upstream, downstream or both")
    def lineage(
        viewer: ViewerDep,
        node: Annotated[str, Query(max_length=300,
                                   description="'execution:<id>', 'version:<id>', 'asset:<id>' "
                                               "or a bare id.")],
        direction: Literal["upstream", "downstream", "both"] = "both",
        depth: Depth = 3, max_nodes: MaxNodes = 2_000, stale: bool = True,
    ) -> GraphResponse:
        cat = catalog()
        root = cat.lineage.resolve_node(node)
        if root.startswith("execution:"):
            viewer.require(cat.get_execution(root.partition(":")[2]).orchestrator.dag_id)
        graph = graphs.lineage_graph(cat, root, direction, depth, max_nodes)
        return graph_response(cat, viewer, graph, stale)

    @router.get("/dags/{dag_id}/lineage", response_model=GraphResponse,
                summary="Lineage around a DAG run (default: the newest) or one of its tasks")
    def dag_lineage(
        dag_id: str, viewer: ViewerDep, run_id: str | None = None, task_id: str | None = None,
        depth: Depth = 1, max_nodes: MaxNodes = 2_000, stale: bool = True,
    ) -> GraphResponse:
        viewer.require(dag_id)
        cat = catalog()
        run_id = run_id or cat.views.latest_run_id(dag_id)
        if run_id is None:
            raise NotFoundError(f"the catalog has no run of DAG {dag_id!r} yet: trigger it "
                                "(its tasks must be tracked by steplineage)")
        graph = graphs.run_graph(cat, dag_id, run_id, depth, max_nodes, task_id)
        return graph_response(cat, viewer, graph, stale)

    @router.get("/search", response_model=list[SearchHit],
                summary="Resources, asset files and executions by name or checksum prefix")
    def search(viewer: ViewerDep,
               q: Annotated[str, Query(min_length=1, max_length=200)],
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[SearchHit]:
        views = catalog().views
        return [SearchHit(**asdict(hit))
                for hit in views.search(q, viewer.visibility(views.dag_ids), limit)]

    return router
