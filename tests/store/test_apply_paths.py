"""One apply path: the same history written live, replayed from the spool and ingested
from OpenLineage leaves the same rows.

The history: a step created and started at t1 that read raw:in.csv (sha256 h1) and
completed at t2 having written results:out.csv (sha256 h2). Each path records it as a
different execution in one catalog; the rows are compared apart from ids and free-text
messages, which name the source.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import steplineage as sl
from steplineage.openlineage.ingest import ingest_events
from steplineage.ops import (EdgesAdded, EdgeSpec, ExecutionCreated, OutputsRegistered,
                             StatusChanged)

T1 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
T2 = T1 + timedelta(minutes=7)
H1, H2 = "1" * 64, "2" * 64


def _ops(cat: sl.Catalog, exe_id: str) -> list[Any]:
    wf = cat.add_workflow("paths", workflow_type="script", version="1")
    declared = EdgeSpec(id=str(uuid.uuid4()), role="output", resource="results",
                        subpath="out.csv", valid=False)
    return [
        ExecutionCreated(execution={"id": exe_id, "name": "step", "workflow_id": wf.id,
                                    "status": "created", "status_message": "created"},
                         workflow=wf.model_dump(), at=T1),
        StatusChanged(execution_id=exe_id, seq=1, status=sl.Status.running,
                      message="started", at=T1),
        EdgesAdded(execution_id=exe_id, at=T1, edges=[
            EdgeSpec(id=str(uuid.uuid4()), role="input", resource="raw", subpath="in.csv",
                     hash=H1), declared]),
        OutputsRegistered(execution_id=exe_id, assets=[], outputs=[declared.model_copy(
            update={"hash": H2, "valid": True})], status=StatusChanged(
                execution_id=exe_id, seq=2, status=sl.Status.completed, message="done",
                at=T2))]


def _event(kind: str, run_id: str, at: datetime, dirs: dict[str, Path],
           **datasets: tuple[str, str | None]) -> dict[str, Any]:
    def dataset(where: str, name: str, sha: str | None) -> dict[str, Any]:
        facets = {"steplineage_checksums": {
            "_producer": "https://example.com", "_schemaURL": "https://example.com/s.json",
            "sha256": sha}} if sha else {}
        return {"namespace": "file", "name": str(dirs[where] / name), "facets": facets}

    return {"eventType": kind, "eventTime": at.isoformat().replace("+00:00", "Z"),
            "producer": "https://example.com/producer",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id}, "job": {"namespace": "paths", "name": "step"},
            "inputs": [dataset("raw", *datasets["inputs"])] if "inputs" in datasets else [],
            "outputs": [dataset("results", *datasets["outputs"])]}


def _rows(cat: sl.Catalog, exe_id: str) -> dict[str, Any]:
    exe = cat.get_execution(exe_id)
    edges = sorted((e.role.value, str(e.ref), e.version_hash, e.valid)
                   for e in cat.list_edges(exe_id))
    return {"execution": (exe.name, exe.status, exe.start_time, exe.stop_time,
                          exe.duration_seconds, exe.parent_id),
            "history": [(h.seq, h.status, h.at) for h in exe.history],
            "edges": edges}


def _utc(rows: dict[str, Any]) -> dict[str, Any]:
    # SQLite hands back naive UTC datetimes; compare instants.
    def fix(v: Any) -> Any:
        return v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) and v.tzinfo is None \
            else v

    return {"execution": tuple(fix(v) for v in rows["execution"]),
            "history": [tuple(fix(v) for v in h) for h in rows["history"]],
            "edges": rows["edges"]}


def test_live_replayed_and_ingested_histories_leave_the_same_rows(
        catalog: sl.Catalog, tmp_path: Path) -> None:
    dirs = {"raw": tmp_path / "raw", "results": tmp_path / "results"}
    catalog.add_resource("raw", uri=dirs["raw"], role="source-data")
    catalog.add_resource("results", uri=dirs["results"], role="results")
    live, replayed, ingested = (str(uuid.uuid4()) for _ in range(3))

    for op in _ops(catalog, live):  # as a live step writes: one transaction each, strict
        catalog.store.apply([op])
    for op in _ops(catalog, replayed):  # written during an outage, replayed later
        catalog.spool.append(catalog.store.identity, op)
    assert catalog.flush_spool().applied == 4
    result = ingest_events(catalog, [
        _event("START", ingested, T1, dirs, inputs=("in.csv", H1), outputs=("out.csv", None)),
        _event("COMPLETE", ingested, T2, dirs, outputs=("out.csv", H2))])
    assert result.accepted == 2 and not result.rejected

    expected = {"execution": ("step", sl.Status.completed, T1, T2, 420.0, None),
                "history": [(0, sl.Status.created, T1), (1, sl.Status.running, T1),
                            (2, sl.Status.completed, T2)],
                "edges": [("input", "raw:in.csv", H1, True),
                          ("output", "results:out.csv", H2, True)]}
    for exe_id in (live, replayed, ingested):
        assert _utc(_rows(catalog, exe_id)) == expected, exe_id


def test_applying_the_same_history_twice_changes_nothing(catalog: sl.Catalog,
                                                         tmp_path: Path) -> None:
    catalog.add_resource("raw", uri=tmp_path / "raw", role="source-data")
    catalog.add_resource("results", uri=tmp_path / "results", role="results")
    exe_id = str(uuid.uuid4())
    ops = _ops(catalog, exe_id)
    catalog.store.apply(ops)
    before = _rows(catalog, exe_id)
    again = catalog.store.apply(ops, strict=False)
    assert again.created == 0 and again.duplicates == 2
    assert _rows(catalog, exe_id) == before
