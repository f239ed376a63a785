"""``POST /api/v1/lineage``: the web app as an OpenLineage HTTP backend.

Compatible with openlineage-python's (and Airflow's OpenLineage provider's)
``http`` transport: point its ``url`` at the app and keep the default
``endpoint`` (``api/v1/lineage``). The body is one RunEvent or a JSON array of
them. Valid events are recorded even when others in the same batch are not;
the answer is 200 when all were recorded, else 400 listing each rejected
event by position with the field and the problem.

The route needs the same credentials as the rest of the app (with
``steplineage ui --token T``, send ``Authorization: Bearer T``: the
transport's ``{"type": "api_key", "apiKey": "T"}`` auth does that). Mounted in
Airflow, an event of a DAG the user may not read is rejected (403-like, in the
``rejected`` list).

Example:
    $ curl -s -X POST http://127.0.0.1:8765/api/v1/lineage \\
        -H 'Content-Type: application/json' -d @event.json
    {"accepted":1,"duplicates":0,"executions_created":1,"rejected":[]}
"""

# No `from __future__ import annotations`: FastAPI evaluates the route signatures.
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from steplineage.errors import OpenLineageEventError
from steplineage.openlineage.ingest import IngestResult, ingest_events
from steplineage.web.access import Viewer

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["MAX_BODY_BYTES", "build_openlineage_router"]

#: largest request body accepted (a batch of a few thousand events)
MAX_BODY_BYTES = 64 * 1024 * 1024


def _answer(result: IngestResult, status: int | None = None) -> JSONResponse:
    body = result.model_dump(exclude={"received"})
    return JSONResponse(body, status_code=status or (400 if result.rejected else 200))


def build_openlineage_router(catalog: "Callable[[], Catalog]", viewer_dep: Any) -> APIRouter:
    """The OpenLineage ingest route, writing to ``catalog()``.

    Example:
        >>> router = build_openlineage_router(lambda: cat, access.dependency)  # doctest: +SKIP
        >>> app.include_router(router)  # doctest: +SKIP
    """
    router = APIRouter(tags=["openlineage"])
    ViewerDep = Annotated[Viewer, Depends(viewer_dep)]

    @router.post("/api/v1/lineage", summary="Record OpenLineage RunEvents (one, or an array)",
                 responses={400: {"description": "Some events were rejected; the valid "
                                                 "ones were recorded"}})
    async def lineage(request: Request, viewer: ViewerDep) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"body larger than {MAX_BODY_BYTES} bytes: send "
                                           "smaller batches"}, status_code=413)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise OpenLineageEventError(f"body is not JSON: {exc}") from None
        events = body if isinstance(body, list) else [body]
        if not events:
            raise OpenLineageEventError("empty batch: send a RunEvent or an array of them")
        def allow(event: Any) -> str | None:
            # Recording a DAG's lineage needs at least the right to read that DAG.
            dag_id = event.identity.get("dag_id") or event.parent_identity.get("dag_id")
            if viewer.can_read(dag_id):
                return None
            what = f"DAG {dag_id!r}" if dag_id else "executions outside Airflow DAGs"
            return f"you may not record lineage of {what}; ask an admin for access"

        # The database work runs off the event loop, like the app's other routes.
        result = await run_in_threadpool(ingest_events, catalog(), events, allow=allow)
        return _answer(result)

    return router
