"""Prefect integration: tracked flows and tasks, subflow hierarchy, lineage artifacts.

Needs the ``prefect`` extra (``pip install 'steplineage[prefect]'``); the core
never imports this package, so ``import steplineage`` stays light.

Example:
    >>> from steplineage.prefect import tracked_flow, tracked_task, current_execution
    >>> @tracked_task(outputs=["/tmp/steplineage-doc/out.txt"])
    ... def write() -> None: ...
    >>> @tracked_flow
    ... def pipeline() -> None:
    ...     write()
"""

from __future__ import annotations

try:
    import prefect  # noqa: F401 - fail here, with advice, rather than deep inside a run
except ImportError as exc:  # pragma: no cover - depends on the environment
    from steplineage.errors import ConfigurationError

    raise ConfigurationError(
        "steplineage.prefect needs Prefect: pip install 'steplineage[prefect]'") from exc

from steplineage.prefect.artifacts import (RunSummary, apublish_artifacts, artifact_keys,
                                           publish_artifacts)
from steplineage.prefect.decorators import tracked_flow, tracked_task
from steplineage.prefect.runtime import (current_execution, flow_execution_id,
                                         task_execution_id)

__all__ = [
    "RunSummary",
    "apublish_artifacts",
    "artifact_keys",
    "current_execution",
    "flow_execution_id",
    "publish_artifacts",
    "task_execution_id",
    "tracked_flow",
    "tracked_task",
]
