"""``@track_pipeline_execution``: a plain function becomes a tracked execution (Watcher's shape).

The function runs inside an execution; if its workflow is inactive it does
not run at all and the execution is recorded as ``skipped``. It may return
:class:`ETLMetrics` (or a subclass), which are validated and logged; callers
get :class:`ExecutionResults` back. A parameter annotated with
:class:`ExecutionContext` receives the execution's ids and watermarks.

With ``pipeline_id`` (from ``cat.sync_pipeline_config``) the pipeline's
``active`` flag and watermark settings apply; without an explicit
``watermark`` a run starts where the last completed run of its workflow said
the next one should (its ``next_watermark``).

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> @sl.track_pipeline_execution(workflow="load_orders", catalog=cat)
    ... def load(ctx: sl.ExecutionContext) -> sl.ETLMetrics:
    ...     return sl.ETLMetrics(inserts=10, total_rows=10)
    >>> load().metrics.inserts
    10
    >>> synced = cat.sync_pipeline_config(sl.PipelineConfig(name="orders", default_watermark="0"))
    >>> @sl.track_pipeline_execution(pipeline_id=synced.id, catalog=cat)
    ... def orders(ctx: sl.ExecutionContext) -> None:
    ...     print("from", ctx.watermark)
    >>> orders().status.value
    from 0
    'completed'
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from steplineage.errors import CatalogUnavailableError, ConfigurationError, MetricsError
from steplineage.models import (ETLMetrics, ExecutionConfig, ExecutionContext, ExecutionResults,
                                InputSpec, WorkflowRecord)
from steplineage.status import Status

def orm_now() -> Any:
    """Now in UTC (the catalog's clock convention)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution

__all__ = ["track_pipeline_execution"]

log = logging.getLogger("steplineage")

P = ParamSpec("P")
R = TypeVar("R")


def _context_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter annotated with ExecutionContext, if any."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolved forward references: fall back to raw annotations
        hints = {k: v for k, v in getattr(fn, "__annotations__", {}).items()}
    for name, hint in hints.items():
        if name != "return" and (hint is ExecutionContext or hint == "ExecutionContext"
                                 or getattr(hint, "__name__", None) == "ExecutionContext"):
            return name
    return None


def _check_metrics(fn_name: str, result: Any) -> ETLMetrics | None:
    if result is None or isinstance(result, ETLMetrics):
        return result
    raise MetricsError(f"{fn_name} returned {type(result).__name__}; a tracked pipeline returns "
                       "sl.ETLMetrics(inserts=..., total_rows=...) or None")


def _workflow(cat: Catalog, name: str) -> WorkflowRecord:
    try:
        return cat.get_workflow(name)
    except LookupError:
        return cat.add_workflow(name)


def _pipeline(cat: Catalog, pipeline_id: str) -> dict[str, Any]:
    """The pipeline's settings, remembered on this host so a step can run in an outage."""
    from steplineage.registry.pipelines import get_pipeline

    return cat._cached(f"pipeline:{pipeline_id}",
                       lambda: get_pipeline(cat.store, pipeline_id).model_dump())


def _pipeline_workflow(pipe: dict[str, Any]) -> WorkflowRecord:
    """The workflow ``sync_pipeline_config`` registered for the pipeline (same id)."""
    from steplineage.catalog.catalog import workflow_id

    return WorkflowRecord(id=workflow_id(pipe["name"], "script", None, None, None),
                          name=pipe["name"], workflow_type="script",
                          description=pipe["description"], active=pipe["active"])


def _previous_watermark(cat: Catalog, workflow: str) -> str | None:
    """Where the last completed run said the next should start; None if unknown or offline."""
    from steplineage.registry.pipelines import last_watermark

    try:
        return last_watermark(cat.store, workflow)
    except CatalogUnavailableError:
        log.warning("steplineage: catalog unreachable, %s starts without a watermark", workflow)
        return None


def track_pipeline_execution(
    workflow: str | WorkflowRecord | None = None,
    catalog: Catalog | None = None,
    *,
    pipeline_id: str | None = None,
    active: bool | None = None,
    parent_execution_id: str | None = None,
    watermark: Any = None,
    next_watermark: Any = None,
    inputs: Sequence[InputSpec] = (),
    outputs: Sequence[InputSpec] = (),
    parameters: dict[str, Any] | None = None,
    description: str = "",
) -> Callable[[Callable[P, Any]], Callable[P, ExecutionResults | Awaitable[ExecutionResults]]]:
    """Track every call of the decorated function as one execution.

    Args:
        workflow: workflow name (created as a script workflow if new) or record.
        catalog: the catalog; default ``sl.Catalog()`` made at first call.
        pipeline_id: a synced pipeline's id (Watcher); its name is the workflow, its
            ``active`` flag and watermark settings apply.
        active: override the workflow's or pipeline's active flag (False: skip, do not run).
        parent_execution_id: make each call a child of this execution.
        watermark: where this run starts (default: the ``next_watermark`` of the last
            completed run, else the pipeline's ``default_watermark``);
            ``next_watermark``: where the next starts (a value, or a function called
            at start; default: the start time if the pipeline says ``'now'``).
        inputs, outputs: refs or local paths the function reads and writes.
        parameters: extra parameters to record (call arguments are recorded too).

    Raises:
        ConfigurationError: at decoration time, if used without arguments.
    """
    if callable(workflow) and not isinstance(workflow, (str, WorkflowRecord)):
        raise ConfigurationError(
            "track_pipeline_execution needs arguments: use "
            "@sl.track_pipeline_execution(workflow='etl') (with parentheses)")
    if workflow is None and pipeline_id is None:
        raise ConfigurationError(
            "track_pipeline_execution needs a workflow or a pipeline: "
            "@sl.track_pipeline_execution(workflow='etl') or "
            "@sl.track_pipeline_execution(pipeline_id=cat.sync_pipeline_config(cfg).id)")

    def decorator(fn: Callable[P, Any]) -> Callable[P, Any]:
        ctx_name = _context_parameter(fn)
        signature = inspect.signature(fn)
        state: dict[str, Catalog] = {}

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Execution:
            cat = catalog
            if cat is None:
                if "cat" not in state:
                    from steplineage.catalog.catalog import Catalog

                    state["cat"] = Catalog()
                cat = state["cat"]
            try:
                bound = signature.bind_partial(*args, **kwargs)
                call_params = {k: v for k, v in bound.arguments.items() if k != ctx_name}
            except TypeError:
                call_params = {}
            flow, switch, start_mark, next_mark = workflow, active, watermark, next_watermark
            pipe = _pipeline(cat, pipeline_id) if pipeline_id is not None else None
            if pipe is not None:
                flow = flow or pipe["name"]
                switch = pipe["active"] if switch is None else switch
                if next_mark is None and pipe["next_watermark"] == "now":
                    next_mark = orm_now().isoformat()
            assert flow is not None
            if start_mark is None:
                name = flow.name if isinstance(flow, WorkflowRecord) else flow
                start_mark = _previous_watermark(cat, name) or (
                    pipe["default_watermark"] if pipe else None)
            if callable(next_mark):
                next_mark = next_mark()
            config = ExecutionConfig(
                workflow=flow, name=getattr(fn, "__name__", None) if isinstance(
                    flow, WorkflowRecord) else None,
                parent_execution_id=parent_execution_id, watermark=start_mark,
                next_watermark=next_mark, inputs=list(inputs), outputs=list(outputs),
                parameters={**call_params, **(parameters or {})}, description=description)
            if switch is not None:
                # The flag given here wins over the catalog's, for this call only.
                if pipe is not None and not isinstance(flow, WorkflowRecord):
                    wf = _pipeline_workflow(pipe)  # no catalog round trip: works offline
                else:
                    wf = flow if isinstance(flow, WorkflowRecord) else _workflow(cat, flow)
                config = config.model_copy(update={"workflow": wf.model_copy(
                    update={"active": switch})})
            return cat.create_execution(config)

        def context(exe: Execution) -> ExecutionContext:
            return ExecutionContext(execution_id=exe.id, workflow=exe.workflow.name,
                                    pipeline_id=pipeline_id,
                                    watermark=exe.config.watermark,
                                    next_watermark=exe.config.next_watermark,
                                    parent_execution_id=exe.parent_id, execution=exe)

        def finish(exe: Execution, result: Any) -> ExecutionResults:
            return ExecutionResults(execution_id=exe.id, status=exe.status, metrics=result)

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> ExecutionResults:
                exe = start(args, kwargs)
                if exe.status is Status.skipped:
                    return finish(exe, None)
                with exe:
                    if ctx_name:
                        kwargs[ctx_name] = context(exe)
                    metrics = _check_metrics(fn.__name__, await fn(*args, **kwargs))
                    if metrics is not None:
                        exe.log_metrics(metrics.model_dump(exclude_none=True))
                return finish(exe, metrics)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ExecutionResults:
            exe = start(args, kwargs)
            if exe.status is Status.skipped:
                return finish(exe, None)
            with exe:
                if ctx_name:
                    kwargs[ctx_name] = context(exe)
                metrics = _check_metrics(fn.__name__, fn(*args, **kwargs))
                if metrics is not None:
                    exe.log_metrics(metrics.model_dump(exclude_none=True))
            return finish(exe, metrics)

        return wrapper

    return decorator
