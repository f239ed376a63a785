"""Prefect runs into step descriptions for the shared :class:`StepTracker`.

The decorators call :func:`start_flow` / :func:`start_task` inside the run and
:meth:`Step.finish` / :meth:`Step.fail` after the user's function; Prefect's
state hooks (:mod:`steplineage.prefect.hooks`) handle what the wrapper never
sees. This module only translates Prefect's runs (ids, names, parameters, the
specs of ``inputs=``/``outputs=``) into :class:`~steplineage.tracking.step.StepRun`
descriptions; the :class:`~steplineage.tracking.step.StepTracker` records them,
with its guard: a tracking failure is logged and the run goes on untracked, or
with ``strict=True`` it raises :class:`~steplineage.TrackingError`.

Example:
    >>> step = start_task(options, fn, {"day": "mon"})  # doctest: +SKIP
    >>> step.finish(result)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steplineage.errors import CatalogUnavailableError, NotFoundError
from steplineage.models import OrchestratorIdentity, ResourceRole, WorkflowRecord, WorkflowType
from steplineage.prefect.runtime import (ActiveRun, active_run, flow_execution_id, get_catalog,
                                         task_execution_id)
from steplineage.prefect.specs import Specs, check_specs, expand, is_uri, to_catalog_spec
from steplineage.settings import get_settings
from steplineage.status import Status
from steplineage.tracking.step import StepRun, StepTracker

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution

__all__ = ["Step", "StepOptions", "call_parameters", "start_flow", "start_task"]

log = logging.getLogger("steplineage.prefect")

CACHE_KEY_METRIC = "prefect_cache_key"


@dataclass(frozen=True)
class StepOptions:
    """What ``tracked_flow`` / ``tracked_task`` add to Prefect's options, validated."""

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


def tracker_for(options: StepOptions, parent: ActiveRun | None, strict: bool,
                **context: object) -> StepTracker[Catalog]:
    """A step tracker recording into the step's catalog (see :func:`catalog_for`).

    Example:
        >>> tracker = tracker_for(StepOptions(), None, False, task_run="load-0")  # doctest: +SKIP
    """
    return StepTracker(lambda: catalog_for(options, parent, strict), strict=strict, **context)


@dataclass
class Step:
    """One tracked run of a flow or task, between start and finish.

    ``execution`` is None when the run goes on untracked.
    """

    kind: Literal["flow", "task"]
    label: str
    tracker: StepTracker[Catalog]
    active: ActiveRun
    #: URI outputs (Prefect assets) -> what the catalog records them as.
    asset_outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def execution(self) -> Execution | None:
        """The run's live execution, or None when it goes on untracked."""
        return self.tracker.execution

    @property
    def skipped(self) -> bool:
        """The workflow is inactive: record only, do not run the function."""
        return self.execution is not None and self.execution.status is Status.skipped

    def finish(self, result: Any) -> None:
        """Record a clean return (or the Prefect state the function returned)."""
        exe = self.execution
        if exe is None or exe.status is Status.skipped:
            return
        from prefect.states import State

        if isinstance(result, State) and not result.is_completed():
            text = f"returned Prefect state {result.name}: {result.message or ''}".strip()
            self.fail(PrefectRunCancelled(text) if result.is_cancelled()
                      else PrefectStateFailed(text))
            return
        if self.kind == "task":
            self.tracker.call("record the cache key", lambda: _log_cache_key(exe))
        self.tracker.complete(f"record the end of {self.label}")
        if self.asset_outputs and not exe.offline:
            self.tracker.call("annotate Prefect's asset events",
                              lambda: _annotate_assets(exe, self.asset_outputs))

    def fail(self, exc: BaseException) -> None:
        """Record that the function raised (failed; aborted for KeyboardInterrupt/SystemExit)."""
        self.tracker.fail(exc, f"record the failure of {self.label}")


def _log_cache_key(exe: Execution) -> None:
    from prefect.transactions import get_transaction

    txn = get_transaction()
    if txn is not None and txn.key:
        exe.log_metrics({CACHE_KEY_METRIC: txn.key})


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


