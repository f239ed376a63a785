"""The one apply path: every catalog write is a list of operations applied here.

Live steps, spool replay, batch registration and OpenLineage ingest all write
through :func:`apply_ops`, so the status state machine, idempotency and
output validity are enforced in one place. It works set-wise, like a unit of
work: read what the operations touch (a few ``IN (...)`` queries), apply them
in memory in order, then write the changes in a few ``executemany``
statements, whether there is one operation or a hundred thousand.

Rules:

* applying an operation twice changes nothing the second time (client ids;
  a status change already recorded at the same seq, or the same status at
  the same time, is skipped);
* ``strict`` (a live writer): a status change the state machine forbids
  raises :class:`StatusTransitionError`. Not strict (replay, registration,
  ingest): the change is kept in the history with "[not applied: ...]", a
  final status reached straight from ``created``/``initializing`` first
  passes through an implied ``running``, and a late ``running`` still
  corrects the start time;
* reaching ``completed`` makes the execution's declared outputs valid.

Example:
    >>> apply_ops(session, [ExecutionCreated(...), StatusChanged(...)])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from steplineage.errors import NotFoundError, StatusTransitionError, UnknownResourceError
from steplineage.ids import new_id
from steplineage.ops import (STUB_MESSAGE, EdgesAdded, EdgeSpec, ExecutionCreated,
                             ExecutionUpdated, Op, OutputsRegistered, ResourceAdded,
                             StatusChanged)
from steplineage.status import FINAL_STATUSES, Status, allowed_next, can_transition
from steplineage.store import orm
from steplineage.store.engine import chunks, insert_skipping_existing
from steplineage.store.records import aware
from steplineage.store.versions import VERSION_KEY

__all__ = ["ApplyResult", "apply_op", "apply_ops", "ensure_agent"]

log = logging.getLogger(__name__)

_AGENT_NAMESPACE = uuid.UUID("0b6c7e0e-8a5e-4f39-9a53-5c1e2a3f4d21")

EXE, HIST, WF = orm.Execution.__table__, orm.StatusHistory.__table__, orm.Workflow.__table__
VER, EDGE, RES = orm.Version.__table__, orm.LineageEdge.__table__, orm.Resource.__table__
AGENT, LINK = orm.Agent.__table__, orm.ExecutionAgent.__table__
ASSET, ATYPE = orm.Asset.__table__, orm.AssetTypeLink.__table__
_EXE_COLUMNS = tuple(c.name for c in EXE.columns)
_MUTABLE = tuple(c for c in _EXE_COLUMNS if c not in ("id", "created_at"))

# Per catalog database: workflow and agent ids known to be committed there, and resource
# ids by name. None is ever deleted, so later transactions need not look them up again.
_KNOWN: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_RESOURCE_IDS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ApplyResult:
    """What one apply did: executions created, status changes already recorded (skipped)."""

    created: int = 0
    duplicates: int = 0


def apply_ops(s: Session, ops: Sequence[Op], *, strict: bool = True) -> ApplyResult:
    """Apply ``ops`` in order inside the open session (see the module docstring)."""
    if not ops:
        return ApplyResult()
    work = _UnitOfWork(s, strict)
    work.run(ops)
    return ApplyResult(len(work.new_exes), work.duplicates)


def apply_op(s: Session, op: Op, *, strict: bool = True) -> None:
    """Apply one operation (see :func:`apply_ops`)."""
    apply_ops(s, [op], strict=strict)


def ensure_agent(s: Session, name: str, kind: str) -> str:
    """The id of the agent called ``name`` (deterministic), inserted if new."""
    agent_id = agent_id_for(name)
    _insert_known(s, AGENT, [{"id": agent_id, "name": name, "kind": kind, "description": ""}])
    return agent_id


def agent_id_for(name: str) -> str:
    """The deterministic id of the agent called ``name``."""
    return str(uuid.uuid5(_AGENT_NAMESPACE, name))


def _insert_known(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert workflow/agent rows not known to exist; remembered once committed."""
    known = _KNOWN.setdefault(s.get_bind(), set())
    fresh = [r for r in rows if r["id"] not in known]
    if not fresh:
        return
    s.connection().execute(insert_skipping_existing(s, table, ["id"]), fresh)
    ids = [r["id"] for r in fresh]
    # A rolled-back insert must not be taken for a row.
    s.info.setdefault("steplineage_on_commit", []).append(lambda: known.update(ids))


