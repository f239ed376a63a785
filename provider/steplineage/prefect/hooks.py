"""Prefect state hooks: what the tracked function's wrapper never sees.

* a cache hit (the function does not run): :func:`record_cached` records a
  completed execution whose metric ``reused_from_execution`` names the
  execution that computed the cached result;
* a task run that failed before or outside its function: :func:`settle_task`;
* a flow run that failed before its function ran (invalid parameters), crashed
  or was cancelled: :func:`settle_flow` makes sure its execution exists and is
  final, and aborts its unfinished children after a crash or cancellation.

Hooks may run in another process (a worker reporting a cancellation), so
they find executions by the ids derived from Prefect's run ids. They never
raise: Prefect logs and ignores hook errors, and a hook must not hide the
run's own outcome.

Example:
    >>> flow = prefect.flow(fn, on_crashed=[lambda f, r, s: settle_flow(options, f, r, s)])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.prefect.adapter import (CACHE_KEY_METRIC, StepOptions, execution_exists,
                                         flow_identity, parent_of_task, resolve_strict,
                                         resolve_workflow, task_identity, task_workflow,
                                         tracker_for)
from steplineage.prefect.runtime import (active_run, flow_execution_id, get_catalog,
                                         task_execution_id)
from steplineage.status import FINAL_STATUSES, Status
from steplineage.tracking.step import StepRun, StepTracker

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["REUSED_FROM_METRIC", "record_cached", "settle_flow", "settle_task"]

REUSED_FROM_METRIC = "reused_from_execution"


def _lenient(options: StepOptions, **context: object) -> StepTracker[Catalog]:
    """A tracker for a hook: never strict (a hook must not hide the run's own outcome)."""
    return StepTracker(lambda: get_catalog(options.catalog, False), strict=False, **context)


def _abort_open_descendants(tracker: StepTracker[Catalog], cat: Catalog, execution_id: str,
                            message: str) -> None:
    todo = [execution_id]
    while todo:
        for child in cat.list_executions(parent_id=todo.pop(), limit=None):
            if child.status not in FINAL_STATUSES:
                tracker.settle(StepRun(
                    name=child.name, execution_id=child.id, parent_id=child.parent_id,
                    workflow=cat.get_workflow(child.workflow_id) if child.workflow_id
                    else child.name), Status.aborted, message)
            todo.append(child.id)


def _state_message(state: Any) -> str:
    return f"Prefect state {state.name}: {state.message or ''}".strip().rstrip(":")


def settle_flow(options: StepOptions, flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure / on_crashed / on_cancellation hook for tracked flows.

    Failed (e.g. invalid parameters, so the function never ran) becomes
    ``failed``; crashed or cancelled becomes ``aborted``, and so do the run's
    unfinished children.

    Example:
        >>> settle_flow(StepOptions(), flow, flow_run, Crashed(message="SIGTERM"))  # doctest: +SKIP
    """
    status = Status.failed if state.is_failed() else Status.aborted
    message = _state_message(state)
    exe_id = flow_execution_id(flow_run.id, flow_run.run_count)
    tracker = _lenient(options, flow=flow.name, flow_run=flow_run.name, execution=exe_id)
    with tracker.guard(f"record the {state.name} state of flow run {flow_run.name!r}"):
        workflow = resolve_workflow(tracker, options.workflow, flow.name, flow.fn, flow.version,
                                    flow.description or "")
        tracker.settle(StepRun(name=flow.name, workflow=workflow, execution_id=exe_id,
                               parameters=dict(flow_run.parameters or {}),
                               identity=flow_identity(flow_run)), status, message)
        cat = tracker.catalog()
        if status is Status.aborted and cat is not None:
            _abort_open_descendants(tracker, cat, exe_id,
                                    f"flow run {flow_run.name!r} ended: {message}")


def settle_task(options: StepOptions, task: Any, task_run: Any, state: Any) -> None:
    """on_failure hook for tracked tasks: the attempt's execution exists and is failed.

    Example:
        >>> settle_task(StepOptions(), task, task_run, Failed(message="boom"))  # doctest: +SKIP
    """
    exe_id = task_execution_id(task_run.id, task_run.run_count)
    tracker = _lenient(options, task_run=task_run.name, execution=exe_id)
    with tracker.guard(f"record the failure of task run {task_run.name!r}"):
        cat = tracker.catalog()
        if cat is None or (execution_exists(cat, exe_id) and
                           cat.get_execution(exe_id).status in FINAL_STATUSES):
            return  # the wrapper saw the failure; nothing to add
        parent = active_run()
        tracker.settle(StepRun(
            name=task_run.name, workflow=task_workflow(tracker, options, parent, task, task.fn),
            execution_id=exe_id, parent_id=parent_of_task(cat, parent, task_run),
            identity=task_identity(task, task_run)), Status.failed, _state_message(state))


def _cache_key(task: Any, state: Any) -> str | None:
    """The cache key Prefect used: recomputed like the engine does, else from the result."""
    from prefect.cache_policies import CachePolicy
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    policy = task.cache_policy
    if task_ctx is not None and isinstance(policy, CachePolicy):
        flow_ctx = FlowRunContext.get()
        with contextlib.suppress(Exception):  # the engine logs its own key errors
            key = policy.compute_key(task_ctx=task_ctx, inputs=task_ctx.parameters or {},
                                     flow_parameters=flow_ctx.parameters if flow_ctx else {})
            if key:
                return key
    storage_key = getattr(getattr(state.data, "metadata", None), "storage_key", None)
    return Path(storage_key).name if storage_key else None


def record_cached(options: StepOptions, task: Any, task_run: Any, state: Any) -> None:
    """on_completion hook for tracked tasks: a cache hit becomes a *reused* execution.

    The attempt is recorded as completed, with metrics ``reused_from_execution``
    (the execution that computed the cached result, None if it is not in this
    catalog) and ``reused_cache_key``. Other completions were recorded by the
    wrapper and are left alone.

    Example:
        >>> record_cached(StepOptions(), task, task_run, Completed(name="Cached"))  # doctest: +SKIP
    """
    if state.name != "Cached":
        return
    from prefect.context import TaskRunContext

    from steplineage.store.executions import completed_with_metric

    parent = active_run()
    exe_id = task_execution_id(task_run.id, task_run.run_count)
    tracker = tracker_for(options, parent, resolve_strict(options.strict, parent),
                          task_run=task_run.name, execution=exe_id)
    with tracker.guard(f"record the cache hit of task run {task_run.name!r}"):
        cat = tracker.catalog()
        if cat is None or execution_exists(cat, exe_id):
            return
        key = _cache_key(task, state)
        producer = completed_with_metric(cat.store, CACHE_KEY_METRIC, key, "prefect") \
            if key else None
        ctx = TaskRunContext.get()
        exe = tracker.create(StepRun(
            name=task_run.name, workflow=task_workflow(tracker, options, parent, task, task.fn),
            execution_id=exe_id, description=task.description or "",
            parent_id=parent_of_task(cat, parent, task_run),
            parameters=dict(ctx.parameters or {}) if ctx is not None else {},
            identity=task_identity(task, task_run)))
        exe.update_status(Status.running, "Prefect found a cached result")
        exe.log_metrics({REUSED_FROM_METRIC: producer, "reused_cache_key": key})
        exe.update_status(Status.completed,
                          f"reused the cached result of execution {producer}" if producer
                          else "reused a cached result computed outside this catalog")