def resolve_workflow(tracker: StepTracker[Catalog], option: str | WorkflowRecord | None,
                     name: str, fn: Callable[..., Any], version: str | None = None,
                     description: str = "") -> WorkflowRecord:
    """The workflow record: the one named in the option, else one for this Prefect flow.

    A name that is not registered yet becomes a ``prefect-flow`` workflow of
    ``fn``'s source file; while the catalog is unreachable the record is
    computed offline (see :meth:`StepTracker.workflow`).
    """
    if isinstance(option, WorkflowRecord):
        return option
    return tracker.workflow(option or name, WorkflowType.prefect_flow, source=_source_file(fn),
                            version=version, description=description, exact=option is None)


def execution_exists(cat: Catalog, execution_id: str) -> bool:
    """Whether the catalog has this execution (False while it is unreachable)."""
    try:
        cat.get_execution(execution_id)
    except (NotFoundError, CatalogUnavailableError):
        return False
    return True


def _step_run(step: Step, cat: Catalog, options: StepOptions, params: dict[str, Any],
              **fields: Any) -> StepRun:
    inputs = expand(options.inputs, params)  # type: ignore[arg-type]
    outputs = expand(options.outputs, params)  # type: ignore[arg-type]
    resolved_outputs = [to_catalog_spec(cat, s, ResourceRole.intermediate_data) for s in outputs]
    step.asset_outputs = {uri: spec for uri, spec in zip(outputs, resolved_outputs)
                          if is_uri(uri)}
    return StepRun(
        inputs=[to_catalog_spec(cat, s, ResourceRole.source_data) for s in inputs],
        outputs=resolved_outputs,
        assets=[str(a) for a in expand(options.assets, params)],  # type: ignore[arg-type]
        datasets=list(options.datasets), parameters=params, upload=options.upload, **fields)


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


def _begin(step: Step, describe: Callable[[Catalog], StepRun]) -> Step:
    step.tracker.begin(f"record the start of {step.label}", describe)
    # Tasks of this run use its catalog, even when this run's own record failed.
    step.active = ActiveRun(step.tracker.opened, step.execution, step.tracker.strict,
                            step.active.flow_run_id)
    return step


def _parent_id(parent: ActiveRun | None, cat: Catalog) -> str | None:
    """The enclosing tracked run's execution, when it records into the same catalog."""
    if parent is not None and parent.execution is not None and parent.catalog is cat:
        return parent.execution.id
    return None


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
    step = Step("flow", f"flow run {flow_run.name!r}",
                tracker_for(options, parent, strict, flow=flow.name, flow_run=flow_run.name),
                ActiveRun(None, None, strict, str(flow_run.id)))

    def describe(cat: Catalog) -> StepRun:
        parent_id = None
        if flow_run.parent_task_run_id is not None:
            parent_id = _parent_id(parent, cat) or _parent_of_subflow(
                cat, flow_run.parent_task_run_id)
        workflow = resolve_workflow(step.tracker, options.workflow, flow.name, fn, flow.version,
                                    flow.description or "")
        return _step_run(step, cat, options, params, workflow=workflow, name=flow.name,
                         execution_id=flow_execution_id(flow_run.id, flow_run.run_count),
                         description=flow.description or "", parent_id=parent_id,
                         identity=flow_identity(flow_run))

    return _begin(step, describe)


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
    found = _parent_id(parent, cat)
    if found is not None or task_run.flow_run_id is None:
        return found
    candidate = flow_execution_id(task_run.flow_run_id, task_run.flow_run_run_count or 1)
    return candidate if execution_exists(cat, candidate) else None


def task_workflow(tracker: StepTracker[Catalog], options: StepOptions, parent: ActiveRun | None,
                  task: Any, fn: Callable[..., Any]) -> WorkflowRecord:
    """A task runs its flow's workflow unless it names its own."""
    if options.workflow is None and parent is not None and parent.execution is not None:
        return parent.execution.workflow
    return resolve_workflow(tracker, options.workflow, task.name, fn, task.version,
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
    step = Step("task", f"task run {task_run.name!r}",
                tracker_for(options, parent, strict, task_run=task_run.name,
                            attempt=task_run.run_count),
                ActiveRun(None, None, strict, flow_run_id))
    step.tracker.call("declare Prefect assets", lambda: declare_prefect_assets(options, params))

    def describe(cat: Catalog) -> StepRun:
        return _step_run(
            step, cat, options, params, name=task_run.name,
            workflow=task_workflow(step.tracker, options, parent, task, fn),
            description=task.description or "", parent_id=parent_of_task(cat, parent, task_run),
            execution_id=task_execution_id(task_run.id, task_run.run_count),
            identity=task_identity(task, task_run))

    return _begin(step, describe)
