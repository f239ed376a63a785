"""What a task run records as its parameters, with secrets masked.

A task's parameters are its rendered templated fields (a Python task's
``op_kwargs`` are spread out by name), the DAG's ``params`` and any
``parameters=`` given to steplineage. Before they leave the task process they
pass Airflow's secrets masker (values of connections and variables fetched in
this process, and keys Airflow deems sensitive); the step tracker then masks
keys that look secret (password, token, ...) and summarises huge values (an
XCom of a million rows) instead of storing them
(:func:`~steplineage.tracking.step.summarise_parameters`).

Example:
    >>> airflow_redact({"password": "hunter2"})
    {'password': '***'}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from steplineage.redaction import jsonable

__all__ = ["airflow_redact", "task_parameters"]

log = logging.getLogger(__name__)

# Our own templated fields are lineage, not parameters.
_OWN_FIELDS = frozenset({"sl_inputs", "sl_outputs", "sl_assets"})


def airflow_redact(value: Any) -> Any:
    """``value`` with every secret Airflow's masker knows replaced by ``***``.

    Falls back to ``value`` unchanged when the masker is unavailable (the
    core's key-based redaction still applies).

    Example:
        >>> airflow_redact({"password": "hunter2"})
        {'password': '***'}
    """
    try:
        from airflow.sdk.log import redact
    except ImportError:  # pragma: no cover - depends on the Airflow layout
        return value
    try:
        return redact(value)
    except Exception:  # noqa: BLE001 - never fail a task over masking; core redaction follows
        log.debug("steplineage: Airflow's secrets masker failed", exc_info=True)
        return value


def task_parameters(task: Any, context: Mapping[str, Any] | None,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters to record for one run of ``task`` (rendered fields, DAG params, extra).

    Example:
        >>> from types import SimpleNamespace
        >>> t = SimpleNamespace(template_fields=("op_kwargs",),
        ...                     op_kwargs={"n": 3, "api_token": "t0k"})
        >>> task_parameters(t, {"params": {}})
        {'n': 3, 'api_token': '***'}
    """
    params: dict[str, Any] = {}
    for field in getattr(task, "template_fields", ()):
        if field in _OWN_FIELDS:
            continue
        value = getattr(task, field, None)
        if field == "op_kwargs" and isinstance(value, Mapping):
            params.update(value)
        elif value not in (None, "", (), [], {}):
            params[field] = value
    dag_params = (context or {}).get("params")
    if dag_params:
        params["params"] = {k: dag_params[k] for k in dag_params}
    params.update(extra or {})
    return airflow_redact(jsonable(params))
