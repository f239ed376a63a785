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
time is skipped and edge ids are derived from (run, role, ref). Events are
written in batches with SQLAlchemy Core, a few statements per batch.

Example:
    >>> result = ingest_events(cat, [start_event, complete_event])  # doctest: +SKIP
    >>> result.accepted, result.rejected  # doctest: +SKIP
    (2, [])
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from steplineage.ids import new_id
from steplineage.store import orm
from steplineage.errors import OpenLineageEventError
from steplineage.openlineage.datasets import Resources
from steplineage.openlineage.files import read_event_file
from steplineage.openlineage.parse import Dataset, Event, parse_event
from steplineage.status import FINAL_STATUSES, Status, can_transition

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["IngestResult", "Rejected", "ingest_events", "read_event_file"]

_EDGE_NAMESPACE = uuid.UUID("6f1e2b1c-3f0a-4c55-9a5e-0c9d3b7a4e11")
_STUB = "known from a child's parent facet"
_CHUNK = 500  # ids per IN (...) list: well under every database's parameter limit

EXE = orm.Execution.__table__
HIST = orm.StatusHistory.__table__
WF = orm.Workflow.__table__
VER = orm.Version.__table__
EDGE = orm.LineageEdge.__table__
_EXE_COLUMNS = ("id", "name", "workflow_id", "parent_id", "status", "status_message",
                "start_time", "stop_time", "duration_seconds", "heartbeat_at", "metrics",
                "orchestrator", "dag_id", "run_id", "task_id", "map_index", "try_number",
                "flow_run_id", "task_run_id", "run_count")
_MUTABLE = _EXE_COLUMNS[1:]


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


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else \
        value.astimezone(timezone.utc)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _workflow_id(name: str, workflow_type: str) -> str:
    from steplineage.catalog.catalog import workflow_id

    return workflow_id(name, workflow_type, None, None, None)


