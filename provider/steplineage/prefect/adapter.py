"""Prefect runs into catalog executions: the one layer that talks to the catalog.

The decorators call :func:`start_flow` / :func:`start_task` inside the run and
:meth:`Step.finish` / :meth:`Step.fail` after the user's function; Prefect's
state hooks call :func:`record_cached`, :func:`settle_task` and
:func:`settle_flow` for what the wrapper never sees (cache hits, crashes,
cancellations, runs that failed before the function was called).

Every catalog call goes through :func:`guarded`: a failure is logged and the
run goes on untracked, or with ``strict=True`` it raises
:class:`~steplineage.TrackingError`. Errors that say the *data* or the
declaration is wrong (a staged input with the wrong checksum, inconsistent or
conflicting lineage, a template naming no argument) are raised either way:
running on wrong data is worse than not tracking, and a typo should not pass
as an outage.

Example:
    >>> step = start_task(options, fn_signature, args, kwargs)  # doctest: +SKIP
    >>> step.finish(result)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steplineage.errors import ConfigurationError, LineageError, NotFoundError, StagingError
from steplineage.guard import tracking_guard
from steplineage.models import (ExecutionConfig, OrchestratorIdentity, ResourceRole,
                                WorkflowRecord, WorkflowType)
from steplineage.prefect.runtime import (ActiveRun, active_run, flow_execution_id, get_catalog,
                                         task_execution_id)
from steplineage.prefect.specs import Specs, check_specs, expand, is_uri, to_catalog_spec
from steplineage.redaction import jsonable
from steplineage.settings import get_settings
from steplineage.status import FINAL_STATUSES, Status

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.execution import Execution

__all__ = ["Step", "StepOptions", "guarded", "record_cached", "settle_flow", "settle_task",
           "start_flow", "start_task"]

log = logging.getLogger("steplineage.prefect")

# Errors meaning the data or the step's declaration is wrong (not that the catalog is
# down); they fail the step even when tracking is not strict.
_MUST_RAISE = (StagingError, LineageError, ConfigurationError)
# Longest JSON text of one parameter value kept in the catalog; bigger values are summarised.
_MAX_PARAM_CHARS = 2000
_NOT_STARTED = (Status.created, Status.initializing)
CACHE_KEY_METRIC = "prefect_cache_key"
REUSED_FROM_METRIC = "reused_from_execution"


@contextlib.contextmanager
def guarded(what: str, strict: bool, **context: object) -> Iterator[None]:
    """:func:`~steplineage.guard.tracking_guard`, letting wrong-data errors through.

    Example:
        >>> with guarded("record task start", strict=False, task="extract"):
        ...     raise ConnectionError("catalog down")
    """
    passthrough: list[BaseException] = []
    with tracking_guard(what, strict, **context):
        try:
            yield
        except _MUST_RAISE as exc:
            passthrough.append(exc)
    if passthrough:
        raise passthrough[0]


@dataclass(frozen=True)
class StepOptions:
    """What ``tracked_flow`` / ``tracked_task`` add to Prefect's options."""

    inputs: Specs = None
    outputs: Specs = None
    assets: Specs = None
    datasets: tuple[str, ...] = ()
    workflow: str | WorkflowRecord | None = None
    catalog: Catalog | str | None = None
    strict: bool | None = None
    upload: Literal["auto", "manual"] = "auto"

    def __post_init__(self) -> None:
        for name in ("inputs", "outputs", "assets"):
            object.__setattr__(self, name, check_specs(name, getattr(self, name)))


class PrefectStateFailed(Exception):
    """The function returned a failed Prefect state instead of raising."""


class PrefectRunCancelled(BaseException):
    """The function returned a cancelled Prefect state; recorded as aborted."""


