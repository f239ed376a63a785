"""Tracking must not break the pipeline it observes: the one guard around tracking calls.

In the default, non-strict mode a tracking failure is logged with the step's
context and swallowed, so the user's task goes on; with ``strict=True`` it
propagates as a :class:`TrackingError` naming what could not be recorded.
Errors that say the *data* or the step's declaration is wrong
(:data:`DATA_ERRORS`: a staged input with the wrong checksum, inconsistent or
conflicting lineage, a template naming no argument, a malformed catalog URL)
are raised either way: running on wrong data is worse than not tracking, and a
typo should not pass as an outage.

Example:
    >>> with tracking_guard("record task start", strict=False, task="extract"):
    ...     raise ConnectionError("catalog down")
    >>> # logged, not raised
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from steplineage.errors import (CatalogUnavailableError, ConfigurationError, LineageError,
                                StagingError, TrackingError)

__all__ = ["DATA_ERRORS", "tracking_guard"]

log = logging.getLogger("steplineage")

#: Errors that fail the step whether or not tracking is strict.
DATA_ERRORS = (StagingError, LineageError, ConfigurationError)


@contextlib.contextmanager
def tracking_guard(what: str, strict: bool, **context: object) -> Iterator[None]:
    """Run a tracking step; on failure log it (non-strict) or raise TrackingError (strict).

    Only ``Exception`` is caught: KeyboardInterrupt and SystemExit always pass,
    and so do :data:`DATA_ERRORS`.

    Example:
        >>> with tracking_guard("record the task end", strict=False, task_id="load"):
        ...     pass
    """
    try:
        yield
    except DATA_ERRORS:
        raise
    except Exception as exc:
        details = ", ".join(f"{k}={v}" for k, v in context.items())
        if strict:
            raise TrackingError(f"steplineage could not {what} ({details}): {exc}; "
                                "the catalog may be unreachable. Fix it, or set strict=False "
                                "to let tasks run untracked when it is down") from exc
        # An outage is expected and already explained; anything else may be our bug.
        expected = isinstance(exc, (CatalogUnavailableError, TrackingError))
        log.warning("steplineage could not %s (%s): %s: %s; the task goes on untracked "
                    "(strict=False)", what, details, type(exc).__name__, exc,
                    exc_info=not expected)
