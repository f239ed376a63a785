"""How the web app answers errors: one table from our error classes to HTTP statuses.

Routes raise steplineage's own errors (``NotFoundError``, ...) and let them
through; the handlers installed by :func:`install` answer
``{"detail": <the error's message>}`` with the status of the nearest class in
:data:`STATUS_BY_ERROR`. Anything else is a bug: 500 without details (the
traceback goes to the server log).

Example:
    >>> from steplineage.errors import UnknownResourceError
    >>> status_of(UnknownResourceError("no resource 'raw'"))
    404
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from steplineage.errors import (CatalogSchemaError, CatalogUnavailableError, ConfigurationError,
                                NotFoundError, OpenLineageEventError, SteplineageError)

__all__ = ["INTERNAL_ERROR", "STATUS_BY_ERROR", "install", "status_of"]

log = logging.getLogger("steplineage.web")

#: The HTTP status of each error; a subclass not listed takes its nearest listed base.
STATUS_BY_ERROR: dict[type[SteplineageError], int] = {
    NotFoundError: 404,
    OpenLineageEventError: 400,
    # The server cannot answer now or until someone acts; the message says what to do.
    CatalogUnavailableError: 503,
    CatalogSchemaError: 503,
    ConfigurationError: 500,
    # Any other error of ours was caused by what the request asked for.
    SteplineageError: 400,
}

INTERNAL_ERROR = "internal error; see the server log"


def status_of(exc: SteplineageError) -> int:
    """The HTTP status for one of our errors (see :data:`STATUS_BY_ERROR`).

    Example:
        >>> status_of(CatalogUnavailableError("catalog db is unreachable"))
        503
    """
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def install(app: FastAPI) -> None:
    """Add the handlers to ``app``.

    Example:
        >>> install(FastAPI())
    """

    async def steplineage_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)  # type: ignore[arg-type] - registered for SteplineageError
        if status >= 500:
            log.warning("steplineage web: %s %s answered %d: %s", request.method,
                        request.url.path, status, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception and re-raises it after this response is sent.
        return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)

    app.add_exception_handler(SteplineageError, steplineage_error)
    app.add_exception_handler(Exception, internal_error)
