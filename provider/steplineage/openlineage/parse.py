"""Checking one incoming OpenLineage event and reading what the catalog needs from it.

Checks are by hand rather than with the full JSON schema: ingest must take
thousands of events a second, and a problem must be named precisely
(``run.runId: 'x' is not a UUID``) so the producer can fix it.

Example:
    >>> ev = parse_event({"eventType": "START", "eventTime": "2024-01-01T00:00:00Z",
    ...     "producer": "https://example.com/p",
    ...     "run": {"runId": "01890a5d-ac96-774b-b7e1-0a4c5e1e5bd2"},
    ...     "job": {"namespace": "etl", "name": "daily.clean"}})
    >>> ev.status, ev.job_name
    (<Status.running: 'running'>, 'daily.clean')
    >>> parse_event({"eventTime": "soon"})
    Traceback (most recent call last):
    ...
    steplineage.errors.OpenLineageEventError: eventTime: 'soon' is not an ISO-8601 date-time
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from steplineage.errors import OpenLineageEventError
from steplineage.openlineage.facets import CHECKSUMS, EXECUTION, METRICS
from steplineage.openlineage.naming import to_uri
from steplineage.status import Status

__all__ = ["EVENT_STATUS", "Dataset", "Event", "parse_event"]

#: the status an event type moves an execution to (OTHER carries metadata only)
EVENT_STATUS: dict[str, Status | None] = {
    "START": Status.running, "RUNNING": Status.running, "COMPLETE": Status.completed,
    "FAIL": Status.failed, "ABORT": Status.aborted, "OTHER": None}

_WORKFLOW_TYPES = {"airflow-dag", "prefect-flow", "script", "notebook", "manual"}
_INTEGRATION_TYPES = {"AIRFLOW": "airflow-dag", "PREFECT": "prefect-flow"}
_IDENTITY_KEYS = ("dag_id", "run_id", "task_id", "map_index", "try_number", "flow_run_id",
                  "task_run_id", "run_count")
_STR_LIMIT = {"dag_id": 250, "run_id": 250, "task_id": 250, "flow_run_id": 64,
              "task_run_id": 64}


@dataclass
class Dataset:
    """An input or output dataset: where, and which version if the event says."""

    namespace: str
    name: str
    uri: str
    hash: str | None
    kind: str
    length: int | None


@dataclass
class Event:
    """What one RunEvent says about one execution."""

    run_id: str
    event_type: str
    status: Status | None
    exact_status: Status | None
    at: datetime
    job_name: str
    workflow: str
    workflow_type: str
    name: str
    message: str
    parent_run_id: str | None
    parent_workflow: str | None
    parent_name: str | None
    identity: dict[str, Any] = field(default_factory=dict)
    parent_identity: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    inputs: list[Dataset] = field(default_factory=list)
    outputs: list[Dataset] = field(default_factory=list)


def _fail(where: str, problem: str) -> OpenLineageEventError:
    return OpenLineageEventError(f"{where}: {problem}")


def _obj(value: Any, where: str, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, "is missing" if value is None else
                    f"must be a JSON object, not {type(value).__name__}")
    return value


def _text(value: Any, where: str, limit: int = 255) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "is missing" if value is None else "must be a non-empty string")
    if len(value) > limit:
        raise _fail(where, f"is longer than {limit} characters")
    return value


def _uuid(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "is missing" if value is None else "must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _fail(where, f"{value[:80]!r} is not a UUID") from None


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _fail("eventTime", "is missing" if value is None else "must be a string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("eventTime", f"{value[:80]!r} is not an ISO-8601 date-time") from None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _datasets(value: Any, where: str) -> list[Dataset]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, "must be a JSON array of datasets")
    found = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        ds = _obj(item, here)
        namespace = _text(ds.get("namespace"), f"{here}.namespace", 2000)
        name = _text(ds.get("name"), f"{here}.name", 4000)
        facets = _obj(ds.get("facets"), f"{here}.facets", required=False)
        hash_, kind, length = None, "placeholder", None
        checksums = facets.get(CHECKSUMS)
        version = facets.get("version")
        if isinstance(checksums, dict) and isinstance(checksums.get("sha256"), str):
            hash_, kind = checksums["sha256"][:128], "sha256"
            length = checksums.get("length") if isinstance(checksums.get("length"), int) else None
        elif isinstance(version, dict) and isinstance(version.get("datasetVersion"), str):
            hash_ = "olversion:" + version["datasetVersion"][:110]
        found.append(Dataset(namespace, name, to_uri(namespace, name), hash_, kind, length))
    return found


def _identity(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if raw.get("orchestrator") in ("airflow", "prefect"):
        out["orchestrator"] = raw["orchestrator"]
    for key in _IDENTITY_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if key in _STR_LIMIT:
            out[key] = str(value)[:_STR_LIMIT[key]]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    return out


def _airflow(run_facets: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Orchestrator identity from the Airflow provider's facets; True for a DAG-run event."""
    task_facet = run_facets.get("airflow")
    dag_facet = run_facets.get("airflowDagRun")
    facet = task_facet if isinstance(task_facet, dict) else dag_facet
    if not isinstance(facet, dict):
        return {}, False
    dag = facet.get("dag") if isinstance(facet.get("dag"), dict) else {}
    run = facet.get("dagRun") if isinstance(facet.get("dagRun"), dict) else {}
    raw: dict[str, Any] = {"dag_id": dag.get("dag_id") or run.get("dag_id"),
                           "run_id": run.get("run_id")}
    if facet is task_facet:
        task = facet.get("task") if isinstance(facet.get("task"), dict) else {}
        ti = facet.get("taskInstance") if isinstance(facet.get("taskInstance"), dict) else {}
        raw |= {"task_id": task.get("task_id") or ti.get("task_id"),
                "try_number": ti.get("try_number"), "map_index": ti.get("map_index")}
    return _identity(raw), facet is not task_facet


