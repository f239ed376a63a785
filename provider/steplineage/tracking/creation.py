"""Creating an execution: record it, then hash, download and check its inputs.

One transaction records the execution, its first status, its input edges and
declared outputs, checked for consistency; a bad input fails here, before any
user code runs, and the execution is recorded as failed. While the catalog is
unreachable (and not strict) the workflow record is computed locally and every
write goes to the spool.

Example:
    >>> exe = create_execution(cat, sl.ExecutionConfig(workflow="train"))  # doctest: +SKIP
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

from steplineage.errors import CatalogUnavailableError, ExecutionError, StagingError
from steplineage.ids import new_id, utcnow
from steplineage.models import EdgeRole, ExecutionConfig, WorkflowRecord, WorkflowType
from steplineage.ops import EdgesAdded, ExecutionCreated
from steplineage.status import Status
from steplineage.store.executions import live_state
from steplineage.tracking.execution import Execution, clean_params, current_user
from steplineage.tracking.heartbeat import maybe_reap
from steplineage.tracking.stage_in import ref_edge, stage_assets_and_datasets
from steplineage.tracking.writer import tracking_failed
from steplineage.workflows import describe_workflow

if TYPE_CHECKING:
    from steplineage.tracking.ports import TrackingCatalog

__all__ = ["create_execution"]


def create_execution(catalog: TrackingCatalog, config: ExecutionConfig) -> Execution:
    """Record a new execution and stage its inputs (see the module docstring).

    Example:
        >>> exe = create_execution(cat, sl.ExecutionConfig(workflow="train"))  # doctest: +SKIP
    """
    exe_id = config.execution_id or new_id()
    working_dir = config.working_dir or catalog.settings.resolved_working_root() / exe_id
    online = True
    try:
        catalog.flush_spool()  # the next tracked step replays what an outage left
        maybe_reap(catalog)  # ...and retires executions whose process died
        workflow = _resolve_workflow(catalog, config.workflow, config.name)
        # A fresh uuid cannot exist yet; a client-chosen id may be a retried create.
        existing = _existing(catalog, exe_id, config, workflow) if config.execution_id \
            else None
        if existing is not None:
            return existing
    except CatalogUnavailableError as exc:
        tracking_failed(catalog, exc, "record a new execution", exe_id)
        online = False
        workflow = _offline_workflow(config.workflow, config.name)
    exe = Execution(catalog, exe_id, config, workflow, working_dir, Status.created, online=online)
    ident = config.orchestrator
    # One transaction: created, first status, input edges, declared outputs, checks.
    error: BaseException | None = None
    with exe._writer.collecting() as batch:
        exe._write(ExecutionCreated(
            execution=dict(
                id=exe_id, name=exe.name, workflow_id=workflow.id,
                parent_id=config.parent_execution_id, status=Status.created.value,
                status_message="created", description=config.description,
                parameters=clean_params(catalog, config.parameters), metrics={},
                watermark=config.watermark, next_watermark=config.next_watermark,
                host=socket.gethostname(), user=current_user(), working_dir=str(working_dir),
                **(ident.model_dump(exclude_none=True) if ident else {})),
            workflow=workflow.model_dump(exclude={"id"}) | {"id": workflow.id},
            agent=current_user(), at=utcnow()))
        if not workflow.active:
            exe.update_status(Status.skipped, f"workflow {workflow.name!r} is inactive")
        else:
            exe.update_status(Status.initializing, "staging inputs")
        head = len(batch)
        if workflow.active:
            try:
                _stage_inputs(exe)
            except BaseException as exc:
                error = exc
                del batch[head:]
    try:
        exe._writer.apply(batch)
    except Exception as exc:
        if len(batch) == head:
            raise
        # A lineage check refused the inputs: record the execution, then its failure.
        exe._writer.apply(batch[:head])
        error = exc
    if error is not None:
        exe._finish_with_error(error, "staging inputs failed")
        raise error
    return exe


def _stage_inputs(exe: Execution) -> None:
    cat = exe.catalog
    refs = [(EdgeRole.input, cat.resolve_ref(spec)) for spec in exe.config.inputs]
    refs += [(EdgeRole.code, cat.resolve_ref(spec)) for spec in exe.config.code]
    edges = [ref_edge(cat, role, ref, online=not exe.offline) for role, ref in refs]
    if exe.config.assets or exe.config.datasets:
        if exe.offline:
            raise StagingError(f"execution {exe.id}: the catalog is unreachable, so its "
                               "input assets and datasets cannot be looked up; retry when "
                               "it is back")
        edges += stage_assets_and_datasets(exe)
    with exe._batched():  # one transaction: input edges, declared outputs, checks
        if edges:
            exe._write(EdgesAdded(execution_id=exe.id, edges=edges, at=utcnow()),
                        check=exe._consistency_check(edges))
        for spec in exe.config.outputs:
            exe.add_output(spec)
        if exe.config.results is not None:
            exe.add_output(exe.config.results)


def _existing(catalog: TrackingCatalog, exe_id: str, config: ExecutionConfig,
              workflow: WorkflowRecord) -> Execution | None:
    """The live handle of an execution that is already in the catalog (a retried create)."""
    state = live_state(catalog.store, exe_id)
    if state is None:
        return None
    working_dir = Path(state.working_dir) if state.working_dir else \
        catalog.settings.resolved_working_root() / exe_id
    return Execution(catalog, exe_id, config, workflow, working_dir, state.status, seq=state.seq)


def _resolve_workflow(catalog: TrackingCatalog, workflow: str | WorkflowRecord | None,
                      name: str | None) -> WorkflowRecord:
    if isinstance(workflow, WorkflowRecord):
        return workflow
    wf_name = workflow or name
    if not wf_name:
        raise ExecutionError("an execution needs a workflow or a name: "
                             "ExecutionConfig(workflow='train', ...)")
    return catalog.workflow_for_step(wf_name)


def _offline_workflow(workflow: str | WorkflowRecord | None, name: str | None) -> WorkflowRecord:
    """The workflow record add_workflow would make, computed without the catalog."""
    if isinstance(workflow, WorkflowRecord):
        return workflow
    wf_name = workflow or name
    if not wf_name:
        raise ExecutionError("an execution needs a workflow or a name")
    return describe_workflow(wf_name, WorkflowType.script)
