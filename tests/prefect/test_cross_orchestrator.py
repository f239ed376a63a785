"""One lineage across orchestrators: a Prefect flow reads what an Airflow DAG wrote.

The Airflow side is the real example DAG (``dags/steplineage_etl.py``) run by
``dag.test()`` in a subprocess with its own AIRFLOW_HOME, so this worker never
imports Airflow; both sides record into the same embedded catalog.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import steplineage as sl
from steplineage.prefect import tracked_flow, tracked_task

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run_airflow_etl(home: Path, examples: Path, sl_home: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
           "STEPLINEAGE_HOME": str(sl_home), "STEPLINEAGE_EXAMPLES_DIR": str(examples)}
    airflow = str(Path(sys.executable).parent / "airflow")
    for cmd in ([airflow, "db", "migrate"], [sys.executable, str(REPO / "dags" / "steplineage_etl.py")]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_prefect_output_lineage_reaches_the_airflow_task(sl_home: Path, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    _run_airflow_etl(tmp_path / "airflow-home", examples, sl_home)
    clean = examples / "etl" / "staging" / "clean_orders.csv"
    report_dir = tmp_path / "reports"
    report_dir.mkdir()

    @tracked_task(inputs=[clean.as_uri()], outputs=[report_dir / "customers.txt"])
    def customers_report() -> int:
        names = sorted({line.split(",")[2] for line in clean.read_text().splitlines()[1:]})
        (report_dir / "customers.txt").write_text("\n".join(names) + "\n")
        return len(names)

    @tracked_flow
    def report_on_airflow_orders() -> int:
        return customers_report()

    cat = sl.Catalog(home=sl_home)
    cat.add_resource("reports", uri=report_dir, role="results")
    assert report_on_airflow_orders() > 0

    graph = cat.lineage.upstream(sl.ResourceRef("reports", "customers.txt"))
    executions = {n.label: n for n in graph.of_kind("execution")}
    airflow_side = [r for r in cat.list_executions(limit=None)
                    if r.orchestrator.orchestrator == "airflow"]
    transform = next(r for r in airflow_side if r.orchestrator.task_id == "transform")
    extract = next(r for r in airflow_side if r.orchestrator.task_id == "extract")
    prefect_task = next(r for r in cat.list_executions(limit=None)
                        if r.orchestrator.task_id == "customers_report")
    reached = {n.catalog_id for n in graph.of_kind("execution")}
    assert {prefect_task.id, transform.id, extract.id} <= reached, executions
    # The file both sides saw is one version: the hash the DAG wrote is the one Prefect read.
    (read,) = cat.list_edges(prefect_task.id, role="input")
    written = [e for e in cat.list_edges(transform.id, role="output") if e.ref]
    assert read.version_hash == written[0].version_hash == hashlib.sha256(
        clean.read_bytes()).hexdigest()
