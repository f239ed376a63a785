"""Passing steplineage results between tasks through XCom.

A tracked task pushes its execution id (``steplineage_execution_id``) when it
starts and, when it succeeds, the assets it uploaded (``steplineage_assets``,
``{asset table: [asset ids]}``). :func:`staged_assets` points a downstream
task's ``assets=`` at the latter, which also makes it an upstream dependency.

Example:
    >>> prepared = prepare_data()  # doctest: +SKIP
    >>> train.override(assets=staged_assets(prepared))()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import XComArg

from steplineage.airflow.adapter import ASSETS_XCOM_KEY, EXECUTION_ID_XCOM_KEY

__all__ = ["execution_id_of", "staged_assets"]


def _operator(task_or_output: Any) -> Any:
    # A TaskFlow call returns an XComArg; classic operators are used as they are.
    return getattr(task_or_output, "operator", task_or_output)


def staged_assets(task_or_output: Any) -> XComArg:
    """The assets an upstream tracked task uploaded, for another task's ``assets=``.

    Example:
        >>> train.override(assets=staged_assets(prepare_data()))()  # doctest: +SKIP
    """
    return XComArg(_operator(task_or_output), key=ASSETS_XCOM_KEY)


def execution_id_of(task_or_output: Any) -> XComArg:
    """The execution id of an upstream tracked task's try, as an XComArg.

    Example:
        >>> notify(execution_id=execution_id_of(train_out))  # doctest: +SKIP
    """
    return XComArg(_operator(task_or_output), key=EXECUTION_ID_XCOM_KEY)
