"""From journal operations to OpenLineage RunEvents (the emitting side).

An execution's catalog writes are :mod:`~steplineage.ops` operations;
:class:`EventBuilder` turns them into RunEvents as plain JSON-able dicts:

* status ``running`` -> START (RUNNING once started, and for ``uploading``);
  ``completed`` -> COMPLETE; ``failed`` -> FAIL (with an ``errorMessage``
  facet); ``aborted`` and ``skipped`` -> ABORT (the exact status rides in the
  ``steplineage_execution`` facet);
* the parent execution -> the standard ``parent`` run facet;
* refs read and written -> input/output datasets named by their URI (see
  :mod:`~steplineage.openlineage.naming`), with the ``version`` facet and, for
  content hashes, ``steplineage_checksums``; uploaded assets -> outputs with
  sha256, md5 and length; metrics -> ``steplineage_metrics``.

The builder remembers, per execution in this process, what the events need
(job name, parent, datasets so far), and forgets it when the execution ends.
It never touches the catalog except through the resource list the catalog
already caches.

Example:
    >>> builder = EventBuilder("steplineage")  # doctest: +SKIP
    >>> events = builder.events(exe, [status_op], resource_uri=lambda name: None)  # doctest: +SKIP
    >>> events[0]["eventType"]  # doctest: +SKIP
    'START'
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steplineage.ops import EdgesAdded, EdgeSpec, ExecutionCreated, ExecutionUpdated, Op, OutputsRegistered, StatusChanged
from steplineage.openlineage.facets import (EXECUTION, METRICS, PRODUCER, checksums_facet,
                                            execution_facet, metrics_facet)
from steplineage.openlineage.naming import to_namespace_name
from steplineage.status import Status

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution

__all__ = ["EVENT_TYPES", "RUN_EVENT_SCHEMA", "EventBuilder"]

RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PARENT_SCHEMA = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
ERROR_SCHEMA = ("https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"
                "#/$defs/ErrorMessageRunFacet")
VERSION_SCHEMA = ("https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json"
                  "#/$defs/DatasetVersionDatasetFacet")

#: the RunEvent type a status change is announced with (None: not announced)
EVENT_TYPES: dict[Status, str | None] = {
    Status.created: None, Status.initializing: None, Status.running: "RUNNING",
    Status.uploading: "RUNNING", Status.completed: "COMPLETE", Status.failed: "FAIL",
    Status.aborted: "ABORT", Status.skipped: "ABORT"}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_RUNS = 10_000  # executions remembered per process; the oldest are forgotten first


@dataclass
class _Run:
    """What the events of one execution need, gathered from its operations."""

    run_id: str
    job_name: str
    name: str
    workflow: str
    workflow_type: str
    parent: tuple[str, str] | None
    orchestrator: dict[str, Any]
    started: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _job_name(workflow: str, name: str) -> str:
    return workflow if name == workflow else f"{workflow}.{name}"


class EventBuilder:
    """Turns one process's journal operations into RunEvent dicts.

    Args:
        namespace: the OpenLineage job namespace of every job.
    """

    def __init__(self, namespace: str):
        self.namespace = namespace
        self._runs: OrderedDict[str, _Run] = OrderedDict()

    def _remember(self, run: _Run) -> _Run:
        self._runs[run.run_id] = run
        while len(self._runs) > _MAX_RUNS:
            self._runs.popitem(last=False)
        return run

    def _run(self, exe: Execution) -> _Run:
        run = self._runs.get(exe.id)
        if run is not None:
            return run
        ident = exe.config.orchestrator
        return self._remember(self._new_run(
            exe.id, exe.name, exe.workflow.name, exe.workflow.workflow_type, exe.parent_id,
            ident.model_dump(exclude_none=True) if ident else {}))

    def _new_run(self, run_id: str, name: str, workflow: str, workflow_type: str,
                 parent_id: str | None, orchestrator: dict[str, Any]) -> _Run:
        parent = None
        if parent_id:
            known = self._runs.get(parent_id)
            # A parent started in another process: its own events carry its real job name.
            parent = (parent_id, known.job_name if known else workflow)
        return _Run(run_id, _job_name(workflow, name), name, workflow, str(workflow_type),
                    parent, orchestrator)

    def events(self, exe: Execution, ops: Iterable[Op],
               resource_uri: Callable[[str], str | None]) -> list[dict[str, Any]]:
        """The RunEvents that ``ops`` (just written for ``exe``) announce, in order.

        ``resource_uri`` gives a registered resource's URI by name (None if unknown).
        """
        out: list[dict[str, Any]] = []
        for op in ops:
            if isinstance(op, ExecutionCreated):
                row = op.execution
                ident = {k: row[k] for k in ("orchestrator", "dag_id", "run_id", "task_id",
                                             "map_index", "try_number", "flow_run_id",
                                             "task_run_id", "run_count")
                         if row.get(k) is not None}
                self._remember(self._new_run(row["id"], row["name"], op.workflow["name"],
                                             op.workflow["workflow_type"],
                                             row.get("parent_id"), ident))
            elif isinstance(op, StatusChanged):
                out += self._status(self._run(exe), op)
            elif isinstance(op, ExecutionUpdated):
                if op.metrics:
                    self._run(exe).metrics.update(op.metrics)
            elif isinstance(op, EdgesAdded):
                run = self._run(exe)
                for edge in op.edges:
                    self._edge(run, edge, resource_uri)
            elif isinstance(op, OutputsRegistered):
                run = self._run(exe)
                for edge in op.outputs:
                    self._edge(run, edge, resource_uri)
                for asset in op.assets:
                    namespace, name = to_namespace_name(asset.url)
                    run.outputs[f"asset:{asset.asset_id}"] = {
                        "namespace": namespace, "name": name, "facets": {
                            "version": self._version(asset.sha256),
                            "steplineage_checksums": checksums_facet(
                                asset.sha256, md5=asset.md5, length=asset.length)}}
                out += self._status(run, op.status)
        return out

    def _edge(self, run: _Run, edge: EdgeSpec, resource_uri: Callable[[str], str | None]
              ) -> None:
        if edge.resource is None or edge.role == "code":
            return  # assets read and dataset versions have no location of their own here
        base = resource_uri(edge.resource)
        uri = (f"{base.rstrip('/')}/{edge.subpath}" if edge.subpath else base) if base else \
            f"{edge.resource}/{edge.subpath}" if edge.subpath else edge.resource
        namespace, name = to_namespace_name(uri)
        facets: dict[str, Any] = {}
        if edge.hash is not None:
            facets["version"] = self._version(edge.hash)
            if edge.hash_kind == "sha256" and _SHA256.match(edge.hash):
                facets["steplineage_checksums"] = checksums_facet(edge.hash, length=edge.length)
        target = run.inputs if edge.role == "input" else run.outputs
        target[f"{edge.resource}\0{edge.subpath or ''}"] = {"namespace": namespace, "name": name,
                                                           "facets": facets}

    @staticmethod
    def _version(value: str) -> dict[str, Any]:
        return {"_producer": PRODUCER, "_schemaURL": VERSION_SCHEMA, "datasetVersion": value}

    def _status(self, run: _Run, op: StatusChanged) -> list[dict[str, Any]]:
        event_type = EVENT_TYPES[op.status]
        if event_type is None:
            return []
        if op.status is Status.running and not run.started:
            event_type = "START"
        if event_type != "RUNNING":
            run.started = True
        run_facets: dict[str, Any] = {}
        if run.parent is not None:
            run_facets["parent"] = {
                "_producer": PRODUCER, "_schemaURL": PARENT_SCHEMA,
                "run": {"runId": run.parent[0]},
                "job": {"namespace": self.namespace, "name": run.parent[1]}}
        run_facets[EXECUTION] = execution_facet(run.name, run.workflow, run.workflow_type,
                                                op.status.value, op.message, run.orchestrator)
        if run.metrics:
            run_facets[METRICS] = metrics_facet(dict(run.metrics))
        if op.status is Status.failed:
            run_facets["errorMessage"] = {"_producer": PRODUCER, "_schemaURL": ERROR_SCHEMA,
                                          "message": op.message or "failed",
                                          "programmingLanguage": "python"}
        event = {
            "eventType": event_type, "eventTime": op.at.isoformat(), "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": run.run_id, "facets": run_facets},
            "job": {"namespace": self.namespace, "name": run.job_name, "facets": {}},
            "inputs": list(run.inputs.values()), "outputs": list(run.outputs.values())}
        if event_type in ("COMPLETE", "FAIL", "ABORT"):
            self._runs.pop(run.run_id, None)
        return [event]
