"""Many writer processes on one catalog: nothing lost, nothing duplicated, no errors.

8 processes x 500 tracked steps each (override with STEPLINEAGE_STRESS_PROCS /
STEPLINEAGE_STRESS_STEPS), against the embedded SQLite catalog and against
PostgreSQL. Every step reads a shared input and writes its own output ref.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import steplineage as sl

PROCS = int(os.environ.get("STEPLINEAGE_STRESS_PROCS", "8"))
STEPS = int(os.environ.get("STEPLINEAGE_STRESS_STEPS", "500"))

pytestmark = pytest.mark.slow


def _worker(url: str, home: str, worker: int, steps: int, queue) -> None:
    errors = 0
    try:
        cat = sl.Catalog(url, home=home)
        for i in range(steps):
            cfg = sl.ExecutionConfig(
                workflow="stress", name=f"w{worker}-s{i}",
                inputs=[sl.ResourceRef("shared", "input.csv")],
                outputs=[sl.ResourceRef("db", f"w{worker}/s{i}")], parameters={"i": i})
            try:
                with cat.create_execution(cfg) as exe:
                    exe.log_metrics({"i": i})
            except Exception:  # noqa: BLE001 - counted, reported to the parent
                errors += 1
        queue.put((worker, errors, cat.spool.pending()))
    except BaseException as exc:  # noqa: BLE001
        queue.put((worker, f"crashed: {exc!r}", -1))


def _stress(cat: sl.Catalog, tmp_path: Path) -> dict[str, int]:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "input.csv").write_text("x\n1\n")
    cat.add_resource("shared", uri=shared, role="source-data")
    cat.add_resource("db", uri="postgresql://warehouse/stress", role="intermediate-data")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    url = cat.engine.url.render_as_string(hide_password=False)
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(url, str(cat.settings.home), w, STEPS, queue))
             for w in range(PROCS)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=1800) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    elapsed = time.perf_counter() - started
    assert results == [(w, 0, 0) for w in range(PROCS)], results
    with cat.engine.connect() as conn:
        counts = {
            "executions": conn.execute(text("SELECT count(*) FROM executions")).scalar(),
            "distinct_names": conn.execute(text("SELECT count(DISTINCT name) FROM executions"))
            .scalar(),
            "completed": conn.execute(text(
                "SELECT count(*) FROM executions WHERE status = 'completed'")).scalar(),
            "history": conn.execute(text("SELECT count(*) FROM status_history")).scalar(),
            "edges": conn.execute(text("SELECT count(*) FROM lineage_edges")).scalar(),
            "input_versions": conn.execute(text(
                "SELECT count(DISTINCT version_id) FROM lineage_edges WHERE role = 'input'"))
            .scalar(),
        }
    n = PROCS * STEPS
    assert counts == {"executions": n, "distinct_names": n, "completed": n,
                      "history": n * 5, "edges": n * 2, "input_versions": 1}
    print(f"\n{cat.engine.dialect.name}: {n} steps from {PROCS} processes in {elapsed:.1f} s "
          f"({n / elapsed:.0f} steps/s), 0 lost, 0 duplicated, 0 errors")
    return counts


def test_many_writers(catalog: sl.Catalog, tmp_path: Path) -> None:
    _stress(catalog, tmp_path)
