"""Prefect runs into catalog executions: the layer between the decorators and the catalog.

The decorators call :func:`start_flow` / :func:`start_task` inside the run and
:meth:`Step.finish` / :meth:`Step.fail` after the user's function; Prefect's
state hooks (:mod:`steplineage.prefect.hooks`) handle what the wrapper never
sees.

Every catalog call goes through :func:`guarded`: a failure is logged and the
run goes on, or with ``strict=True`` it raises
:class:`~steplineage.TrackingError`. When the catalog is unreachable the core
spools the execution's writes durably and replays them later, so a run
during an outage is still recorded, once. Errors that say the *data* or the
declaration is wrong (a staged input with the wrong checksum, inconsistent or
conflicting lineage, a template naming no argument) are raised either way:
running on wrong data is worse than not tracking, and a typo should not pass
as an outage.

Example:
    >>> step = start_task(options, fn, {"day": "mon"})  # doctest: +SKIP
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

from steplineage.errors import (CatalogUnavailableError, ConfigurationError, LineageError,
                                NotFoundError, StagingError, TrackingError)
from steplineage.tracking.guard import tracking_guard
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
    from steplineage.tracking.execution import Execution

__all__ = ["Step", "StepOptions", "call_parameters", "guarded", "start_flow", "start_task"]

log = logging.getLogger("steplineage.prefect")

# Errors meaning the data or the step's declaration is wrong, not that the catalog is down.
_MUST_RAISE = (StagingError, LineageError, ConfigurationError)
# Longest JSON text of one parameter value kept in the catalog; bigger values are summarised.
_MAX_PARAM_CHARS = 2000
_NOT_STARTED = (Status.created, Status.initializing)
CACHE_KEY_METRIC = "prefect_cache_key"


@contextlib.contextmanager
def guarded(what: str, strict: bool, **context: object) -> Iterator[None]:
    """:func:`~steplineage.tracking.guard.tracking_guard`, letting wrong-data errors through.

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

    def _check_recorded(self) -> None:
        # A catalog passed in by the user spools by its own settings; strict still means strict.
        if self.strict and self.execution is not None and self.execution.offline:
            raise TrackingError(f"steplineage could not reach the catalog for {self.label} "
                                "(strict=True); its records were spooled for replay")

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
                exe.fail(error)
                return
            if self.kind == "task":
                key = _transaction_key()
                if key:
                    exe.log_metrics({CACHE_KEY_METRIC: key})
            exe.complete()
            self._check_recorded()
            if self.asset_outputs and not exe.offline:
                _annotate_assets(exe, self.asset_outputs)

    def fail(self, exc: BaseException) -> None:
        """Record that the function raised (failed; aborted for KeyboardInterrupt/SystemExit)."""
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        with guarded(f"record the failure of {self.label}", self.strict, **self.context):
            exe.fail(exc)


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


def resolve_strict(option: bool | None, parent: ActiveRun | None) -> bool:
    """The step's own option, else its flow's, else ``STEPLINEAGE_STRICT``."""
    if option is not None:
        return option
    if parent is not None:
        return parent.strict
    return get_settings().strict


def _transaction_key() -> str | None:
    from prefect.transactions import get_transaction

    txn = get_transaction()
    return txn.key if txn is not None else None


def summarise(value: Any) -> Any:
    """A parameter value as stored: JSON, or a short description when it is too big.

    Example:
        >>> summarise(list(range(5000)))
        '<list of 5000 items, 23890 characters as JSON; not stored>'
    """
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
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
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


def _offline_workflow(name: str, fn: Callable[..., Any], version: str | None,
                      description: str) -> WorkflowRecord:
    """The record ``add_workflow`` would make, computed without the catalog (for the spool)."""
    from steplineage.catalog.catalog import workflow_id
    from steplineage.gitinfo import source_info

    source = _source_file(fn)
    info = source_info(source) if source is not None else None
    url = info.url if info else None
    version = version or (info.commit[:12] if info and info.commit else None)
    checksum = info.checksum if info else None
    kind = WorkflowType.prefect_flow.value
    return WorkflowRecord(id=workflow_id(name, kind, version, url, checksum), name=name,
                          workflow_type=kind, version=version, url=url, checksum=checksum,
                          description=description, dirty=info.dirty if info else None)


def resolve_workflow(cat: Catalog, option: str | WorkflowRecord | None, name: str,
                     fn: Callable[..., Any], version: str | None = None,
                     description: str = "") -> WorkflowRecord:
    """The workflow record: the one named in the option, else one for this Prefect flow.

    While the catalog is unreachable the record is computed locally (active,
    same id as ``add_workflow`` would give) so the run can still be spooled.
    """
    if isinstance(option, WorkflowRecord):
        return option
    try:
        if option is not None:
            try:
                return cat.get_workflow(option)
            except NotFoundError:
                name = option
        return cat.add_workflow(name, WorkflowType.prefect_flow, version=version,
                                description=description, source=_source_file(fn))
    except CatalogUnavailableError:
        return _offline_workflow(name, fn, version, description)


