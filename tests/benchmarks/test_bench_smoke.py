"""The benchmark harness still runs end to end and reports every figure (timings not checked).

``benchmarks/run.py --tiny`` runs each benchmark on a toy workload in the main
venv (``--no-bench-venv``: the MLflow and Data Workspaces comparators live in
.venv-bench and are reported as not measured here). The figures mean nothing at
this size; what matters is that no benchmark has rotted: each still runs,
returns its rows, and the report is written with its targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# (section, start of the label) of every row the tiny run must measure
EXPECTED = [
    ("tracking", "none: p50"), ("tracking", "steplineage-sqlite: p50"),
    ("tracking", "steplineage-sqlite: p99"), ("tracking", "openlineage-file: p50"),
    ("airflow", "2-task DAG, dag.test(): time added"), ("prefect", "2-task flow: time added"),
    ("lineage-sqlite", "upstream depth 10"), ("lineage-sqlite", "downstream depth 10"),
    ("lineage-sqlite", "upstream full closure"), ("lineage-sqlite", "contributing_datasets"),
    ("lineage-sqlite", "affected_datasets"), ("lineage-sqlite", "latest 100 executions"),
    ("lineage-networkx", "load"), ("lineage-networkx", "upstream depth 10"),
    ("staging", "hash+copy as %"), ("staging", "sha256sum"), ("staging", "md5sum"),
    ("staging", "peak RSS growth"), ("staging", "first stage / cached re-stage"),
    ("footprint", 'python -c "import steplineage"'), ("footprint", "SQLite catalog bytes"),
    ("web", "GET /api/lineage upstream,"),
]
PG_EXPECTED = [("tracking", "steplineage-postgresql: p50"),
               ("lineage-postgresql", "upstream depth 10"),
               ("lineage-postgresql", "latest 100 executions")]


def _postgres_up() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@pytest.fixture
def bench_env(tmp_path: Path):
    """A private cache directory and database prefix, dropped afterwards."""
    prefix = f"sl_smoke_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, STEPLINEAGE_BENCH_CACHE=str(tmp_path / "cache"),
               STEPLINEAGE_BENCH_DB_PREFIX=prefix)
    yield env
    if _postgres_up():
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": f"{prefix}%"}).scalars().all()
            for name in names:  # names made by the benchmarks from the prefix above
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.mark.slow
def test_tiny_run_reports_every_figure(tmp_path: Path, bench_env: dict[str, str]) -> None:
    report, rows_file = tmp_path / "performance.md", tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--tiny",
                           "--no-bench-venv", "--output", str(report), "--json", str(rows_file)],
                          env=bench_env, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(rows_file.read_text())

    def find(section: str, label: str) -> dict:
        found = [r for r in rows if r["section"] == section and r["label"].startswith(label)]
        assert found, f"no row {section}: {label}...; rows: {[r['label'] for r in rows]}"
        return found[0]

    broken = [r for r in rows if "did not finish" in r["label"]]
    assert not broken, broken
    expected = EXPECTED + (PG_EXPECTED if os.environ.get("CI") == "true" or _postgres_up()
                           else [])
    for section, label in expected:
        row = find(section, label)
        assert row["values"] and all(v == v for v in row["values"]), row  # measured, no NaN
    # the comparators that need .venv-bench say why they are missing instead of vanishing
    assert "No module named 'mlflow'" in find("tracking", "mlflow: p50")["note"]
    assert find("tracking", "MLflow p50 / steplineage-sqlite p50")["target"] == ">= 10"
    # ingestion APIs that are not in the checkout yet are reported, never estimated
    for row in (r for r in rows if r["section"].startswith("ingest-")):
        assert row["values"] or row["note"], row

    text_ = report.read_text()
    for heading in ("## Machine and versions", "## Results", "## How to read and reproduce",
                    "## Workloads", "### tracking", "### lineage-sqlite", "### staging"):
        assert heading in text_
    assert "| cores |" in text_ and "| PostgreSQL server |" in text_
    assert "<= 2" in text_  # targets printed beside the figures
    assert "```python" not in text_  # the doc-sample test would try to run it
