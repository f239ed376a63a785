"""``@tracked_flow`` and ``@tracked_task``: Prefect's decorators, with steplineage tracking.

Both take every option of Prefect's ``@flow`` / ``@task`` plus steplineage's
own (:class:`TrackingOptions`: ``inputs``, ``outputs``, ``assets``,
``datasets``, ``workflow``, ``catalog``, ``strict``, ``upload``) and return
real Prefect ``Flow`` / ``Task`` objects: the function is wrapped with
:func:`functools.wraps` and the wrapper handed to ``prefect.flow`` /
``prefect.task``, so ``.submit``, ``.map``, ``.with_options``, deployments,
caching, retries, the signature and Prefect's parameter validation are all
Prefect's own. Async functions stay async.

Example:
    >>> from steplineage.prefect import tracked_flow, tracked_task
    >>> @tracked_task(inputs=["data/raw/{day}.csv"], outputs=["data/clean/{day}.csv"], retries=2)
    ... def clean(day: str) -> None: ...
    >>> @tracked_flow(log_prints=True)
    ... def etl(days: list[str]) -> None:
    ...     clean.map(days).wait()
    >>> type(etl).__name__, type(clean).__name__
    ('Flow', 'Task')
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

from prefect.tasks import TaskOptions
from typing_extensions import TypedDict, Unpack

from steplineage.errors import ConfigurationError
from steplineage.models import WorkflowRecord
from steplineage.prefect import adapter, hooks
from steplineage.prefect.adapter import Step, StepOptions
from steplineage.prefect.runtime import _ACTIVE
from steplineage.prefect.specs import Specs, asset_keys
from steplineage.settings import get_settings

if TYPE_CHECKING:
    from prefect import Flow, Task

    from steplineage.catalog.catalog import Catalog

__all__ = ["TrackedFlowOptions", "TrackedTaskOptions", "TrackingOptions", "tracked_flow",
           "tracked_task"]

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("steplineage.prefect")


class TrackingOptions(TypedDict, total=False):
    """What ``@tracked_task`` / ``@tracked_flow`` add to Prefect's options.

    Keys:
        inputs: refs, paths, URIs, templates (``"raw/{day}.csv"``) or callables
            of the call's arguments, read by the step.
        outputs: the same kinds, written by the step.
        assets: ids of catalog assets to stage into the working dir (see
            ``current_execution().asset_paths``); templates allowed.
        datasets: names of catalog datasets to stage.
        workflow: workflow name or record; default: the enclosing flow's (a
            task), one for this flow (a flow).
        catalog: a Catalog or URL; default: the enclosing flow's, else settings.
        strict: fail the step when tracking fails; default: the flow's, else
            ``STEPLINEAGE_STRICT``.
        upload: ``"auto"`` uploads outputs when the function returns;
            ``"manual"`` waits for ``current_execution().upload_execution_outputs()``.
    """

    inputs: Specs
    outputs: Specs
    assets: Specs
    datasets: list[str] | None
    workflow: str | WorkflowRecord | None
    catalog: Catalog | str | None
    strict: bool | None
    upload: Literal["auto", "manual"]


class TrackedTaskOptions(TaskOptions, TrackingOptions, total=False):
    """Every option of Prefect's ``@task`` plus :class:`TrackingOptions`."""


class TrackedFlowOptions(TrackingOptions, total=False, extra_items=Any):
    """:class:`TrackingOptions` plus any option of Prefect's ``@flow`` (checked when decorating).

    Prefect has no typed dict of its flow options, as it has for tasks.
    """


_OURS = tuple(TrackingOptions.__annotations__)


def _split_options(kind: str, options: dict[str, Any]) -> tuple[StepOptions, dict[str, Any]]:
    """Our options (validated) and Prefect's; misuse fails here, at decoration time."""
    ours = {k: options[k] for k in _OURS if k in options}
    theirs = {k: v for k, v in options.items() if k not in ours}
    upload, datasets = ours.get("upload", "auto"), ours.pop("datasets", None)
    if upload not in ("auto", "manual"):
        raise ConfigurationError(f"upload={upload!r}: use 'auto' (outputs are uploaded when the "
                                 "step returns) or 'manual' (call exe.upload_execution_outputs())")
    if isinstance(datasets, str):
        raise ConfigurationError(f"datasets= takes a list: datasets=[{datasets!r}]")
    step_options = StepOptions(datasets=tuple(datasets or ()), **ours)
    _check_prefect_options(kind, theirs)
    return step_options, theirs