class _UnitOfWork:
    """What ``ops`` touch, read once, changed in memory, written in a few statements."""

    def __init__(self, s: Session, strict: bool):
        self.s, self.conn, self.strict = s, s.connection(), strict
        self.exes: dict[str, dict[str, Any]] = {}
        self.new_exes: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()
        self.history: dict[str, dict[int, tuple[str, datetime]]] = {}
        self.max_seq: dict[str, int] = {}  # highest seq stored per execution, once known
        self.new_history: list[dict[str, Any]] = []
        self.workflows: list[dict[str, Any]] = []
        self.agents: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.versions: dict[tuple[str, str, str], str] = {}
        self.new_versions: list[dict[str, Any]] = []
        self.edges: dict[str, tuple[str | None, bool]] = {}
        self.new_edges: dict[str, dict[str, Any]] = {}
        self.edge_updates: dict[str, dict[str, Any]] = {}
        self.completed: set[str] = set()
        self.assets: dict[tuple[str, str, str], str] = {}
        self.new_assets: list[dict[str, Any]] = []
        self.asset_types: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.duplicates = 0

    def run(self, ops: Sequence[Op]) -> None:
        self._load(ops)
        for op in ops:
            if isinstance(op, ExecutionCreated):
                self._created(op)
            elif isinstance(op, StatusChanged):
                self._status(op)
            elif isinstance(op, ExecutionUpdated):
                self._updated(op)
            elif isinstance(op, EdgesAdded):
                for spec in op.edges:
                    self._edge(op.execution_id, spec, op.at)
            elif isinstance(op, OutputsRegistered):
                self._outputs(op)
            else:
                self._resource(op)
        self._write()

    # -- reading what the operations touch ----------------------------------------

    def _load(self, ops: Sequence[Op]) -> None:
        changed: set[str] = set()  # executions whose row these operations change
        parents: set[str] = set()
        edge_ids: set[str] = set()  # edges that may exist already
        hashes: set[str] = set()
        for op in ops:
            if isinstance(op, ResourceAdded):
                continue
            if isinstance(op, ExecutionCreated):
                changed.add(op.execution["id"])
                if op.execution.get("parent_id"):
                    parents.add(op.execution["parent_id"])
                continue
            changed.add(op.execution_id)
            specs = op.edges if isinstance(op, EdgesAdded) else \
                op.outputs if isinstance(op, OutputsRegistered) else []
            hashes.update(e.hash for e in specs if e.hash is not None and e.resource is not None)
            if isinstance(op, OutputsRegistered):  # completes edges declared earlier
                edge_ids.update([e.id for e in op.outputs] + [a.edge_id for a in op.assets])
            elif not self.strict:  # a live writer's edge ids are fresh; a replay's may not be
                edge_ids.update(e.id for e in specs)
        lock = self.conn.dialect.name == "postgresql"  # concurrent status changes queue here
        for ids, locked in ((changed, lock), (parents - changed, False)):
            for chunk in chunks(ids):
                query = select(*(EXE.c[c] for c in _EXE_COLUMNS)).where(EXE.c.id.in_(chunk))
                for row in self.conn.execute(query.with_for_update() if locked
                                             else query).mappings():
                    self.exes[row["id"]] = dict(row)
        if not self.strict:  # only a replay meets its own history rows again
            for chunk in chunks(changed):
                for exe_id, seq, status, at in self.conn.execute(
                        select(HIST.c.execution_id, HIST.c.seq, HIST.c.status, HIST.c.at)
                        .where(HIST.c.execution_id.in_(chunk))):
                    self.history.setdefault(exe_id, {})[seq] = (status, aware(at))
                    self.max_seq[exe_id] = max(self.max_seq.get(exe_id, 0), seq)
        for chunk in chunks(edge_ids):
            for eid, vid, valid in self.conn.execute(
                    select(EDGE.c.id, EDGE.c.version_id, EDGE.c.valid)
                    .where(EDGE.c.id.in_(chunk))):
                self.edges[eid] = (vid, bool(valid))
        for chunk in chunks(hashes):
            for vid, rid, sub, hash_ in self.conn.execute(
                    select(VER.c.id, VER.c.resource_id, VER.c.subpath, VER.c.hash)
                    .where(VER.c.hash.in_(chunk))):
                self.versions[(rid, sub or "", hash_)] = vid

    def _resource(self, op: ResourceAdded) -> None:
        # Inserted at once: later operations of this batch resolve its name.
        self.conn.execute(insert_skipping_existing(self.s, RES, ["name"]), [{
            "id": op.id, "name": op.name, "uri": op.uri, "role": op.role,
            "description": op.description, "created_at": op.at}])

    def _resource_id(self, name: str) -> str:
        cache = _RESOURCE_IDS.setdefault(self.s.get_bind(), {})
        if name not in cache:
            found = self.conn.execute(select(RES.c.id).where(RES.c.name == name)).scalar()
            if found is None:
                raise UnknownResourceError(f"unknown resource {name!r}: register it with "
                                           f"cat.add_resource({name!r}, uri=..., role=...)")
            cache[name] = found
        return cache[name]

    def _row(self, execution_id: str) -> dict[str, Any]:
        row = self.exes.get(execution_id)
        if row is None:
            raise NotFoundError(f"execution {execution_id} is not in the catalog: create it "
                                "first (cat.create_execution)")
        return row

    def _set(self, row: dict[str, Any], **values: Any) -> None:
        changed = {k: v for k, v in values.items() if row.get(k) != v}
        if changed:
            row.update(changed)
            if row["id"] not in self.new_exes:
                self.dirty.add(row["id"])

    # -- applying in memory ---------------------------------------------------------

    def _created(self, op: ExecutionCreated) -> None:
        values = op.execution
        row = self.exes.get(values["id"])
        if row is not None:
            if op.fill:  # another source says more about a known execution: fill the gaps
                if row["status_message"] == STUB_MESSAGE and row["status"] == "created":
                    self._set(row, name=values["name"], workflow_id=values.get("workflow_id"))
                self._set(row, **{k: v for k, v in values.items()
                                  if v is not None and row.get(k) is None})
                self._workflow(op)
            return
        parent = values.get("parent_id")
        if parent and parent not in self.exes:
            raise NotFoundError(f"parent execution {parent!r} does not exist; create the "
                                "parent first")
        self._workflow(op)
        row = {c: None for c in _EXE_COLUMNS} | {
            "status": Status.created.value, "status_message": "created", "description": "",
            "parameters": {}, "metrics": {}} | values | {"heartbeat_at": op.at,
                                                          "created_at": op.at}
        self.exes[row["id"]] = self.new_exes[row["id"]] = row
        self.history[row["id"]] = {0: (Status.created.value, op.at)}
        self.max_seq[row["id"]] = 0
        self.new_history.append({"execution_id": row["id"], "seq": 0, "status": "created",
                                 "message": row["status_message"], "at": op.at})
        if op.agent:
            agent_id = agent_id_for(op.agent)
            self.agents.append({"id": agent_id, "name": op.agent, "kind": "person",
                                "description": ""})
            self.links.append({"execution_id": row["id"], "agent_id": agent_id,
                               "role": "operator"})

    def _workflow(self, op: ExecutionCreated) -> None:
        if op.workflow:
            self.workflows.append({"created_at": op.at, **op.workflow})

    def _history(self, exe_id: str, seq: int | None, status: Status, message: str,
                 at: datetime) -> None:
        rows = self.history.setdefault(exe_id, {})
        if seq is None or seq in rows:  # appended, or another writer took this seq
            seq = max([self._stored_max_seq(exe_id), *rows]) + 1
        rows[seq] = (status.value, at)
        self.new_history.append({"execution_id": exe_id, "seq": seq, "status": status.value,
                                 "message": message, "at": at})

    def _stored_max_seq(self, exe_id: str) -> int:
        """The highest seq in the database; a live writer's history is not read, so ask once
        (only when an append has no seq of its own, or its seq is taken)."""
        if exe_id not in self.max_seq:
            self.max_seq[exe_id] = self.conn.execute(select(func.max(HIST.c.seq)).where(
                HIST.c.execution_id == exe_id)).scalar() or 0
        return self.max_seq[exe_id]

    def _seen(self, op: StatusChanged) -> bool:
        """Whether this status change is already recorded (a replay, a re-delivery)."""
        rows = self.history.get(op.execution_id, {})
        if op.seq is not None:
            return rows.get(op.seq) == (op.status.value, op.at)
        return (op.status.value, op.at) in rows.values()

    def _status(self, op: StatusChanged) -> None:
        row = self._row(op.execution_id)
        if not self.strict and self._seen(op):
            self.duplicates += 1
            return
        current, target, at = Status(row["status"]), op.status, op.at
        if not can_transition(current, target) and not self.strict \
                and current in (Status.created, Status.initializing) \
                and can_transition(Status.running, target):
            # Finished before we heard it start: it ran, so record that it did.
            self._history(op.execution_id, None, Status.running,
                          f"running (implied by {target.value})", at)
            self._move(row, Status.running, f"running (implied by {target.value})", at)
            current = Status.running
        if not can_transition(current, target):
            if self.strict:
                raise StatusTransitionError(op.execution_id, current.value, target.value,
                                            [n.value for n in allowed_next(current)])
            # Replayed late (e.g. the reaper aborted it meanwhile): keep the record, not the move.
            self._history(op.execution_id, op.seq, target,
                          f"{op.message} [not applied: execution was already {current.value}]",
                          at)
            start = aware(row.get("start_time"))
            if target is Status.running and start is not None and at < start:
                self._set(row, start_time=at)  # a late start still says when it began
                self._duration(row)
            return
        self._history(op.execution_id, op.seq, target, op.message, at)
        self._move(row, target, op.message, at)

    def _move(self, row: dict[str, Any], target: Status, message: str, at: datetime) -> None:
        values: dict[str, Any] = {"status": target.value, "status_message": message,
                                  "heartbeat_at": at}
        if target is Status.running and row.get("start_time") is None:
            values["start_time"] = at
        if target in FINAL_STATUSES and row.get("start_time") is not None:
            values["stop_time"] = row.get("stop_time") or at
        self._set(row, **values)
        self._duration(row)
        if target is Status.completed:
            self.completed.add(row["id"])

    def _duration(self, row: dict[str, Any]) -> None:
        start, stop = aware(row.get("start_time")), aware(row.get("stop_time"))
        if start is not None and stop is not None:
            self._set(row, duration_seconds=max((stop - start).total_seconds(), 0.0))

    def _updated(self, op: ExecutionUpdated) -> None:
        row = self._row(op.execution_id)
        if op.parameters:
            self._set(row, parameters={**(row.get("parameters") or {}), **op.parameters})
        if op.metrics:
            self._set(row, metrics={**(row.get("metrics") or {}), **op.metrics})
        if op.results is not None:
            self._set(row, results=op.results)
        if op.stop_time is not None:
            self._set(row, stop_time=op.stop_time)
            self._duration(row)

    def _version(self, spec: EdgeSpec, at: datetime) -> tuple[str | None, str | None]:
        """(resource id, version id) of an edge to a ref (Nones for assets and datasets)."""
        if spec.resource is None:
            return None, None
        rid = self._resource_id(spec.resource)
        if spec.hash is None:
            return rid, None
        key = (rid, spec.subpath or "", spec.hash)
        if key not in self.versions:
            self.versions[key] = new_id()
            self.new_versions.append({"id": self.versions[key], "resource_id": rid,
                                      "subpath": key[1], "hash": spec.hash,
                                      "kind": spec.hash_kind, "length": spec.length,
                                      "created_at": at})
        return rid, self.versions[key]

    def _edge(self, execution_id: str, spec: EdgeSpec, at: datetime,
              asset_id: str | None = None) -> None:
        rid, vid = self._version(spec, at)
        if spec.role == "output" and not spec.valid \
                and self._row(execution_id)["status"] == Status.completed.value:
            spec = spec.model_copy(update={"valid": True})  # reported after it completed
        if spec.id in self.new_edges:
            self.new_edges[spec.id].update(version_id=vid, valid=spec.valid, created_at=at)
        elif spec.id in self.edges:
            # A known edge gets its version (outputs on completion, a re-delivered event).
            if self.edges.get(spec.id) != (vid, spec.valid):
                self.edge_updates[spec.id] = {"b_id": spec.id, "version_id": vid,
                                              "valid": spec.valid, "created_at": at}
        else:
            self.new_edges[spec.id] = {
                "id": spec.id, "execution_id": execution_id, "role": spec.role,
                "resource_id": rid, "subpath": (spec.subpath or "") if rid else None,
                "version_id": vid, "asset_id": asset_id or spec.asset_id,
                "dataset_version_id": spec.dataset_version_id, "valid": spec.valid,
                "created_at": at}
        self.edges[spec.id] = (vid, spec.valid)

    def _outputs(self, op: OutputsRegistered) -> None:
        if op.assets:
            self._load_assets(op)
        for a in op.assets:
            key = (a.asset_table, a.sha256, a.filename)
            if key not in self.assets:  # identical content under one name is one asset
                self.assets[key] = a.asset_id
                self.new_assets.append({
                    "id": a.asset_id, "asset_table": a.asset_table, "url": a.url,
                    "filename": a.filename, "length": a.length, "md5": a.md5,
                    "sha256": a.sha256, "description": a.description,
                    "metadata": a.metadata, "created_at": op.status.at})
                self.asset_types += [{"asset_id": a.asset_id, "type_name": t}
                                     for t in a.asset_types]
            self._edge(op.execution_id, EdgeSpec(id=a.edge_id, role="output", valid=True),
                       op.status.at, asset_id=self.assets[key])
        for spec in op.outputs:
            self._edge(op.execution_id, spec, op.status.at)
        self._status(op.status)

    def _load_assets(self, op: OutputsRegistered) -> None:
        for a in op.assets:
            if (a.asset_table, a.sha256, a.filename) not in self.assets:
                found = self.conn.execute(select(ASSET.c.id).where(
                    ASSET.c.asset_table == a.asset_table, ASSET.c.sha256 == a.sha256,
                    ASSET.c.filename == a.filename)).scalar()
                if found is not None:
                    self.assets[(a.asset_table, a.sha256, a.filename)] = found

    # -- writing --------------------------------------------------------------------

    def _depth(self, row: dict[str, Any]) -> int:
        depth, parent = 0, row["parent_id"]
        while parent in self.new_exes and depth < 1000:
            depth, parent = depth + 1, self.new_exes[parent]["parent_id"]
        return depth

    def _write(self) -> None:
        conn = self.conn
        if self.workflows:
            _insert_known(self.s, WF, self.workflows)
        if self.agents:
            _insert_known(self.s, AGENT, self.agents)
        if self.new_exes:
            # Parents first: the foreign key is checked row by row.
            conn.execute(insert(EXE), sorted(self.new_exes.values(), key=self._depth))
        if self.dirty:
            conn.execute(update(EXE).where(EXE.c.id == bindparam("b_id")).values(
                {c: bindparam(c) for c in _MUTABLE}),
                [{"b_id": i, **{c: self.exes[i][c] for c in _MUTABLE}}
                 for i in sorted(self.dirty)])
        if self.new_history:
            conn.execute(insert(HIST), self.new_history)
        if self.links:
            conn.execute(insert_skipping_existing(self.s, LINK, ["execution_id", "agent_id"]),
                         self.links)
        if self.new_versions:
            conn.execute(insert_skipping_existing(self.s, VER, VERSION_KEY),
                         self.new_versions)
            self._settle_versions()
        if self.new_assets:
            conn.execute(insert(ASSET), self.new_assets)
            if self.asset_types:
                conn.execute(insert(ATYPE), self.asset_types)
        if self.new_edges:
            conn.execute(insert(EDGE), list(self.new_edges.values()))
        if self.edge_updates:
            conn.execute(update(EDGE).where(EDGE.c.id == bindparam("b_id")).values(
                version_id=bindparam("version_id"), valid=bindparam("valid"),
                created_at=bindparam("created_at")), list(self.edge_updates.values()))
        for chunk in chunks(self.completed):
            conn.execute(update(EDGE).where(and_(EDGE.c.execution_id.in_(chunk),
                                                 EDGE.c.role == "output",
                                                 EDGE.c.valid.is_(False))).values(valid=True))

    def _settle_versions(self) -> None:
        """Point edges at a concurrent writer's version row where it inserted first."""
        ours = {v["id"] for v in self.new_versions}
        wanted = {(v["resource_id"], v["subpath"], v["hash"]): v["id"] for v in self.new_versions}
        lost: dict[str, str] = {}
        for chunk in chunks({k[2] for k in wanted}):
            for vid, rid, sub, hash_ in self.conn.execute(
                    select(VER.c.id, VER.c.resource_id, VER.c.subpath, VER.c.hash)
                    .where(VER.c.hash.in_(chunk))):
                mine = wanted.get((rid, sub, hash_))
                if mine is not None and vid != mine and mine in ours:
                    lost[mine] = vid
        if lost:
            for edge in self.new_edges.values():
                edge["version_id"] = lost.get(edge["version_id"], edge["version_id"])
            for edge in self.edge_updates.values():
                edge["version_id"] = lost.get(edge["version_id"], edge["version_id"])