@dataclass
class Step:
    """One tracked run of a flow or task, between start and finish.

    ``execution`` is None when the run goes on untracked.
    """

    kind: Literal["flow", "task"]
    label: str
    active: ActiveRun
    execution: Execution | None = None
    strict: bool = False
    context: dict[str, object] = field(default_factory=dict)
    #: URI outputs (Prefect assets) -> what the catalog records them as.
    asset_outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        """The workflow is inactive: record only, do not run the function."""
        return self.execution is not None and self.execution.status is Status.skipped

    def finish(self, result: Any) -> None:
        """Record a clean return (or the Prefect state the function returned)."""
        exe = self.execution
        if exe is None or exe.status is Status.skipped:
            return
        with guarded(f"record the end of {self.label}", self.strict, **self.context):
            from prefect.states import State

            if isinstance(result, State) and not result.is_completed():
                text = f"returned Prefect state {result.name}: {result.message or ''}".strip()
                error: BaseException = (PrefectRunCancelled(text) if result.is_cancelled()
                                        else PrefectStateFailed(text))
                exe.__exit__(type(error), error, None)
                return
            if self.kind == "task":
                key = _transaction_key()
                if key:
                    exe.log_metrics({CACHE_KEY_METRIC: key})
            exe.__exit__(None, None, None)
            if self.asset_outputs:
                _annotate_assets(exe, self.asset_outputs)

    def fail(self, exc: BaseException) -> None:
        """Record that the function raised (failed; aborted for KeyboardInterrupt/SystemExit)."""
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        with guarded(f"record the failure of {self.label}", self.strict, **self.context):
            exe.__exit__(type(exc), exc, exc.__traceback__)


def _annotate_assets(exe: Execution, asset_outputs: dict[str, Any]) -> None:
    """Put the catalog's execution id and checksum into Prefect's materialization events."""
    from prefect.context import AssetContext

    ctx = AssetContext.get()
    if ctx is None:
        return
    cat = exe.catalog
    hashes = {str(e.ref): e.version_hash for e in cat.list_edges(exe.id, role="output")
              if e.ref is not None and e.valid}
    known = {a.key for a in ctx.downstream_assets}
    for uri, spec in asset_outputs.items():
        if uri in known:
            ref = cat.resolve_ref(spec)
            ctx.add_asset_metadata(uri, {"steplineage_execution_id": exe.id,
                                         "steplineage_ref": str(ref),
                                         "sha256": hashes.get(str(ref))})


def _strict(option: bool | None, parent: ActiveRun | None) -> bool:
    if option is not None:
        return option
    if parent is not None:
        return parent.strict
    return get_settings().strict


def _transaction_key() -> str | None:
    from prefect.transactions import get_transaction

    txn = get_transaction()
    return txn.key if txn is not None else None


def _summarise(value: Any) -> Any:
    text = json.dumps(jsonable(value))
    if len(text) <= _MAX_PARAM_CHARS:
        return json.loads(text)
    size = f" of {len(value)} items" if hasattr(value, "__len__") else ""
    return f"<{type(value).__name__}{size}, {len(text)} characters as JSON; not stored>"