def execution_exists(cat: Catalog, execution_id: str) -> bool:
    """Whether the catalog has this execution (False while it is unreachable)."""
    try:
        cat.get_execution(execution_id)
    except (NotFoundError, CatalogUnavailableError):
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
        parameters={k: summarise(v) for k, v in params.items()},
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


def catalog_for(options: StepOptions, parent: ActiveRun | None, strict: bool) -> Catalog | None:
    """The catalog of this step; None means the enclosing run could not open one."""
    if options.catalog is not None:
        return get_catalog(options.catalog, strict)
    if parent is not None:
        return parent.catalog
    return get_catalog(None, strict)


def _begin(step: Step, cat: Catalog, config: ExecutionConfig, flow_run_id: str | None) -> None:
    exe = cat.create_execution(config)
    step.execution = exe
    step.active = ActiveRun(cat, exe, step.strict, flow_run_id)
    step.context["execution"] = exe.id
    if exe.status in _NOT_STARTED:
        exe.start()
    step._check_recorded()


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
    strict = resolve_strict(options.strict, parent)
    run_id = str(flow_run.id)
    step = Step("flow", f"flow run {flow_run.name!r}", ActiveRun(None, None, strict, run_id),
                strict=strict, context={"flow": flow.name, "flow_run": flow_run.name})
    with guarded(f"record the start of flow run {flow_run.name!r}", strict, **step.context):
        cat = catalog_for(options, parent, strict)
        if cat is None:
            return step
        step.active = ActiveRun(cat, None, strict, run_id)
        parent_id = None
        if flow_run.parent_task_run_id is not None:
            parent_id = (parent.execution.id if parent is not None and parent.execution
                         is not None and parent.catalog is cat
                         else _parent_of_subflow(cat, flow_run.parent_task_run_id))
        workflow = resolve_workflow(cat, options.workflow, flow.name, fn, flow.version,
                                    flow.description or "")
        _begin(step, cat, _config(
            cat, options, params, step, workflow=workflow, name=flow.name,
            execution_id=flow_execution_id(flow_run.id, flow_run.run_count),
            description=flow.description or "", parent_execution_id=parent_id,
            orchestrator=flow_identity(flow_run)), run_id)
    return step


def flow_identity(flow_run: Any) -> OrchestratorIdentity:
    """Prefect's ids of a flow run attempt, as the catalog keeps them."""
    return OrchestratorIdentity(orchestrator="prefect", flow_run_id=str(flow_run.id),
                                run_id=flow_run.name, run_count=flow_run.run_count)


def task_identity(task: Any, task_run: Any) -> OrchestratorIdentity:
    """Prefect's ids of a task run attempt, as the catalog keeps them."""
    return OrchestratorIdentity(
        orchestrator="prefect", task_id=task.name, task_run_id=str(task_run.id),
        flow_run_id=str(task_run.flow_run_id) if task_run.flow_run_id else None,
        run_count=task_run.run_count)


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
    return candidate if execution_exists(cat, candidate) else None


def parent_of_task(cat: Catalog, parent: ActiveRun | None, task_run: Any) -> str | None:
    """The enclosing tracked run's execution, else the flow run's if it is tracked."""
    if parent is not None and parent.execution is not None and parent.catalog is cat:
        return parent.execution.id
    if task_run.flow_run_id is None:
        return None
    candidate = flow_execution_id(task_run.flow_run_id, task_run.flow_run_run_count or 1)
    return candidate if execution_exists(cat, candidate) else None


def task_workflow(cat: Catalog, options: StepOptions, parent: ActiveRun | None, task: Any,
                  fn: Callable[..., Any]) -> WorkflowRecord:
    """A task runs its flow's workflow unless it names its own."""
    if options.workflow is None and parent is not None and parent.execution is not None:
        return parent.execution.workflow
    return resolve_workflow(cat, options.workflow, task.name, fn, task.version,
                            task.description or "")


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
    strict = resolve_strict(options.strict, parent)
    flow_run_id = str(task_run.flow_run_id) if task_run.flow_run_id else None
    step = Step("task", f"task run {task_run.name!r}", ActiveRun(None, None, strict, flow_run_id),
                strict=strict, context={"task_run": task_run.name, "attempt": task_run.run_count})
    with guarded("declare Prefect assets", strict, **step.context):
        declare_prefect_assets(options, params)
    with guarded(f"record the start of task run {task_run.name!r}", strict, **step.context):
        cat = catalog_for(options, parent, strict)
        if cat is None:
            return step
        step.active = ActiveRun(cat, None, strict, flow_run_id)
        _begin(step, cat, _config(
            cat, options, params, step, workflow=task_workflow(cat, options, parent, task, fn),
            name=task_run.name, description=task.description or "",
            parent_execution_id=parent_of_task(cat, parent, task_run),
            execution_id=task_execution_id(task_run.id, task_run.run_count),
            orchestrator=task_identity(task, task_run)), flow_run_id)
    return step
