"""What a tracked Prefect run knows while it runs: its catalog, its execution, strictness.

A tracked flow or task sets a context variable for the code it runs, so tasks
(also those Prefect submits to worker threads, which copy the context) find
their parent execution without asking the Prefect API. Execution ids are
derived from Prefect's run ids, so a hook running in another process (a worker
reporting a cancellation) or a retried write names the same execution.

Example:
    >>> from steplineage.prefect.runtime import task_execution_id
    >>> task_execution_id("0b5e5c1e-0000-4000-8000-000000000000", 2) == \\
    ...     task_execution_id("0b5e5c1e-0000-4000-8000-000000000000", 2)
    True
"""

from __future__ import annotations

import threading
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from steplineage.errors import ExecutionError
from steplineage.settings import get_settings

if TYPE_CHECKING:
    from uuid import UUID

    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution

__all__ = ["ActiveRun", "current_execution", "flow_execution_id", "get_catalog",
           "task_execution_id"]

# Fixed forever: changing it would give every Prefect run a new execution id.
_NAMESPACE = uuid.UUID("2f6b0c8e-4a55-4f0e-9b7c-5d1f3e2a7c41")


def flow_execution_id(flow_run_id: UUID | str, run_count: int) -> str:
    """The execution id of one attempt (``run_count``) of a Prefect flow run.

    Example:
        >>> len(flow_execution_id("0b5e5c1e-0000-4000-8000-000000000000", 1))
        36
    """
    return str(uuid.uuid5(_NAMESPACE, f"prefect:flow-run:{flow_run_id}:{max(run_count, 1)}"))


def task_execution_id(task_run_id: UUID | str, run_count: int) -> str:
    """The execution id of one attempt (``run_count``) of a Prefect task run.

    Retries keep the task run id and raise ``run_count``, so each attempt is
    its own execution and all attempts share ``orchestrator.task_run_id``.

    Example:
        >>> a = task_execution_id("0b5e5c1e-0000-4000-8000-000000000000", 1)
        >>> a != task_execution_id("0b5e5c1e-0000-4000-8000-000000000000", 2)
        True
    """
    return str(uuid.uuid5(_NAMESPACE, f"prefect:task-run:{task_run_id}:{max(run_count, 1)}"))


@dataclass(frozen=True)
class ActiveRun:
    """The tracked run the current code belongs to.

    ``catalog`` is None when tracking was given up for this run (the catalog
    could not be reached and ``strict`` is off); the run goes on untracked.
    """

    catalog: Catalog | None
    execution: Execution | None
    strict: bool
    flow_run_id: str | None = None


_ACTIVE: ContextVar[ActiveRun | None] = ContextVar("steplineage_prefect_active", default=None)


def active_run() -> ActiveRun | None:
    """The tracked run of the calling code, if any."""
    return _ACTIVE.get()


def current_execution() -> Execution | None:
    """The :class:`~steplineage.Execution` of the tracked task or flow that is running.

    Use it to stage assets, log metrics or declare inputs found at run time.

    Returns:
        The live execution, or None when the run goes on untracked because the
        catalog could not be reached (``strict=False``).

    Raises:
        ExecutionError: called outside a ``@tracked_task`` / ``@tracked_flow`` run.

    Example:
        >>> @tracked_task(retries=2)  # doctest: +SKIP
        ... def train(epochs: int) -> None:
        ...     exe = current_execution()
        ...     if exe is not None:
        ...         exe.asset_file_path("Model", "model.json").write_text("{}")
        ...         exe.log_metrics({"epochs": epochs})
    """
    active = _ACTIVE.get()
    if active is None:
        raise ExecutionError(
            "current_execution() is only available inside a run of a function decorated with "
            "@steplineage.prefect.tracked_task or @tracked_flow, e.g.\n"
            "    @tracked_task()\n    def step():\n        exe = current_execution()")
    return active.execution


_catalogs: dict[tuple[str, str, str, bool], Catalog] = {}
_catalogs_lock = threading.Lock()
_MAX_CATALOGS = 4


def get_catalog(catalog: Catalog | str | None, strict: bool | None = None) -> Catalog:
    """The catalog to record into: the one given, or one per settings, made once per process.

    Opening a catalog checks (and for SQLite migrates) its schema, which is too
    slow to repeat for every task; the settings are read each time so a change
    of ``STEPLINEAGE_HOME`` or ``STEPLINEAGE_CATALOG_URL`` is honoured.
    ``strict`` overrides ``STEPLINEAGE_STRICT`` for the catalog opened here (it
    decides whether an unreachable catalog raises or spools); a Catalog passed
    in keeps its own settings.

    Raises:
        CatalogURLError: a malformed catalog URL.

    Example:
        >>> get_catalog("sqlite:///:memory:")  # doctest: +SKIP
        Catalog('sqlite:///:memory:')
    """
    from steplineage.catalog.catalog import Catalog

    if isinstance(catalog, Catalog):
        return catalog
    settings = get_settings(catalog_url=catalog, strict=strict)
    key = (settings.resolved_catalog_url(), settings.resolved_object_store(),
           str(settings.home), settings.strict)
    with _catalogs_lock:
        found = _catalogs.get(key)
        if found is not None:
            return found
        made = Catalog(settings=settings)
        if len(_catalogs) >= _MAX_CATALOGS:
            # Oldest first: a long-lived process that switched settings drops the old ones.
            _catalogs.pop(next(iter(_catalogs))).close()
        _catalogs[key] = made
        return made