def call_parameters(signature: inspect.Signature, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by name (defaults applied), for templates and the catalog.

    Example:
        >>> call_parameters(inspect.signature(lambda a, b=2: 0), (1,), {})
        {'a': 1, 'b': 2}
    """
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return dict(kwargs)
    bound.apply_defaults()
    params: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            params.update(value)
        else:
            params[name] = value
    return params


def _source_file(fn: Callable[..., Any]) -> Path | None:
    try:
        path = inspect.getsourcefile(inspect.unwrap(fn))
    except TypeError:
        return None
    return Path(path) if path and Path(path).is_file() else None


def _workflow(cat: Catalog, option: str | WorkflowRecord | None, name: str,
              fn: Callable[..., Any], version: str | None = None,
              description: str = "") -> WorkflowRecord:
    """The workflow record: the one named in the option, else one for this Prefect flow."""
    if isinstance(option, WorkflowRecord):
        return option
    if option is not None:
        try:
            return cat.get_workflow(option)
        except NotFoundError:
            name = option
    return cat.add_workflow(name, WorkflowType.prefect_flow, version=version,
                            description=description or "", source=_source_file(fn))


def _exists(cat: Catalog, execution_id: str) -> bool:
    try:
        cat.get_execution(execution_id)
    except NotFoundError:
        return False
    return True


def _config(cat: Catalog, options: StepOptions, params: dict[str, Any], step: Step,
            **fields: Any) -> ExecutionConfig:
    inputs = expand(options.inputs, params)  # type: ignore[arg-type]
    outputs = expand(options.outputs, params)  # type: ignore[arg-type]
    resolved_outputs = [to_catalog_spec(cat, s, ResourceRole.intermediate_data) for s in outputs]
    step.asset_outputs = {uri: spec for uri, spec in zip(outputs, resolved_outputs)
                          if is_uri(uri)}
    return ExecutionConfig(
        inputs=[to_catalog_spec(cat, s, ResourceRole.source_data) for s in inputs],
        outputs=resolved_outputs,
        assets=[str(a) for a in expand(options.assets, params)],  # type: ignore[arg-type]
        datasets=list(options.datasets),
        parameters={k: _summarise(v) for k, v in params.items()},
        upload=options.upload, **fields)


def declare_prefect_assets(options: StepOptions, params: dict[str, Any]) -> None:
    """Make this call's URI outputs Prefect assets (and URI inputs asset dependencies).

    Static URIs are declared at decoration time (``MaterializingTask``); this
    adds the ones filled in from templates, so Prefect emits its asset events
    for them too.
    """
    from prefect.assets import Asset
    from prefect.context import AssetContext

    ctx = AssetContext.get()
    if ctx is None:
        return
    outputs = {Asset(key=u) for u in expand(options.outputs, params) if is_uri(u)}  # type: ignore[arg-type]
    inputs = {Asset(key=u) for u in expand(options.inputs, params) if is_uri(u)}  # type: ignore[arg-type]
    if outputs - ctx.downstream_assets or inputs - ctx.direct_asset_dependencies:
        ctx.downstream_assets.update(outputs)
        ctx.direct_asset_dependencies.update(inputs)
        ctx.update_tracked_assets()


def _catalog_for(options: StepOptions, parent: ActiveRun | None) -> Catalog | None:
    """The catalog of this step; None means the enclosing run gave up tracking."""
    if options.catalog is not None:
        return get_catalog(options.catalog)
    if parent is not None:
        return parent.catalog
    return get_catalog(None)


def start_flow(options: StepOptions, fn: Callable[..., Any], params: dict[str, Any]) -> Step:
    """Record the start of the current Prefect flow run (call inside the flow function).

    Example:
        >>> step = start_flow(StepOptions(), etl_fn, {"day": "mon"})  # doctest: +SKIP
    """
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    assert ctx is not None and ctx.flow_run is not None and ctx.flow is not None
    flow_run, flow = ctx.flow_run, ctx.flow
    parent = active_run()
    strict = _strict(options.strict, parent)
    context: dict[str, object] = {"flow": flow.name, "flow_run": flow_run.name}
    step = Step("flow", f"flow run {flow_run.name!r}",
                ActiveRun(None, None, strict, str(flow_run.id)), strict=strict, context=context)
    with guarded(f"record the start of flow run {flow_run.name!r}", strict, **context):
        cat = _catalog_for(options, parent)
        if cat is None:
            return step
        step.active = ActiveRun(cat, None, strict, str(flow_run.id))
        parent_id = None
        if flow_run.parent_task_run_id is not None:
            parent_id = (parent.execution.id if parent is not None and parent.execution
                         is not None and parent.catalog is cat
                         else _parent_of_subflow(cat, flow_run.parent_task_run_id))
        workflow = _workflow(cat, options.workflow, flow.name, fn, flow.version,
                             flow.description or "")
        exe_id = flow_execution_id(flow_run.id, flow_run.run_count)
        config = _config(
            cat, options, params, step, workflow=workflow, name=flow.name, execution_id=exe_id,
            description=flow.description or "", parent_execution_id=parent_id,
            orchestrator=OrchestratorIdentity(
                orchestrator="prefect", flow_run_id=str(flow_run.id), run_id=flow_run.name,
                run_count=flow_run.run_count))
        exe = cat.create_execution(config)
        step.execution = exe
        step.active = ActiveRun(cat, exe, strict, str(flow_run.id))
        context["execution"] = exe.id
        if exe.status in _NOT_STARTED:
            exe.__enter__()
    return step


def _parent_of_subflow(cat: Catalog, parent_task_run_id: Any) -> str | None:
    """The execution of the flow run that started this subflow, found through the API.

    Used when the subflow does not run inside its parent's context (e.g. the
    parent is untracked or runs elsewhere); None if that flow run is not tracked.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        task_run = client.read_task_run(parent_task_run_id)
        if task_run.flow_run_id is None:
            return None
        flow_run = client.read_flow_run(task_run.flow_run_id)
    candidate = flow_execution_id(flow_run.id, flow_run.run_count)
    return candidate if _exists(cat, candidate) else None


