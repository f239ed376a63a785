"""Tracked operators: each try of the task becomes an execution in the catalog.

* :class:`TrackedPythonOperator` — a ``PythonOperator`` whose callable may ask
  for the live :class:`~steplineage.Execution` (a parameter annotated
  ``sl.Execution`` or named ``sl_execution``).
* :class:`SteplineageMixin` — put it first in the bases of any operator class.
* :func:`track` — track an operator you already have (``BashOperator``, SQL
  operators, ``KubernetesPodOperator`` ...) without rewriting it.

``inputs``/``outputs`` Assets are also added to the task's ``inlets``/``outlets``,
so Airflow emits its asset events as usual and data-aware scheduling keeps
working; the task's own inlet/outlet Assets are recorded as inputs/outputs.
``inputs``, ``outputs`` and ``assets`` are templated (an ``XComArg`` works too).

Example:
    >>> from airflow.providers.standard.operators.bash import BashOperator
    >>> dump = track(BashOperator(task_id="dump", bash_command="pg_dump ... > /data/dump.sql"),
    ...              outputs=["/data/dump.sql"])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred

from steplineage.airflow.adapter import TaskRun, TaskTracker, TrackingSpec
from steplineage.airflow.refs import assets_of
from steplineage.errors import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["EXECUTION_PARAMETER", "SteplineageMixin", "TrackedPythonOperator",
           "execution_parameter", "track"]

#: A callable parameter with this name receives the live Execution (any annotation).
EXECUTION_PARAMETER = "sl_execution"
_SL_FIELDS = ("sl_inputs", "sl_outputs", "sl_assets")

OperatorT = TypeVar("OperatorT", bound=BaseOperator)


def execution_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter that receives the Execution, if it has one.

    It is the parameter annotated with :class:`steplineage.Execution` (also as a
    string annotation) or, failing that, one named ``sl_execution``.

    Example:
        >>> import steplineage as sl
        >>> def train(rows, exe: sl.Execution): ...
        >>> execution_parameter(train)
        'exe'
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable forward refs: use the raw annotations
        hints = dict(getattr(fn, "__annotations__", {}))
    for name in signature.parameters:
        hint = hints.get(name)
        if hint is not None and _is_execution_hint(hint):
            return name
    return EXECUTION_PARAMETER if EXECUTION_PARAMETER in signature.parameters else None


def _is_execution_hint(hint: Any) -> bool:
    if isinstance(hint, str):
        # Unresolved: "sl.Execution", "Execution | None", "Optional[Execution]", "'Execution'".
        parts = hint.replace(" ", "").strip("'\"").replace("Optional[", "").rstrip("]")
        return any(p.split(".")[-1] == "Execution" for p in parts.split("|"))
    if typing.get_args(hint):  # Execution | None, Optional[Execution]
        return any(_is_execution_hint(arg) for arg in typing.get_args(hint))
    return (getattr(hint, "__module__", "") == "steplineage.tracking.execution"
            and getattr(hint, "__qualname__", "") == "Execution")


def check_execution_parameter(fn: Callable[..., Any]) -> str | None:
    """Like :func:`execution_parameter`, refusing a position Airflow cannot fill.

    Airflow passes upstream values positionally, so the Execution must come
    after them (last positional parameter) or be keyword-only.

    Raises:
        ConfigurationError: the parameter is followed by positional parameters.

    Example:
        >>> def bad(exe: "Execution", rows): ...
        >>> check_execution_parameter(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        steplineage.errors.ConfigurationError: bad(): the Execution parameter 'exe' must ...
    """
    name = execution_parameter(fn)
    if name is None:
        return None
    params = list(inspect.signature(fn).parameters.values())
    index = next(i for i, p in enumerate(params) if p.name == name)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    later = [p.name for p in params[index + 1:] if p.kind in positional]
    if params[index].kind is inspect.Parameter.POSITIONAL_ONLY or later:
        fn_name = getattr(fn, "__name__", "task")
        raise ConfigurationError(
            f"{fn_name}(): the Execution parameter {name!r} must come after the data parameters "
            f"or be keyword-only, e.g. def {fn_name}({', '.join(later) or 'rows'}, "
            f"{name}: sl.Execution): ...")
    return name


class SteplineageMixin:
    """Makes any operator record each try as an execution. Put it first in the bases.

    Args:
        inputs, outputs: refs, Airflow Assets, URIs or absolute paths (templated).
        assets: asset ids to stage into the working dir (templated; an XComArg
            of an upstream task's ``steplineage_assets`` works).
        workflow: workflow name; default the DAG.
        strict: fail the task when tracking fails; default from the connection/config.
        steplineage_conn_id: connection with the catalog settings.
        results: where ``exe.write_results`` writes results.json.
        upload: ``"auto"`` (default) or ``"manual"``.

    Example:
        >>> from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
        >>> class TrackedSQL(SteplineageMixin, SQLExecuteQueryOperator): ...
        >>> TrackedSQL(task_id="agg", sql="...", inputs=[raw], outputs=[daily])  # doctest: +SKIP
    """

    sl_inputs: Sequence[Any]
    sl_outputs: Sequence[Any]
    sl_assets: Any
    steplineage_spec: TrackingSpec

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The operator's own templated fields plus ours: the mixin must not shadow them.
        base: Sequence[str] = ()
        for klass in cls.__mro__:
            if klass is not SteplineageMixin and "template_fields" in klass.__dict__:
                base = klass.__dict__["template_fields"]
                break
        cls.template_fields = tuple(dict.fromkeys([*base, *_SL_FIELDS]))
        if cls.__mro__[1] is SteplineageMixin and "__init__" not in cls.__dict__:
            # Airflow's operator metaclass only wraps an __init__ the class defines itself,
            # and it insists that the outermost __init__ is wrapped.
            @functools.wraps(SteplineageMixin.__init__)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                SteplineageMixin.__init__(self, *args, **kwargs)

            cls.__init__ = __init__  # type: ignore[misc]

    def __init__(self, *args: Any, inputs: Sequence[Any] | None = None,
                 outputs: Sequence[Any] | None = None, assets: Any = None,
                 workflow: str | None = None, strict: bool | None = None,
                 steplineage_conn_id: str | None = None, results: Any = None,
                 upload: Literal["auto", "manual"] = "auto", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _configure(self, inputs=inputs, outputs=outputs, assets=assets, workflow=workflow,
                   strict=strict, conn_id=steplineage_conn_id, results=results, upload=upload)

    def _sl_tracker(self, context: Context) -> TaskTracker:
        spec = self.steplineage_spec
        spec = TrackingSpec(inputs=_listify(self.sl_inputs), outputs=_listify(self.sl_outputs),
                            assets=self.sl_assets, workflow=spec.workflow, strict=spec.strict,
                            conn_id=spec.conn_id, results=spec.results, upload=spec.upload)
        return TaskTracker(TaskRun.from_task_instance(context["ti"], context), spec)

    def _sl_execution_parameter(self) -> str | None:
        return None

    def execute(self, context: Context) -> Any:
        """Run the operator inside a tracked execution (see the module docstring).

        Example:
            >>> op.execute(context)  # doctest: +SKIP
        """
        tracker = self._sl_tracker(context)
        exe = tracker.start(self, context)
        if exe is not None and exe.status.value == "skipped":
            raise AirflowSkipException(
                f"steplineage: workflow {exe.workflow.name!r} is inactive; activate it with "
                f"cat.set_workflow_active({exe.workflow.name!r}, True)")
        if (name := self._sl_execution_parameter()) is not None:
            # PythonOperator fills callable parameters from the context by name.
            context[name] = exe  # type: ignore[literal-required]
        return _run_tracked(tracker, context, lambda: super(SteplineageMixin, self).execute(
            context))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None,
                         context: Context) -> Any:
        """Finish a deferred try: the same execution resumes in this new process.

        Example:
            >>> op.resume_execution("execute_complete", {"event": None}, context)  # doctest: +SKIP
        """
        tracker = self._sl_tracker(context)
        tracker.start(self, context)
        return _run_tracked(tracker, context, lambda: super(SteplineageMixin, self)
                            .resume_execution(next_method, next_kwargs, context))


def _run_tracked(tracker: TaskTracker, context: Context, run: Callable[[], Any]) -> Any:
    try:
        result = run()
    except TaskDeferred:
        tracker.defer()
        raise
    except AirflowSkipException as exc:
        tracker.skip(str(exc))
        raise
    except BaseException as exc:
        tracker.fail(exc)
        raise
    tracker.succeed(context)
    return result


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _configure(op: Any, *, inputs: Any, outputs: Any, assets: Any, workflow: str | None,
               strict: bool | None, conn_id: str | None, results: Any,
               upload: Literal["auto", "manual"]) -> None:
    if upload not in ("auto", "manual"):
        raise ConfigurationError(f"upload={upload!r}: use 'auto' or 'manual'")
    op.steplineage_spec = TrackingSpec(workflow=workflow, strict=strict, conn_id=conn_id,
                                       results=results, upload=upload)
    # Assigned after __init__ so XComArgs in them become upstream dependencies.
    op.sl_inputs = _listify(inputs)
    op.sl_outputs = _listify(outputs)
    op.sl_assets = assets
    # Declared Assets are Airflow's inlets/outlets too: asset events and
    # data-aware scheduling work as if the user had listed them there.
    for asset in assets_of(op.sl_inputs):
        if asset not in op.inlets:
            op.inlets.append(asset)
    for asset in assets_of([*op.sl_outputs, results]):
        if asset not in op.outlets:
            op.outlets.append(asset)


class TrackedPythonOperator(SteplineageMixin, PythonOperator):
    """A ``PythonOperator`` whose every try is an execution; the callable may get the Execution.

    Example:
        >>> def train(epochs: int, exe: sl.Execution) -> None:
        ...     exe.log_metrics({"epochs": epochs})
        >>> TrackedPythonOperator(task_id="train", python_callable=train, op_kwargs={"epochs": 3},
        ...                       outputs=[Asset("file:///data/model")])  # doctest: +SKIP
    """

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        check_execution_parameter(python_callable)
        super().__init__(python_callable=python_callable, **kwargs)

    def _sl_execution_parameter(self) -> str | None:
        return execution_parameter(self.python_callable)


_TRACKED_CLASSES: dict[type, type] = {}


def _tracked_class(cls: type) -> type:
    if issubclass(cls, SteplineageMixin):
        return cls
    sub = _TRACKED_CLASSES.get(cls)
    if sub is None:
        sub = type(f"Tracked{cls.__name__}", (SteplineageMixin, cls), {
            # The scheduler recognises tracked tasks by their module (see the listener).
            "__module__": __name__,
            "__doc__": f"{cls.__name__} tracked by steplineage (made by track()).",
        })
        _TRACKED_CLASSES[cls] = sub
    return sub


def track(operator: OperatorT, *, inputs: Sequence[Any] | None = None,
          outputs: Sequence[Any] | None = None, assets: Any = None,
          workflow: str | None = None, strict: bool | None = None,
          steplineage_conn_id: str | None = None, results: Any = None,
          upload: Literal["auto", "manual"] = "auto") -> OperatorT:
    """Track an existing operator: each try becomes an execution. Returns the same object.

    The operator keeps its behaviour and arguments; its class becomes a
    subclass with :class:`SteplineageMixin` (``Tracked<ClassName>``).

    Raises:
        ConfigurationError: ``operator`` is not an operator instance (for a mapped
            operator, subclass with :class:`SteplineageMixin` instead).

    Example:
        >>> from airflow.providers.standard.operators.bash import BashOperator
        >>> report = track(BashOperator(task_id="report", bash_command="make report"),
        ...                inputs=[Asset("file:///data/clean.csv")],
        ...                outputs=["/data/report.html"])  # doctest: +SKIP
    """
    if not isinstance(operator, BaseOperator):
        raise ConfigurationError(
            f"track() needs an operator instance, got {type(operator).__name__}. For mapped "
            "tasks (.partial().expand()), subclass instead: class TrackedBash(SteplineageMixin, "
            "BashOperator): ...")
    # __class__ is swapped with object's setattr: BaseOperator's hooks are for fields.
    object.__setattr__(operator, "__class__", _tracked_class(type(operator)))
    _configure(operator, inputs=inputs, outputs=outputs, assets=assets, workflow=workflow,
               strict=strict, conn_id=steplineage_conn_id, results=results, upload=upload)
    return operator
