"""The lineage web app factory: one FastAPI app, mounted in Airflow or run standalone.

Example:
    >>> import steplineage as sl
    >>> from steplineage.web import create_app
    >>> app = create_app(lambda: sl.Catalog())  # doctest: +SKIP
    >>> # uvicorn.run(app, host="127.0.0.1", port=8765)
"""

# No `from __future__ import annotations`: FastAPI evaluates these route signatures.
from collections.abc import Awaitable, Callable
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from steplineage.web import errors
from steplineage.web.access import TOKEN_COOKIE, Access, TokenAccess, Viewer
from steplineage.web.api import build_api_router
from steplineage.web.openlineage import build_openlineage_router
from steplineage.web.pages import build_page_router, templates

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["CSP", "create_app"]

#: Only the app's own scripts, styles and API; nothing from elsewhere, no inline script.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")

_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@lru_cache(maxsize=None)
def _static(name: str) -> bytes | None:
    """A static file by name: the shared graph renderer, or the app's own script/styles."""
    from steplineage.export.html import renderer_css, renderer_js

    if name == "lineage-graph.js":
        return renderer_js().encode()
    if name == "lineage-graph.css":
        return renderer_css().encode()
    if name in ("app.js", "app.css"):
        return (resources.files("steplineage.web") / "static" / name).read_bytes()
    return None


def create_app(catalog_factory: "Callable[[], Catalog]", auth: Access | None = None, *,
               title: str = "steplineage lineage", airflow_ui: bool = False) -> FastAPI:
    """Build the lineage web app.

    Args:
        catalog_factory: returns the catalog to read, called per request (cache
            inside it; the Airflow plugin resolves ``SteplineageHook`` once a minute).
        auth: who may read what; default :class:`TokenAccess` without a token
            (everything readable: bind to 127.0.0.1).
        title: shown in page headers.
        airflow_ui: the app is mounted in Airflow's API server; pages link
            executions back to Airflow's task pages.

    Example:
        >>> app = create_app(lambda: cat, TokenAccess("s3cret"))  # doctest: +SKIP
        >>> TestClient(app).get("/api/dags", headers={"Authorization": "Bearer s3cret"})  # doctest: +SKIP
    """
    access = auth or TokenAccess()
    viewer_dep = access.dependency
    app = FastAPI(title="steplineage lineage API",
                  description="Executions, lineage graphs and search over the steplineage "
                              "catalog. Every route checks the viewer's read access.",
                  version="1")

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    errors.install(app)

    ViewerDep = Annotated[Viewer, Depends(viewer_dep)]

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, viewer: ViewerDep) -> Response:
        body = _static(name)
        suffix = name[name.rfind("."):] if "." in name else ""
        if body is None or suffix not in _STATIC_TYPES:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(body, media_type=_STATIC_TYPES[suffix],
                        headers={"Cache-Control": "private, max-age=300"})

    if isinstance(access, TokenAccess):
        @app.get("/login", include_in_schema=False)
        def login(request: Request, token: str) -> Response:
            """Trade the token in the URL ``steplineage ui`` printed for a cookie."""
            if not access.accepts(token):
                raise HTTPException(401, "wrong token")
            base = request.scope.get("root_path", "").rstrip("/")
            response = RedirectResponse(f"{base}/", status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                                path=f"{base}/" if base else "/")
            return response

    app.include_router(build_api_router(catalog_factory, viewer_dep))
    app.include_router(build_openlineage_router(catalog_factory, viewer_dep))
    app.include_router(build_page_router(catalog_factory, viewer_dep, templates(),
                                         airflow_ui=airflow_ui, title=title))
    app.state.access = access
    return app


def describe(app: FastAPI) -> dict[str, Any]:
    """What an app was built with (for logs and ``steplineage ui`` output)."""
    return app.state.access.describe()