def _parent_of_task(cat: Catalog, parent: ActiveRun | None, task_run: Any) -> str | None:
    if parent is not None and parent.execution is not None and parent.catalog is cat:
        return parent.execution.id
    if task_run.flow_run_id is None:
        return None
    candidate = flow_execution_id(task_run.flow_run_id, task_run.flow_run_run_count or 1)
    return candidate if _exists(cat, candidate) else None


def _task_identity(task: Any, task_run: Any) -> OrchestratorIdentity:
    return OrchestratorIdentity(
        orchestrator="prefect", task_id=task.name, task_run_id=str(task_run.id),
        flow_run_id=str(task_run.flow_run_id) if task_run.flow_run_id else None,
        run_count=task_run.run_count)


def start_task(options: StepOptions, fn: Callable[..., Any], params: dict[str, Any]) -> Step:
    """Record the start of one attempt of the current Prefect task run.

    Example:
        >>> step = start_task(StepOptions(inputs=["raw/{day}.csv"]), fn, {"day": "mon"})  # doctest: +SKIP
    """
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    assert ctx is not None
    task_run, task = ctx.task_run, ctx.task
    parent = active_run()
    strict = _strict(options.strict, parent)
    context: dict[str, object] = {"task_run": task_run.name, "attempt": task_run.run_count}
    flow_run_id = str(task_run.flow_run_id) if task_run.flow_run_id else None
    step = Step("task", f"task run {task_run.name!r}", ActiveRun(None, None, strict, flow_run_id),
                strict=strict, context=context)
    with guarded("declare Prefect assets", strict, **context):
        declare_prefect_assets(options, params)
    with guarded(f"record the start of task run {task_run.name!r}", strict, **context):
        cat = _catalog_for(options, parent)
        if cat is None:
            return step
        step.active = ActiveRun(cat, None, strict, flow_run_id)
        parent_id = _parent_of_task(cat, parent, task_run)
        if options.workflow is None and parent is not None and parent.execution is not None:
            workflow = parent.execution.workflow
        else:
            workflow = _workflow(cat, options.workflow, task.name, fn, task.version,
                                 task.description or "")
        config = _config(
            cat, options, params, step, workflow=workflow, name=task_run.name,
            description=task.description or "", parent_execution_id=parent_id,
            execution_id=task_execution_id(task_run.id, task_run.run_count),
            orchestrator=_task_identity(task, task_run))
        exe = cat.create_execution(config)
        step.execution = exe
        step.active = ActiveRun(cat, exe, strict, flow_run_id)
        context["execution"] = exe.id
        if exe.status in _NOT_STARTED:
            exe.__enter__()
    return step


def _finalise(cat: Catalog, execution_id: str, status: Status, message: str) -> bool:
    """Move an execution to a final status unless it already has one; True if moved."""
    from steplineage.execution import write_status

    if cat.get_execution(execution_id).status in FINAL_STATUSES:
        return False
    with cat.session() as s:
        write_status(s, execution_id, status, message)
    return True


def _abort_open_descendants(cat: Catalog, execution_id: str, message: str) -> None:
    todo = [execution_id]
    while todo:
        for child in cat.list_executions(parent_id=todo.pop(), limit=None):
            if child.status not in FINAL_STATUSES:
                _finalise(cat, child.id, Status.aborted, message)
            todo.append(child.id)


def _state_message(state: Any) -> str:
    return f"Prefect state {state.name}: {state.message or ''}".strip().rstrip(":")


def settle_flow(options: StepOptions, flow: Any, flow_run: Any, state: Any) -> None:
    """State hook for flows (on_failure, on_crashed, on_cancellation).

    Makes sure the flow run's execution exists and is final: failed for a
    failed run (e.g. invalid parameters, so the function never ran), aborted
    for a crashed or cancelled one, whose unfinished children are aborted too.
    Hooks never fail a run, so this is never strict.
    """
    status = Status.failed if state.is_failed() else Status.aborted
    message = _state_message(state)
    exe_id = flow_execution_id(flow_run.id, flow_run.run_count)
    with guarded(f"record the {state.name} state of flow run {flow_run.name!r}", False,
                 flow=flow.name, flow_run=flow_run.name, execution=exe_id):
        cat = get_catalog(options.catalog)
        if not _exists(cat, exe_id):
            workflow = _workflow(cat, options.workflow, flow.name, flow.fn, flow.version,
                                 flow.description or "")
            cat.create_execution(ExecutionConfig(
                workflow=workflow, name=flow.name, execution_id=exe_id,
                parameters={k: _summarise(v) for k, v in (flow_run.parameters or {}).items()},
                orchestrator=OrchestratorIdentity(
                    orchestrator="prefect", flow_run_id=str(flow_run.id), run_id=flow_run.name,
                    run_count=flow_run.run_count)))
        _finalise(cat, exe_id, status, message)
        if status is Status.aborted:
            _abort_open_descendants(cat, exe_id, f"flow run {flow_run.name!r} ended: {message}")


