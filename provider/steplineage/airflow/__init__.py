"""steplineage for Apache Airflow 3.3: hook, connection, operators, ``@task.steplineage``, listener.

Each try of a tracked task becomes an execution in the catalog, under one
parent execution per DAG run. Three ways to track a task:

* ``@task.steplineage(inputs=..., outputs=..., assets=..., workflow=...)``;
* :class:`TrackedPythonOperator`, or :func:`track` / :class:`SteplineageMixin`
  for any other operator;
* the listener for every task of every DAG: ``[steplineage] track_all_tasks = True``.

The catalog comes from the ``steplineage_default`` connection (type
``steplineage``), else the ``[steplineage]`` config section, ``STEPLINEAGE_*``
environment variables, or the embedded SQLite default (:class:`SteplineageHook`).

Names are loaded on first use, so ``import steplineage.airflow`` stays cheap for
Airflow's provider discovery.

Example:
    >>> from steplineage.airflow import track, staged_assets  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ASSETS_XCOM_KEY": "steplineage.airflow.adapter",
    "EXECUTION_ID_XCOM_KEY": "steplineage.airflow.adapter",
    "SteplineageHook": "steplineage.airflow.hooks",
    "SteplineageMixin": "steplineage.airflow.operators",
    "TrackedPythonOperator": "steplineage.airflow.operators",
    "get_provider_info": "steplineage.airflow.provider_info",
    "staged_assets": "steplineage.airflow.xcom",
    "steplineage_task": "steplineage.airflow.decorators",
    "track": "steplineage.airflow.operators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'steplineage.airflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from steplineage.airflow.adapter import ASSETS_XCOM_KEY, EXECUTION_ID_XCOM_KEY
    from steplineage.airflow.decorators import steplineage_task
    from steplineage.airflow.hooks import SteplineageHook
    from steplineage.airflow.operators import SteplineageMixin, TrackedPythonOperator, track
    from steplineage.airflow.provider_info import get_provider_info
    from steplineage.airflow.xcom import staged_assets
