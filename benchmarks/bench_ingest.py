"""Bulk ingestion: batch registration of model runs, OpenLineage events, CSV import.

Workloads (each on the embedded SQLite and on PostgreSQL, a fresh catalog per run):

* ``cat.register_batch_model_runs(records)``: N records of a workflow template
  with 2 input and 2 output ref slots, so each registered execution has 4
  lineage edges (inputs from a pool of 100 refs with known sha256, outputs new
  refs); one call, one transaction. Figure: executions per second.
* ``steplineage.openlineage.ingest.ingest_events(cat, events)``: N events =
  N/2 runs, each a START and a COMPLETE ``RunEvent`` with 2 input and 2 output
  datasets. Figure: events per second.
* ``cat.import_model_runs_csv(path)``: the batch-registration records as a
  CSV file (the header from ``generate_csv_template``). Figure: rows per second.

A workload whose API is not in this checkout yet is reported as "not yet
measured (API not present)", never estimated.

Usage:
    .venv/bin/python benchmarks/bench_ingest.py --records 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import csv
import importlib
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DB_PREFIX, Row, drop_pg_database, emit, pg_database, private_home  # noqa: E402

WORK = private_home("ingest")
PG_DB = f"{DB_PREFIX}_ingest"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
MISSING = "not yet measured (API not present)"


def _fresh_catalog(backend: str, n: int) -> Any:
    import steplineage as sl

    home = WORK / f"{backend}-{n}-{uuid.uuid4().hex[:6]}"
    if backend == "sqlite":
        return sl.Catalog(home=home)
    if _TEMPLATE_READY.get("pg") is None:  # migrate once, then copy per round
        _TEMPLATE_READY["pg"] = pg_database(f"{PG_DB}_tmpl", fresh=True) is not None
    if not _TEMPLATE_READY["pg"]:
        return None
    url = pg_database(PG_DB, fresh=True, template=f"{PG_DB}_tmpl")
    return None if url is None else sl.Catalog(url, home=home)


_TEMPLATE_READY: dict[str, bool] = {}


def _template(cat: Any) -> Any:
    from steplineage.registry.templates import TemplateSlot, WorkflowTemplate

    cat.add_resource("raw", uri="s3://bench/raw", role="source-data")
    cat.add_resource("out", uri="s3://bench/out", role="results")
    return cat.add_workflow_template(WorkflowTemplate(
        name="bench-model", inputs=[TemplateSlot(name="a", kind="ref"),
                                    TemplateSlot(name="b", kind="ref")],
        outputs=[TemplateSlot(name="x", kind="ref"), TemplateSlot(name="y", kind="ref")],
        optional_annotations=["region"]))


def _records(n: int) -> list[dict[str, Any]]:
    digest = lambda k: f"{k:064x}"  # noqa: E731 - a fixed, known "content hash" per input
    return [{"template": "bench-model", "display_name": f"run {i}",
             "start_time": (START + timedelta(seconds=i)).isoformat(),
             "end_time": (START + timedelta(seconds=i, milliseconds=500)).isoformat(),
             "inputs": {"a": f"raw:in-{i % 100:03d}.csv@{digest(i % 100)}",
                        "b": f"raw:in-{(i + 1) % 100:03d}.csv@{digest((i + 1) % 100)}"},
             "outputs": {"x": f"out:run-{i:06d}/x.parquet", "y": f"out:run-{i:06d}/y.parquet"},
             "annotations": {"region": "north" if i % 2 else "south"}} for i in range(n)]


def _events(n: int) -> list[dict[str, Any]]:
    events = []
    for i in range(n // 2):
        run_id = str(uuid.UUID(int=i + 1, version=4))
        job = {"namespace": "bench", "name": f"job_{i % 50:02d}"}
        inputs = [{"namespace": "s3://bench", "name": f"raw/in-{(i + k) % 100:03d}.csv"}
                  for k in range(2)]
        outputs = [{"namespace": "s3://bench", "name": f"out/run-{i:06d}/{k}.parquet"}
                   for k in ("x", "y")]
        base = {"producer": "https://example.com/bench", "job": job, "run": {"runId": run_id},
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}
        at = START + timedelta(seconds=i)
        events.append(base | {"eventType": "START", "eventTime": at.isoformat(),
                              "inputs": inputs})
        events.append(base | {"eventType": "COMPLETE",
                              "eventTime": (at + timedelta(milliseconds=500)).isoformat(),
                              "inputs": inputs, "outputs": outputs})
    return events


def _run(backend: str, n: int, rounds: int, prepare: Callable[[Any], Any],
         work: Callable[[Any, Any], int]) -> list[float]:
    """Per round: a fresh catalog, ``prepare`` untimed, ``work`` timed; items per second."""
    rates = []
    for r in range(rounds + 1):  # round 0 warms imports and caches; not reported
        cat = _fresh_catalog(backend, n)
        if cat is None:
            return []
        arg = prepare(cat)
        started = time.perf_counter()
        done = work(cat, arg)
        took = time.perf_counter() - started
        _check_edges(cat)
        cat.close()
        if r:
            rates.append(done / took)
    return rates


def _check_edges(cat: Any) -> None:
    """Each ingested run must really have its 2 input and 2 output edges."""
    latest = cat.list_executions(limit=1)
    if not latest:
        raise SystemExit("nothing was recorded: the benchmark would measure nothing")
    from sqlalchemy import func, select

    from steplineage.store import orm

    # a count in SQL: the check must not depend on how edges are rendered as records
    with cat.session() as s:
        edges = s.scalar(select(func.count()).select_from(orm.LineageEdge)
                         .where(orm.LineageEdge.execution_id == latest[0].id))
    if edges != 4:
        raise SystemExit(f"execution {latest[0].id} has {edges} lineage edges, expected 4")


def _batch_prepare(cat: Any) -> Any:
    _template(cat)
    return _RECORDS


def _batch_work(cat: Any, records: Any) -> int:
    result = cat.register_batch_model_runs(records)
    assert len(result.run_ids) == len(records)
    return len(result.run_ids)


def _csv_prepare(cat: Any) -> Path:
    _template(cat)
    path = WORK / f"runs-{uuid.uuid4().hex[:6]}.csv"
    header = next(csv.reader([cat.generate_csv_template("bench-model").splitlines()[0]]))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for rec in _RECORDS:
            cells = {k: v for k, v in rec.items() if isinstance(v, str)}
            for group in ("inputs", "outputs", "annotations"):
                prefix = {"inputs": "input", "outputs": "output", "annotations": "annotation"}
                cells.update({f"{prefix[group]}:{k}": v for k, v in rec[group].items()})
            writer.writerow({k: v for k, v in cells.items() if k in header})
    return path


def _csv_work(cat: Any, path: Path) -> int:
    result = cat.import_model_runs_csv(path)
    return len(result.run_ids)


def _events_work(cat: Any, events: Any) -> int:
    ingest = importlib.import_module("steplineage.openlineage.ingest")
    result = ingest.ingest_events(cat, events)
    if result.rejected:
        raise SystemExit(f"ingest rejected {len(result.rejected)} benchmark events, e.g. "
                         f"{result.rejected[0]}: fix the generator in bench_ingest.py")
    return result.received


_RECORDS: list[dict[str, Any]] = []


def _present(check: Callable[[], Any]) -> bool:
    try:
        check()
        return True
    except (ImportError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    import steplineage as sl

    _RECORDS[:] = _records(args.records)
    events = _events(args.records)
    n = args.records
    has_batch = _present(lambda: sl.Catalog.register_batch_model_runs)
    has_csv = _present(lambda: sl.Catalog.import_model_runs_csv)
    has_events = _present(lambda: importlib.import_module(
        "steplineage.openlineage.ingest").ingest_events)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        batch_target = ">= 10000" if backend == "sqlite" else ">= 5000"
        section = f"ingest-{backend}"
        specs = [
            (f"register_batch_model_runs, {n:,} runs x 4 edges", "executions/s", batch_target,
             has_batch, _batch_prepare, _batch_work),
            (f"ingest_events, {n:,} OpenLineage events", "events/s", ">= 5000", has_events,
             lambda _cat: events, _events_work),
            (f"import_model_runs_csv, {n:,} rows", "rows/s", "", has_csv, _csv_prepare,
             _csv_work),
        ]
        for label, unit, target, present, prepare, work in specs:
            if not present:
                rows.append(Row(section, label, unit, [], target=target, note=MISSING))
                continue
            rates = _run(backend, n, args.rounds, prepare, work)
            rows.append(Row(section, label, unit, rates, target=target,
                            note="" if rates else "PostgreSQL unreachable"))
    if "postgresql" in backends:
        drop_pg_database(PG_DB)
        drop_pg_database(f"{PG_DB}_tmpl")
    emit(rows)


if __name__ == "__main__":
    main()