def settle_task(options: StepOptions, task: Any, task_run: Any, state: Any) -> None:
    """on_failure hook for tasks: the attempt's execution exists and is failed."""
    exe_id = task_execution_id(task_run.id, task_run.run_count)
    with guarded(f"record the failure of task run {task_run.name!r}", False,
                 task_run=task_run.name, execution=exe_id):
        cat = get_catalog(options.catalog)
        if not _exists(cat, exe_id):
            parent_id = _parent_of_task(cat, active_run(), task_run)
            workflow = _workflow(cat, options.workflow, task.name, task.fn)
            cat.create_execution(ExecutionConfig(
                workflow=workflow, name=task_run.name, execution_id=exe_id,
                parent_execution_id=parent_id, orchestrator=_task_identity(task, task_run)))
        _finalise(cat, exe_id, Status.failed, _state_message(state))


def _cache_key(task: Any, state: Any) -> str | None:
    """The cache key Prefect used: recomputed like the engine does, else from the result."""
    from prefect.cache_policies import CachePolicy
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    policy = task.cache_policy
    if task_ctx is not None and isinstance(policy, CachePolicy):
        flow_ctx = FlowRunContext.get()
        with contextlib.suppress(Exception):
            key = policy.compute_key(task_ctx=task_ctx, inputs=task_ctx.parameters or {},
                                     flow_parameters=flow_ctx.parameters if flow_ctx else {})
            if key:
                return key
    storage_key = getattr(getattr(state.data, "metadata", None), "storage_key", None)
    return Path(storage_key).name if storage_key else None


def _producer(cat: Catalog, key: str) -> str | None:
    """The newest completed Prefect execution that computed the result cached under ``key``."""
    from sqlalchemy import select

    from steplineage.catalog import orm

    with cat.session() as s:
        return s.scalars(
            select(orm.Execution.id)
            .where(orm.Execution.orchestrator == "prefect",
                   orm.Execution.status == Status.completed.value,
                   orm.Execution.metrics[CACHE_KEY_METRIC].as_string() == key)
            .order_by(orm.Execution.created_at.desc()).limit(1)).first()


def record_cached(options: StepOptions, task: Any, task_run: Any, state: Any) -> None:
    """on_completion hook for tasks: a cache hit becomes a *reused* execution.

    The wrapper never runs on a cache hit, so this records the attempt as
    completed with metric ``reused_from_execution`` naming the execution that
    computed the cached result (None if it is not in this catalog).
    """
    if state.name != "Cached":
        return
    parent = active_run()
    strict = _strict(options.strict, parent)
    exe_id = task_execution_id(task_run.id, task_run.run_count)
    with guarded(f"record the cache hit of task run {task_run.name!r}", strict,
                 task_run=task_run.name, execution=exe_id):
        cat = _catalog_for(options, parent)
        if cat is None or _exists(cat, exe_id):
            return
        from prefect.context import TaskRunContext

        key = _cache_key(task, state)
        producer = _producer(cat, key) if key else None
        if options.workflow is None and parent is not None and parent.execution is not None:
            workflow = parent.execution.workflow
        else:
            workflow = _workflow(cat, options.workflow, task.name, task.fn)
        ctx = TaskRunContext.get()
        params = dict(ctx.parameters or {}) if ctx is not None else {}
        exe = cat.create_execution(ExecutionConfig(
            workflow=workflow, name=task_run.name, execution_id=exe_id,
            description=task.description or "",
            parent_execution_id=_parent_of_task(cat, parent, task_run),
            parameters={k: _summarise(v) for k, v in params.items()},
            orchestrator=_task_identity(task, task_run)))
        exe.update_status(Status.running, "Prefect found a cached result")
        exe.log_metrics({REUSED_FROM_METRIC: producer, "reused_cache_key": key})
        exe.update_status(Status.completed,
                          f"reused the cached result of execution {producer}" if producer
                          else "reused a cached result computed outside this catalog")
