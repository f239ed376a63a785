"""Accept OpenLineage RunEvents into the catalog: steplineage as a lineage backend.

Mapping (see docs/openlineage.md):

* ``run.runId`` -> the execution id (a UUID, like ours); ``job`` -> its workflow
  and name (``dag.task`` under a parent ``dag`` -> workflow ``dag``, name
  ``task``; Airflow's own facets give dag_id/run_id/task_id so the executions
  appear in Airflow's Lineage tab); the ``parent`` facet -> ``parent_id`` (a
  parent not seen yet is recorded as a stub its own events fill in later);
* ``eventType`` -> a status change through the state machine: START/RUNNING
  -> running, COMPLETE -> completed, FAIL -> failed, ABORT -> aborted (OTHER
  carries metadata only). Events may arrive out of order: COMPLETE before START
  passes through ``running``; a late START only corrects the start time;
* ``inputs``/``outputs`` -> lineage edges to ref versions: the dataset URI
  (namespace + name) inside a registered resource that covers it, else a new
  resource named by the URI; the version is the ``steplineage_checksums``
  sha256, else the ``version`` facet, else one placeholder per ref (so readers
  and writers of a table still meet). Outputs become valid on COMPLETE.

Re-delivery is harmless: a status change already recorded at the same event
time is skipped and edge ids are derived from (run, role, ref). Each event
becomes catalog operations (:func:`event_ops`), written through the store's one
apply path, a batch of events per transaction.

Example:
    >>> result = ingest_events(cat, [start_event, complete_event])  # doctest: +SKIP
    >>> result.accepted, result.rejected  # doctest: +SKIP
    (2, [])
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from steplineage.errors import ConcurrentWriteError, OpenLineageEventError
from steplineage.openlineage.datasets import Resources
from steplineage.openlineage.files import read_event_file
from steplineage.openlineage.parse import Dataset, Event, parse_event
from steplineage.ops import (STUB_MESSAGE, EdgesAdded, EdgeSpec, ExecutionCreated,
                             ExecutionUpdated, Op, StatusChanged)
from steplineage.workflows import workflow_id

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["IngestResult", "Rejected", "event_ops", "ingest_events", "read_event_file"]

_EDGE_NAMESPACE = uuid.UUID("6f1e2b1c-3f0a-4c55-9a5e-0c9d3b7a4e11")


class Rejected(BaseModel):
    """An event that was not recorded, and why."""

    index: int = Field(description="Position of the event in what was sent (0-based).")
    problem: str = Field(description="The field and what is wrong with it.")
    run_id: str | None = Field(default=None, description="The event's runId, when readable.")


class IngestResult(BaseModel):
    """What one ingest did."""

    received: int = 0
    accepted: int = Field(default=0, description="Events recorded (including re-deliveries).")
    duplicates: int = Field(default=0, description="Accepted events already recorded before.")
    executions_created: int = 0
    rejected: list[Rejected] = Field(default_factory=list)


def _workflow_id(name: str, workflow_type: str) -> str:
    return workflow_id(name, workflow_type, None, None, None)


def _workflow(name: str, workflow_type: str) -> dict[str, Any]:
    return {"id": _workflow_id(name, workflow_type), "name": name,
            "workflow_type": workflow_type, "description": "recorded from OpenLineage events",
            "active": True}


def _identity(identity: dict[str, Any]) -> dict[str, Any]:
    if identity.get("dag_id") and not identity.get("orchestrator"):
        return {**identity, "orchestrator": "airflow"}
    return dict(identity)


def _hash(ds: Dataset) -> str:
    if ds.hash is not None:
        return ds.hash
    return "placeholder:" + hashlib.sha256(f"{ds.uri}\0openlineage".encode()).hexdigest()[:16]


def _edge_id(run_id: str, role: str, resource_id: str, subpath: str) -> str:
    return str(uuid.uuid5(_EDGE_NAMESPACE, f"{run_id}\0{role}\0{resource_id}\0{subpath}"))


def event_ops(ev: Event, resources: Resources) -> list[Op]:
    """The catalog operations one event stands for (applied leniently: not strict).

    Example:
        >>> [op.op for op in event_ops(parse_event(start_event), resources)]  # doctest: +SKIP
        ['execution_created', 'status_changed']
    """
    ops: list[Op] = []
    if ev.parent_run_id:  # a parent not seen yet: a stub its own events fill in later
        parent_wf = _workflow(ev.parent_workflow or ev.parent_name or "openlineage",
                              ev.workflow_type)
        ops.append(ExecutionCreated(
            execution={"id": ev.parent_run_id, "name": ev.parent_name or "parent",
                       "workflow_id": parent_wf["id"], "status_message": STUB_MESSAGE,
                       **_identity(ev.parent_identity)},
            workflow=parent_wf, at=ev.at))
    wf = _workflow(ev.workflow, ev.workflow_type)
    # What the catalog has stands (e.g. our own events sent back to us); only what it
    # lacks is filled in.
    ops.append(ExecutionCreated(
        execution={"id": ev.run_id, "name": ev.name, "workflow_id": wf["id"],
                   "parent_id": ev.parent_run_id,
                   "status_message": f"recorded from OpenLineage ({ev.event_type})",
                   **_identity(ev.identity)},
        workflow=wf, at=ev.at, fill=True))
    target = ev.exact_status if ev.exact_status is not None and ev.status is not None \
        else ev.status
    if target is not None:
        ops.append(StatusChanged(execution_id=ev.run_id, seq=None, status=target,
                                 message=ev.message or f"OpenLineage {ev.event_type}",
                                 at=ev.at))
    if ev.metrics:
        ops.append(ExecutionUpdated(execution_id=ev.run_id, metrics=ev.metrics))
    edges = []
    for role, datasets in (("input", ev.inputs), ("output", ev.outputs)):
        for ds in datasets:
            rid, name, sub = resources.resolve(ds.namespace, ds.name, role, ev.at)
            edges.append(EdgeSpec(id=_edge_id(ev.run_id, role, rid, sub), role=role,
                                  resource=name, subpath=sub or None, hash=_hash(ds),
                                  hash_kind=ds.kind, length=ds.length,
                                  # outputs become valid when the run completes
                                  valid=role == "input"))
    if edges:
        ops.append(EdgesAdded(execution_id=ev.run_id, edges=edges, at=ev.at))
    return ops


def _write_batch(catalog: Catalog, events: list[tuple[int, Event]], result: IngestResult) -> None:
    for attempt in range(3):
        # Counters only move once the batch is committed.
        resources = Resources(catalog.list_resources())
        ops = [op for _, ev in events for op in event_ops(ev, resources)]
        try:
            done = catalog.store.apply([*resources.new, *ops], strict=False)
        except ConcurrentWriteError:
            if attempt == 2:
                raise
            continue  # a concurrent ingest wrote the same rows first: read them and redo
        result.accepted += len(events)
        result.duplicates += done.duplicates
        result.executions_created += done.created
        return


def _run_id_of(raw: Any) -> str | None:
    run = raw.get("run") if isinstance(raw, dict) else None
    value = run.get("runId") if isinstance(run, dict) else None
    return value[:64] if isinstance(value, str) else None


def ingest_events(catalog: Catalog, events: Iterable[Any], *, batch_size: int = 2000,
                  first_index: int = 0,
                  allow: Callable[[Event], str | None] | None = None) -> IngestResult:
    """Record OpenLineage RunEvents (dicts, or JSON text) in ``catalog``.

    Malformed events are skipped and listed in ``rejected`` with the problem;
    the others are recorded, in order, ``batch_size`` per transaction.
    ``allow`` may refuse an event (returning why), e.g. for the web app's per-DAG access.
    Sending the same events again changes nothing (they count as duplicates).

    Example:
        >>> r = ingest_events(cat, [{"eventType": "START", "eventTime": "2024-01-01T00:00:00Z",
        ...     "producer": "https://example.com", "job": {"namespace": "etl", "name": "load"},
        ...     "run": {"runId": "01890a5d-ac96-774b-b7e1-0a4c5e1e5bd2"}}])  # doctest: +SKIP
        >>> r.accepted  # doctest: +SKIP
        1
        >>> cat.get_execution("01890a5d-ac96-774b-b7e1-0a4c5e1e5bd2").status  # doctest: +SKIP
        <Status.running: 'running'>
    """
    result = IngestResult()
    batch: list[tuple[int, Event]] = []
    for index, raw in enumerate(events, start=first_index):
        result.received += 1
        if isinstance(raw, (str, bytes)):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                result.rejected.append(Rejected(index=index, problem=f"not JSON: {exc}"))
                continue
        try:
            event = parse_event(raw)
            refused = allow(event) if allow is not None else None
            if refused:
                raise OpenLineageEventError(refused)
            batch.append((index, event))
        except OpenLineageEventError as exc:
            result.rejected.append(Rejected(index=index, problem=str(exc),
                                            run_id=_run_id_of(raw)))
            continue
        if len(batch) >= batch_size:
            _write_batch(catalog, batch, result)
            batch = []
    if batch:
        _write_batch(catalog, batch, result)
    return result