def parse_event(raw: Any) -> Event:
    """Check one event and read it.

    Raises:
        OpenLineageEventError: the event is not a RunEvent steplineage can record;
            the message names the field and the problem.
    """
    ev = _obj(raw, "event")
    event_type = ev.get("eventType", "OTHER")
    if event_type not in EVENT_STATUS:
        raise _fail("eventType", f"{str(event_type)[:40]!r} is not one of "
                                 f"{', '.join(EVENT_STATUS)}")
    at = _time(ev.get("eventTime"))
    if "run" not in ev and ("dataset" in ev or "job" in ev):
        raise _fail("run", "is missing: DatasetEvent and JobEvent (static lineage) are not "
                           "recorded; send RunEvents")
    run = _obj(ev.get("run"), "run")
    run_id = _uuid(run.get("runId"), "run.runId")
    job = _obj(ev.get("job"), "job")
    _text(job.get("namespace"), "job.namespace")
    job_name = _text(job.get("name"), "job.name")
    _text(ev.get("producer"), "producer", 2000)
    run_facets = _obj(run.get("facets"), "run.facets", required=False)
    job_facets = _obj(job.get("facets"), "job.facets", required=False)

    parent_run_id = parent_job = None
    parent = run_facets.get("parent")
    if parent is not None:
        parent = _obj(parent, "run.facets.parent")
        parent_run_id = _uuid(_obj(parent.get("run"), "run.facets.parent.run").get("runId"),
                              "run.facets.parent.run.runId")
        parent_job = _text(_obj(parent.get("job"), "run.facets.parent.job").get("name"),
                           "run.facets.parent.job.name")
        if parent_run_id == run_id:
            raise _fail("run.facets.parent.run.runId", "is the run's own id")

    job_type = job_facets.get("jobType") if isinstance(job_facets.get("jobType"), dict) else {}
    workflow_type = _INTEGRATION_TYPES.get(str(job_type.get("integration", "")).upper(), "script")
    identity, dag_level = _airflow(run_facets)
    workflow, name = job_name, job_name
    if identity.get("dag_id"):
        workflow = identity["dag_id"]
        name = identity.get("task_id") or workflow
        workflow_type = "airflow-dag"
    elif parent_job and job_name.startswith(parent_job + "."):
        workflow, name = parent_job, job_name[len(parent_job) + 1:]
    parent_workflow = parent_job
    parent_identity: dict[str, Any] = {}
    if identity.get("dag_id") and not dag_level:
        parent_workflow = identity["dag_id"]  # the DAG run is the task's parent
        parent_identity = {k: identity[k] for k in ("dag_id", "run_id") if k in identity}

    exact = None
    message = ""
    ours = run_facets.get(EXECUTION)
    if isinstance(ours, dict) and isinstance(ours.get("workflow"), str) and \
            isinstance(ours.get("name"), str):
        workflow, name = ours["workflow"][:255], ours["name"][:255]
        if ours.get("workflowType") in _WORKFLOW_TYPES:
            workflow_type = ours["workflowType"]
        if ours.get("status") in Status.__members__:
            exact = Status(ours["status"])
        message = str(ours.get("message") or "")
        if isinstance(ours.get("orchestrator"), dict):
            identity = _identity(ours["orchestrator"])
    error = run_facets.get("errorMessage")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and not message:
        message = error["message"]
    metrics = run_facets.get(METRICS)
    return Event(
        run_id=run_id, event_type=event_type, status=EVENT_STATUS[event_type], exact_status=exact,
        at=at, job_name=job_name, workflow=workflow[:255], workflow_type=workflow_type,
        name=name[:255], message=message[:10_000], parent_run_id=parent_run_id,
        parent_workflow=parent_workflow, parent_name=parent_job, identity=identity,
        parent_identity=parent_identity,
        metrics=metrics["metrics"] if isinstance(metrics, dict) and
        isinstance(metrics.get("metrics"), dict) else {},
        inputs=_datasets(ev.get("inputs"), "inputs"),
        outputs=_datasets(ev.get("outputs"), "outputs"))