def _check_prefect_options(kind: str, options: dict[str, Any]) -> None:
    """Unknown options fail at decoration time, naming the closest Prefect option."""
    from prefect import Flow, Task

    allowed = set(inspect.signature((Flow if kind == "flow" else Task).__init__).parameters)
    allowed -= {"self", "fn"}
    for name in options:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(
                f"@tracked_{kind} got an unknown option {name!r}{hint}. It takes every option "
                f"of Prefect's @{kind} plus {', '.join(_OURS)}, e.g. @tracked_{kind}(retries=2, "
                "outputs=['data/out.csv'])")


def _check_function(kind: str, fn: object) -> None:
    if not callable(fn):
        raise ConfigurationError(
            f"@tracked_{kind} decorates a function, got {type(fn).__name__}; use it as\n"
            f"    @tracked_{kind}(retries=2)\n    def step(x: int) -> int: ...")
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise ConfigurationError(
            f"@tracked_{kind} does not track generator functions ({fn.__name__}): return a "
            "list instead of yielding, or use Prefect's plain decorator for this step")


def _add_hook(options: dict[str, Any], name: str, hook: Callable[..., None]) -> None:
    options[name] = [*(options.get(name) or []), hook]


def _in_own_run(kind: str, wrapper: Callable[..., Any]) -> bool:
    """Whether Prefect is running this very function (not e.g. ``task.fn(...)`` called by hand)."""
    from prefect.context import FlowRunContext, TaskRunContext

    ctx = TaskRunContext.get() if kind == "task" else FlowRunContext.get()
    owner = getattr(ctx, kind, None) if ctx is not None else None
    return owner is not None and getattr(owner, "fn", None) is wrapper


def _skipped_state(step: Step) -> Any:
    from prefect.states import Completed

    workflow = step.execution.workflow.name if step.execution is not None else "?"
    return Completed(name="Skipped", message=f"steplineage: workflow {workflow!r} is inactive; "
                                             "the function did not run")


def _publish_target(kind: str, step: Step) -> tuple[Any, str, str, str | None] | None:
    """What to publish for a finished step: (catalog, execution id, flow name, UI URL)."""
    if kind != "flow" or step.execution is None or step.active.catalog is None \
            or step.execution.offline:  # nothing to read back until the spool is replayed
        return None
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    flow_name = ctx.flow.name if ctx is not None and ctx.flow is not None else step.execution.name
    return step.active.catalog, step.execution.id, flow_name, get_settings().ui_url


def _publish(kind: str, step: Step) -> None:
    target = _publish_target(kind, step)
    if target is not None:
        from steplineage.prefect.artifacts import publish_artifacts

        with step.tracker.guard("publish lineage artifacts"):
            publish_artifacts(*target)


async def _apublish(kind: str, step: Step) -> None:
    target = _publish_target(kind, step)
    if target is not None:
        from steplineage.prefect.artifacts import apublish_artifacts

        with step.tracker.guard("publish lineage artifacts"):
            await apublish_artifacts(*target)


