"""``@task.steplineage``: a TaskFlow task whose every try is an execution in the catalog.

Registered through the provider's ``task-decorators``, so it resolves as
``@task.steplineage(...)`` once steplineage is installed. It takes the
arguments of ``@task`` plus ``inputs``, ``outputs``, ``assets``, ``workflow``,
``strict``, ``steplineage_conn_id``, ``results`` and ``upload`` (see
:class:`~steplineage.airflow.operators.SteplineageMixin`). A parameter
annotated ``sl.Execution`` (or named ``sl_execution``) receives the live
execution; Airflow does not need a value for it when the DAG is parsed.

Example:
    >>> from airflow.sdk import Asset, dag, task
    >>> import steplineage as sl
    >>> @task.steplineage(inputs=[Asset("file:///data/raw.csv")],
    ...                   outputs=[Asset("file:///data/clean.csv")])
    ... def clean(exe: sl.Execution) -> int:
    ...     exe.update_status(sl.Status.running, "cleaning")
    ...     return 42
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory

from steplineage.airflow.operators import (SteplineageMixin, check_execution_parameter,
                                           execution_parameter)

if TYPE_CHECKING:
    from airflow.sdk.bases.decorator import TaskDecorator

__all__ = ["steplineage_task"]


class _SteplineageDecoratedOperator(SteplineageMixin, _PythonDecoratedOperator):
    """The operator behind ``@task.steplineage``."""

    custom_operator_name: str = "@task.steplineage"

    def _sl_execution_parameter(self) -> str | None:
        return execution_parameter(self.python_callable)


def _optional_execution(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its Execution parameter defaulting to None in the signature Airflow sees.

    Airflow binds the call's arguments when the DAG is parsed, long before the
    execution exists; the value is put in at run time.
    """
    name = check_execution_parameter(fn)
    if name is None:
        return fn
    signature = inspect.signature(fn)
    if signature.parameters[name].default is not inspect.Parameter.empty:
        return fn

    @functools.wraps(fn)
    def with_execution(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    with_execution.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(default=None) if p.name == name else p for p in signature.parameters.values()])
    return with_execution


def steplineage_task(python_callable: Callable[..., Any] | None = None,
                     multiple_outputs: bool | None = None, **kwargs: Any) -> TaskDecorator:
    """The ``@task.steplineage`` decorator (Airflow calls it through the provider registry).

    Raises:
        ConfigurationError: at decoration time, when the Execution parameter is
            placed where Airflow cannot pass it.

    Example:
        >>> @task.steplineage(outputs=["/data/out/report.csv"])  # doctest: +SKIP
        ... def report(rows: list[dict]) -> None: ...
    """
    if python_callable is not None:
        python_callable = _optional_execution(python_callable)
        return task_decorator_factory(python_callable=python_callable,
                                      multiple_outputs=multiple_outputs,
                                      decorated_operator_class=_SteplineageDecoratedOperator,
                                      **kwargs)

    factory = task_decorator_factory(multiple_outputs=multiple_outputs,
                                     decorated_operator_class=_SteplineageDecoratedOperator,
                                     **kwargs)

    @functools.wraps(factory)
    def decorate(fn: Callable[..., Any]) -> Any:
        return factory(_optional_execution(fn))

    return decorate  # type: ignore[return-value]