class _Batch:
    """One batch of parsed events, applied in memory, then written in a few statements."""

    def __init__(self, conn: Connection, events: list[tuple[int, Event]], result: IngestResult):
        self.conn, self.events, self.result = conn, events, result
        self.resources = Resources(conn)
        self.exes: dict[str, dict[str, Any]] = {}
        self.new_exes: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.seen: dict[str, set[tuple[str, str]]] = {}
        self.max_seq: dict[str, int] = {}
        self.history: list[dict[str, Any]] = []
        self.workflows: set[str] = set()
        self.new_workflows: list[dict[str, Any]] = []
        self.versions: dict[tuple[str, str, str], str] = {}
        self.new_versions: list[dict[str, Any]] = []
        self.edges: dict[str, tuple[str, bool]] = {}
        self.new_edges: dict[str, dict[str, Any]] = {}
        self.edge_updates: dict[str, dict[str, Any]] = {}
        self.completed: set[str] = set()

    # -- reading what is there ----------------------------------------------------

    def load(self) -> None:
        conn = self.conn
        ids = sorted({e.run_id for _, e in self.events} |
                     {e.parent_run_id for _, e in self.events if e.parent_run_id})
        columns = [EXE.c[c] for c in _EXE_COLUMNS]
        for chunk in _chunks(ids):
            for row in conn.execute(select(*columns).where(EXE.c.id.in_(chunk))).mappings():
                self.exes[row["id"]] = dict(row)
            for exe_id, seq, status, at in conn.execute(
                    select(HIST.c.execution_id, HIST.c.seq, HIST.c.status, HIST.c.at)
                    .where(HIST.c.execution_id.in_(chunk))):
                self.seen.setdefault(exe_id, set()).add((status, _utc(at).isoformat()))
                self.max_seq[exe_id] = max(self.max_seq.get(exe_id, 0), seq)
        wf_ids = sorted({_workflow_id(e.workflow, e.workflow_type) for _, e in self.events} |
                        {_workflow_id(e.parent_workflow, e.workflow_type)
                         for _, e in self.events if e.parent_workflow})
        for chunk in _chunks(wf_ids):
            self.workflows.update(conn.scalars(select(WF.c.id).where(WF.c.id.in_(chunk))))
        # Resolve every dataset now, so versions and edges are read in one go each.
        hashes: set[str] = set()
        edge_ids: list[str] = []
        for _, ev in self.events:
            for role, datasets in (("input", ev.inputs), ("output", ev.outputs)):
                for ds in datasets:
                    rid, sub = self.resources.resolve(ds.namespace, ds.name, role, ev.at)
                    hashes.add(self._hash(ds))
                    edge_ids.append(self._edge_id(ev.run_id, role, rid, sub))
        for chunk in _chunks(sorted(hashes)):
            for vid, rid, sub, hash_ in conn.execute(
                    select(VER.c.id, VER.c.resource_id, VER.c.subpath, VER.c.hash)
                    .where(VER.c.hash.in_(chunk))):
                self.versions[(rid, sub or "", hash_)] = vid
        for chunk in _chunks(sorted(set(edge_ids))):
            for eid, vid, valid in conn.execute(
                    select(EDGE.c.id, EDGE.c.version_id, EDGE.c.valid)
                    .where(EDGE.c.id.in_(chunk))):
                self.edges[eid] = (vid, bool(valid))

    @staticmethod
    def _hash(ds: Dataset) -> str:
        if ds.hash is not None:
            return ds.hash
        return "placeholder:" + hashlib.sha256(f"{ds.uri}\0openlineage".encode()).hexdigest()[:16]

    @staticmethod
    def _edge_id(run_id: str, role: str, resource_id: str, subpath: str) -> str:
        return str(uuid.uuid5(_EDGE_NAMESPACE, f"{run_id}\0{role}\0{resource_id}\0{subpath}"))

    # -- applying events in memory ------------------------------------------------

    def _workflow(self, name: str, workflow_type: str, at: datetime) -> str:
        wid = _workflow_id(name, workflow_type)
        if wid not in self.workflows:
            self.workflows.add(wid)
            self.new_workflows.append({"id": wid, "name": name, "workflow_type": workflow_type,
                                       "description": "recorded from OpenLineage events",
                                       "active": True, "created_at": at})
        return wid

    def _execution(self, exe_id: str, name: str, workflow_id: str, parent_id: str | None,
                   identity: dict[str, Any], at: datetime, message: str) -> dict[str, Any]:
        row = self.exes.get(exe_id)
        if row is None:
            row = {c: None for c in _EXE_COLUMNS} | {
                "id": exe_id, "name": name, "workflow_id": workflow_id, "parent_id": parent_id,
                "status": Status.created.value, "status_message": message, "metrics": {},
                "heartbeat_at": at, "created_at": at, "description": "",
                "parameters": {}, **identity}
            if identity.get("dag_id") and not identity.get("orchestrator"):
                row["orchestrator"] = "airflow"
            self.exes[exe_id] = self.new_exes[exe_id] = row
            self.history.append({"execution_id": exe_id, "seq": 0, "status": "created",
                                 "message": message, "at": at})
            self.seen[exe_id] = {("created", at.isoformat())}
            self.max_seq[exe_id] = 0
            self.result.executions_created += 1
        return row

    def _set(self, row: dict[str, Any], **values: Any) -> None:
        changed = {k: v for k, v in values.items() if row.get(k) != v}
        if changed:
            row.update(changed)
            if row["id"] not in self.new_exes:
                self.dirty.add(row["id"])

    def apply(self, ev: Event) -> None:
        parent_id = None
        if ev.parent_run_id:
            parent_id = ev.parent_run_id
            if parent_id not in self.exes:
                wid = self._workflow(ev.parent_workflow or ev.parent_name or "openlineage",
                                     ev.workflow_type, ev.at)
                self._execution(parent_id, ev.parent_name or "parent", wid, None,
                                ev.parent_identity, ev.at, _STUB)
        wid = self._workflow(ev.workflow, ev.workflow_type, ev.at)
        row = self._execution(ev.run_id, ev.name, wid, parent_id, ev.identity, ev.at,
                              f"recorded from OpenLineage ({ev.event_type})")
        if row["status_message"] == _STUB and row["status"] == Status.created.value:
            # Known so far only from a child's parent facet: its own event says who it is.
            self._set(row, name=ev.name, workflow_id=wid)
        # Otherwise what the catalog has stands (e.g. our own events sent back to us);
        # only what it lacks is filled in.
        self._set(row, **({"parent_id": parent_id} if parent_id and not row["parent_id"]
                          else {}),
                  **{k: v for k, v in ev.identity.items() if row.get(k) is None})
        if ev.identity.get("dag_id") and row.get("orchestrator") is None:
            self._set(row, orchestrator="airflow")
        duplicate = False
        target = ev.exact_status if ev.exact_status is not None and ev.status is not None \
            else ev.status
        if target is not None:
            duplicate = self._status(row, target, ev)
        if ev.metrics:
            self._set(row, metrics={**(row.get("metrics") or {}), **ev.metrics})
        for role, datasets in (("input", ev.inputs), ("output", ev.outputs)):
            for ds in datasets:
                self._edge(row, role, ds, ev.at)
        if row["status"] == Status.completed.value:
            self.completed.add(row["id"])
        self.result.accepted += 1
        self.result.duplicates += int(duplicate)

    def _history(self, exe_id: str, status: Status, message: str, at: datetime) -> None:
        self.max_seq[exe_id] = self.max_seq.get(exe_id, 0) + 1
        self.history.append({"execution_id": exe_id, "seq": self.max_seq[exe_id],
                             "status": status.value, "message": message, "at": at})
        self.seen.setdefault(exe_id, set()).add((status.value, at.isoformat()))

    def _status(self, row: dict[str, Any], target: Status, ev: Event) -> bool:
        """Move ``row`` to ``target``; True when this change was already recorded."""
        exe_id, at = row["id"], ev.at
        if (target.value, at.isoformat()) in self.seen.get(exe_id, set()):
            return True
        current = Status(row["status"])
        message = ev.message or f"OpenLineage {ev.event_type}"
        start = _utc(row.get("start_time"))
        if not can_transition(current, target) and current in (Status.created,
                                                               Status.initializing) \
                and can_transition(Status.running, target):
            # COMPLETE (or uploading) before START: it ran, we just did not hear it start.
            self._history(exe_id, Status.running, f"running (implied by {ev.event_type})", at)
            self._set(row, status=Status.running.value, start_time=start or at)
            current, start = Status.running, start or at
        if not can_transition(current, target):
            self._history(exe_id, target,
                          f"{message} [not applied: execution was already {current.value}]", at)
            if target is Status.running and (start is None or at < start):
                self._set(row, start_time=at)  # a late START still says when it began
                self._duration(row)
            return False
        self._history(exe_id, target, message, at)
        values: dict[str, Any] = {"status": target.value, "status_message": message,
                                  "heartbeat_at": at}
        if target is Status.running and start is None:
            values["start_time"] = at
        if target in FINAL_STATUSES:
            values["stop_time"] = _utc(row.get("stop_time")) or at
        self._set(row, **values)
        self._duration(row)
        return False

    def _duration(self, row: dict[str, Any]) -> None:
        start, stop = _utc(row.get("start_time")), _utc(row.get("stop_time"))
        if start is not None and stop is not None:
            self._set(row, duration_seconds=max((stop - start).total_seconds(), 0.0))

    def _edge(self, row: dict[str, Any], role: str, ds: Dataset, at: datetime) -> None:
        rid, sub = self.resources.resolve(ds.namespace, ds.name, role, at)
        hash_ = self._hash(ds)
        key = (rid, sub, hash_)
        vid = self.versions.get(key)
        if vid is None:
            vid = self.versions[key] = new_id()
            self.new_versions.append({"id": vid, "resource_id": rid, "subpath": sub,
                                      "hash": hash_, "kind": ds.kind, "length": ds.length,
                                      "created_at": at})
        eid = self._edge_id(row["id"], role, rid, sub)
        valid = role == "input" or row["status"] == Status.completed.value
        if eid in self.new_edges:
            self.new_edges[eid].update(version_id=vid, valid=valid)
        elif eid in self.edges:
            if self.edges[eid] != (vid, valid):
                self.edge_updates[eid] = {"b_id": eid, "version_id": vid, "valid": valid}
        else:
            self.new_edges[eid] = {"id": eid, "execution_id": row["id"], "role": role,
                                   "resource_id": rid, "subpath": sub, "version_id": vid,
                                   "asset_id": None, "dataset_version_id": None,
                                   "valid": valid, "created_at": at}
        self.edges[eid] = (vid, valid)

    # -- writing ------------------------------------------------------------------

    def _depth(self, row: dict[str, Any]) -> int:
        depth, parent = 0, row["parent_id"]
        while parent in self.new_exes and depth < 1000:
            depth, parent = depth + 1, self.new_exes[parent]["parent_id"]
        return depth

    def write(self) -> None:
        conn = self.conn
        if self.new_workflows:
            conn.execute(insert(WF), self.new_workflows)
        if self.resources.new:
            conn.execute(insert(orm.Resource.__table__), self.resources.new)
        if self.new_exes:
            # Parents first: the foreign key is checked row by row.
            rows = sorted(self.new_exes.values(), key=self._depth)
            conn.execute(insert(EXE), rows)
        if self.dirty:
            stmt = update(EXE).where(EXE.c.id == bindparam("b_id")).values(
                {c: bindparam(c) for c in _MUTABLE})
            conn.execute(stmt, [{"b_id": i, **{c: self.exes[i][c] for c in _MUTABLE}}
                                for i in sorted(self.dirty)])
        if self.history:
            conn.execute(insert(HIST), self.history)
        if self.new_versions:
            conn.execute(insert(VER), self.new_versions)
        if self.new_edges:
            conn.execute(insert(EDGE), list(self.new_edges.values()))
        if self.edge_updates:
            conn.execute(update(EDGE).where(EDGE.c.id == bindparam("b_id"))
                         .values(version_id=bindparam("version_id"), valid=bindparam("valid")),
                         list(self.edge_updates.values()))
        for chunk in _chunks(sorted(self.completed)):
            conn.execute(update(EDGE).where(and_(EDGE.c.execution_id.in_(chunk),
                                                 EDGE.c.role == "output",
                                                 EDGE.c.valid.is_(False))).values(valid=True))


def _write_batch(catalog: Catalog, events: list[tuple[int, Event]], result: IngestResult) -> None:
    for attempt in range(3):
        # Counters only move once the batch is committed.
        counts = IngestResult()
        try:
            with catalog.session() as s:
                batch = _Batch(s.connection(), events, counts)
                batch.load()
                for _, ev in events:
                    batch.apply(ev)
                batch.write()
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # a concurrent ingest wrote the same rows first: read them and redo
        result.accepted += counts.accepted
        result.duplicates += counts.duplicates
        result.executions_created += counts.executions_created
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