def _wrap(kind: Literal["flow", "task"], fn: Callable[P, R], options: StepOptions) -> Callable[P, R]:
    signature = inspect.signature(fn)
    start = adapter.start_flow if kind == "flow" else adapter.start_task

    def begin(wrapper: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Step | None:
        if not _in_own_run(kind, wrapper):
            return None
        return start(options, fn, adapter.call_parameters(signature, args, kwargs))

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            step = begin(async_wrapper, args, kwargs)
            if step is None:
                return await fn(*args, **kwargs)
            if step.skipped:
                return _skipped_state(step)
            token = _ACTIVE.set(step.active)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                step.fail(exc)
                await _apublish(kind, step)
                raise
            finally:
                _ACTIVE.reset(token)
            step.finish(result)
            await _apublish(kind, step)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        step = begin(wrapper, args, kwargs)
        if step is None:
            return fn(*args, **kwargs)
        if step.skipped:
            return _skipped_state(step)
        token = _ACTIVE.set(step.active)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            step.fail(exc)
            _publish(kind, step)
            raise
        finally:
            _ACTIVE.reset(token)
        step.finish(result)
        _publish(kind, step)
        return result

    return wrapper  # type: ignore[return-value]


@overload
def tracked_task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def tracked_task(fn: None = None, /, **options: Unpack[TrackedTaskOptions]
                 ) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def tracked_task(fn: Callable[P, R] | None = None, /, **options: Unpack[TrackedTaskOptions]
                 ) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """A Prefect task whose every attempt is recorded as an execution.

    Each attempt of a task run (``run_count``) is one execution, a child of
    its flow run's execution (or of the tracked task that called it). Inputs
    are hashed (and input assets downloaded and verified) before the function
    runs; outputs become valid versions when it returns. A cache hit is
    recorded as a completed execution whose metric ``reused_from_execution``
    names the execution that computed the result. Static URI outputs are also
    Prefect assets (a ``MaterializingTask``); static URI inputs become
    ``asset_deps``.

    Args:
        **options: steplineage's :class:`TrackingOptions` (``inputs``,
            ``outputs``, ``assets``, ``datasets``, ``workflow``, ``catalog``,
            ``strict``, ``upload``) and any option of Prefect's ``@task``
            (``retries``, ``cache_policy``, ...).

    Raises:
        ConfigurationError: at decoration time, for an unknown option or a
            wrong kind of spec, with an example of correct use.

    Example:
        >>> @tracked_task(inputs=[sl.ResourceRef("raw", "{day}.csv")], retries=2)  # doctest: +SKIP
        ... def load(day: str) -> int: ...
    """
    tracking, task_options = _split_options("task", dict(options))

    def decorate(func: Callable[P, R]) -> Task[P, R]:
        import prefect
        from prefect.tasks import MaterializingTask

        _check_function("task", func)
        prefect_options = dict(task_options)

        def steplineage_record_cache_hit(task: Any, task_run: Any, state: Any) -> None:
            hooks.record_cached(tracking, task, task_run, state)

        def steplineage_record_task_failure(task: Any, task_run: Any, state: Any) -> None:
            hooks.settle_task(tracking, task, task_run, state)

        _add_hook(prefect_options, "on_completion", steplineage_record_cache_hit)
        _add_hook(prefect_options, "on_failure", steplineage_record_task_failure)
        deps = asset_keys(tracking.inputs)  # type: ignore[arg-type]
        if deps:
            prefect_options["asset_deps"] = [*(prefect_options.get("asset_deps") or []), *deps]
        wrapper = _wrap("task", func, tracking)
        materialized = asset_keys(tracking.outputs)  # type: ignore[arg-type]
        if materialized:
            return MaterializingTask(fn=wrapper, assets=materialized, **prefect_options)
        return prefect.task(wrapper, **prefect_options)

    if fn is not None:
        return decorate(fn)
    return decorate


@overload
def tracked_flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def tracked_flow(fn: None = None, /, **options: Unpack[TrackedFlowOptions]
                 ) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def tracked_flow(fn: Callable[P, R] | None = None, /, **options: Unpack[TrackedFlowOptions]
                 ) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """A Prefect flow whose every run is recorded as a parent execution.

    The flow run is an execution of a ``prefect-flow`` workflow (the flow's
    name, version and source file); its tasks and subflows are children. When
    the run ends it publishes a lineage summary, a table of executions and,
    with ``STEPLINEAGE_UI_URL`` set, a link to the lineage UI as Prefect
    artifacts. Crashes, cancellations and runs that fail before the function
    starts (invalid parameters) are recorded by state hooks. An inactive
    workflow's run is recorded as skipped and ends in Prefect state
    ``Completed(name="Skipped")`` without running the function.

    Args:
        **options: steplineage's :class:`TrackingOptions` (the workflow defaults
            to one for this flow) and any option of Prefect's ``@flow``.

    Raises:
        ConfigurationError: at decoration time, for an unknown option.

    Example:
        >>> @tracked_flow(retries=1, log_prints=True)  # doctest: +SKIP
        ... def etl(days: list[str]) -> None:
        ...     clean.map(days).wait()
    """
    tracking, flow_options = _split_options("flow", dict(options))

    def decorate(func: Callable[P, R]) -> Flow[P, R]:
        import prefect

        _check_function("flow", func)
        prefect_options = dict(flow_options)

        def steplineage_record_flow_end(flow: Any, flow_run: Any, state: Any) -> None:
            hooks.settle_flow(tracking, flow, flow_run, state)

        for hook in ("on_failure", "on_crashed", "on_cancellation"):
            _add_hook(prefect_options, hook, steplineage_record_flow_end)
        return prefect.flow(_wrap("flow", func, tracking), **prefect_options)

    if fn is not None:
        return decorate(fn)
    return decorate
