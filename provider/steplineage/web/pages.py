"""HTML pages of the lineage web app: explorer, DAG / run / task lineage, execution, graph.

Pages are Jinja2 templates with autoescaping; data for scripts goes through
``|tojson`` into ``<script type="application/json">`` blocks (never into
executable script), and the Content-Security-Policy set by the app allows
only scripts served by the app itself.

Example:
    >>> router = build_page_router(lambda: cat, TokenAccess().dependency, templates)  # doctest: +SKIP
"""

# No `from __future__ import annotations`: FastAPI evaluates these route signatures.
import json
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from steplineage.models import ExecutionFilter
from steplineage.status import Status
from steplineage.web.access import Viewer
from steplineage.web.api import execution_detail

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["PAGE_SIZE", "build_page_router", "templates"]

PAGE_SIZE = 25


def templates() -> Jinja2Templates:
    """The page templates (package data), autoescaping on for every template.

    Example:
        >>> templates().env.autoescape
        True
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("steplineage.web", "templates"), autoescape=True,
                      undefined=StrictUndefined)
    # For showing values as text (autoescaped like any string); ``tojson`` is for <script>.
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    return Jinja2Templates(env=env)


def _day(value: str | None, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD form value as the start (or end) of that UTC day; "" means none."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{value!r} is not a date like 2024-06-01") from None
    return datetime.combine(day, time.max if end else time.min, tzinfo=timezone.utc)


def _status(value: str | None) -> Status | None:
    if not value:
        return None
    try:
        return Status(value)
    except ValueError:
        raise HTTPException(422, f"unknown status {value!r}; one of "
                                 f"{', '.join(s.value for s in Status)}") from None


def airflow_task_url(airflow_base: str | None, e: dict[str, Any]) -> str | None:
    """The Airflow UI page of the task instance (or DAG run) an execution came from.

    Example:
        >>> airflow_task_url("", {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1})
        '/dags/d/runs/r/tasks/t'
    """
    from urllib.parse import quote

    if airflow_base is None or not e.get("dag_id"):
        return None
    url = f"{airflow_base}/dags/{quote(e['dag_id'], safe='')}"
    if e.get("run_id"):
        url += f"/runs/{quote(e['run_id'], safe='')}"
        if e.get("task_id"):
            url += f"/tasks/{quote(e['task_id'], safe='')}"
            if e.get("map_index") is not None and e["map_index"] >= 0:
                url += f"/mapped/{e['map_index']}"
    return url


def build_page_router(catalog: "Callable[[], Catalog]", viewer_dep: Any,
                      tmpl: Jinja2Templates, airflow_ui: bool = False,
                      title: str = "steplineage") -> APIRouter:
    """The HTML routes.

    Args:
        catalog: returns the catalog to read.
        viewer_dep: FastAPI dependency giving the request's :class:`Viewer`.
        tmpl: the templates (see :func:`templates`).
        airflow_ui: mounted inside Airflow: link executions back to Airflow's pages
            (the Airflow UI is the parent of this app's mount path).
        title: shown in the header.
    """
    router = APIRouter(include_in_schema=False)
    ViewerDep = Annotated[Viewer, Depends(viewer_dep)]

    def render(request: Request, name: str, viewer: Viewer, **context: Any) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/")
        airflow_base = base.rsplit("/", 1)[0] if airflow_ui else None
        return tmpl.TemplateResponse(request, name, {
            "base": base, "title": title, "viewer": viewer.name, "airflow_base": airflow_base,
            "airflow_task_url": lambda e: airflow_task_url(airflow_base, e),
            "statuses": [s.value for s in Status], **context})

    def graph_config(request: Request, **settings: Any) -> dict[str, Any]:
        base = request.scope.get("root_path", "").rstrip("/")
        return {"api": f"{base}/api", "pages": base, "direction": "both", "depth": 1,
                "max_nodes": 2000, "airflow_base": base.rsplit("/", 1)[0] if airflow_ui else None,
                **settings}

    def executions_page(viewer: Viewer, f: ExecutionFilter, page: int) -> dict[str, Any]:
        page = max(page, 1)
        views = catalog().views
        result = views.executions(f, viewer.visibility(views.dag_ids), PAGE_SIZE,
                                  (page - 1) * PAGE_SIZE)
        pages = max(1, -(-result.total // PAGE_SIZE))
        return {"executions": [e.model_dump(mode="json") for e in result.items],
                "total": result.total, "page": page, "pages": pages}

    @router.get("/", response_class=HTMLResponse)
    def explorer(request: Request, viewer: ViewerDep) -> HTMLResponse:
        views = catalog().views
        visibility = viewer.visibility(views.dag_ids)
        recent = views.executions(ExecutionFilter(top_level=True), visibility, 15)
        return render(request, "explorer.html", viewer, dags=views.dags(visibility),
                      recent=[e.model_dump(mode="json") for e in recent.items],
                      config=graph_config(request, mode="search"))

    def dag_page(request: Request, viewer: Viewer, dag_id: str, run_id: str | None,
                 task_id: str | None, status: str | None, since: str | None,
                 until: str | None, page: int) -> HTMLResponse:
        viewer.require(dag_id)
        runs = catalog().views.dag_runs(dag_id)
        selected = run_id or (runs[0].run_id if runs else None)
        f = ExecutionFilter(dag_id=dag_id, run_id=run_id, task_id=task_id,
                            status=_status(status), since=_day(since),
                            until=_day(until, end=True))
        config = graph_config(request, mode="dag", dag_id=dag_id, run_id=selected,
                              task_id=task_id, depth=1)
        return render(request, "dag.html", viewer, dag_id=dag_id, run_id=run_id,
                      task_id=task_id, selected_run=selected, runs=runs,
                      filters={"status": status or "", "since": since or "",
                               "until": until or ""},
                      config=config, **executions_page(viewer, f, page))

    @router.get("/dags/{dag_id}", response_class=HTMLResponse)
    def dag(request: Request, dag_id: str, viewer: ViewerDep, run_id: str | None = None,
            status: str | None = None, since: str | None = None, until: str | None = None,
            page: int = 1) -> HTMLResponse:
        return dag_page(request, viewer, dag_id, run_id, None, status, since, until, page)

    @router.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse)
    def dag_run(request: Request, dag_id: str, run_id: str, viewer: ViewerDep,
                status: str | None = None, since: str | None = None, until: str | None = None,
                page: int = 1) -> HTMLResponse:
        return dag_page(request, viewer, dag_id, run_id, None, status, since, until, page)

    @router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", response_class=HTMLResponse)
    def task_instance(request: Request, dag_id: str, run_id: str, task_id: str,
                      viewer: ViewerDep, page: int = 1) -> HTMLResponse:
        # Tries of every map index are listed; the graph covers all the task's executions.
        return dag_page(request, viewer, dag_id, run_id, task_id, None, None, None, page)

    @router.get("/executions/{execution_id}", response_class=HTMLResponse)
    def execution(request: Request, execution_id: str, viewer: ViewerDep) -> HTMLResponse:
        detail = execution_detail(catalog(), viewer, execution_id)
        config = graph_config(request, mode="node", node=detail["node"], depth=2)
        return render(request, "execution.html", viewer, d=detail, e=detail["execution"],
                      config=config)

    @router.get("/lineage", response_class=HTMLResponse)
    def lineage(request: Request, viewer: ViewerDep, node: str, direction: str = "both",
                depth: int = 3) -> HTMLResponse:
        if direction not in ("upstream", "downstream", "both"):
            raise HTTPException(422, "direction must be upstream, downstream or both")
        config = graph_config(request, mode="node", node=node, direction=direction,
                              depth=max(0, min(depth, 100)))
        return render(request, "lineage.html", viewer, node=node, config=config)

    return router
