"""Tracking must not break the pipeline it observes.

Adapters (Airflow, Prefect) wrap every catalog call in :func:`tracking_guard`:
in the default, non-strict mode a tracking failure is logged with context and
swallowed, so the user's task goes on; with ``strict=True`` it propagates as a
:class:`TrackingError` naming what could not be recorded.

Example:
    >>> with tracking_guard("record task start", strict=False):
    ...     raise ConnectionError("catalog down")
    >>> # logged, not raised
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from steplineage.errors import TrackingError

__all__ = ["tracking_guard"]

log = logging.getLogger("steplineage")


@contextlib.contextmanager
def tracking_guard(what: str, strict: bool, **context: object) -> Iterator[None]:
    """Run a tracking step; on failure log it (non-strict) or raise TrackingError (strict).

    Only ``Exception`` is caught: KeyboardInterrupt and SystemExit always pass.
    """
    try:
        yield
    except Exception as exc:
        details = ", ".join(f"{k}={v}" for k, v in context.items())
        if strict:
            raise TrackingError(f"steplineage could not {what} ({details}): {exc}; "
                                "the catalog may be unreachable. Fix it, or set strict=False "
                                "to let tasks run untracked when it is down") from exc
        log.warning("steplineage could not %s (%s): %s: %s; the task goes on untracked "
                    "(strict=False)", what, details, type(exc).__name__, exc)
