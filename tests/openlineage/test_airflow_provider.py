"""Airflow's own OpenLineage provider pointed at ``steplineage ui``: a DAG run's tasks, with
the inputs and outputs their Assets declare, land in the catalog next to a task steplineage
tracks itself, and the Lineage tab's JSON API shows them.

The DAG runs with ``dag.test()`` in a subprocess (a real scheduler run is covered by
tests/airflow/test_scheduler.py); the provider sends over its real http transport.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import steplineage as sl
from ol_helpers import VENV_BIN, steplineage_ui
from ports import free_port

TOKEN = "airflow-ol-token"
DAG = '''
from __future__ import annotations
import os
from pathlib import Path
import pendulum
from airflow.sdk import Asset, dag, task

DATA = Path(os.environ["OL_TEST_DATA"])
RAW, CLEAN = Asset(f"file://{DATA}/raw.csv"), Asset(f"file://{DATA}/clean.csv")


@dag(dag_id="ol_interop", schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False)
def ol_interop():
    @task(outlets=[RAW])
    def extract():
        (DATA / "raw.csv").write_text("a\\n1\\n")

    @task(inlets=[RAW], outlets=[CLEAN])
    def clean():
        (DATA / "clean.csv").write_text((DATA / "raw.csv").read_text().upper())

    @task.steplineage(inputs=[CLEAN])
    def report():
        return len((DATA / "clean.csv").read_text())

    extract() >> clean() >> report()


ol_interop()
'''
RUN = '''
import os
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
assert not bag.import_errors, bag.import_errors
print("STATE", bag.get_dag("ol_interop").test().state)
'''


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private, migrated AIRFLOW_HOME holding the DAG (only for subprocesses)."""
    home = tmp_path_factory.mktemp("airflow-ol")
    (home / "dags").mkdir()
    (home / "dags" / "ol_interop.py").write_text(DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False"})
    subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def test_dag_run_reported_by_airflows_provider_lands_in_the_catalog(
        airflow_env, catalog, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    args = ["--url", catalog.url, "--home", str(catalog.settings.home)]
    with steplineage_ui(tmp_path / "ui.log", port, TOKEN, *args) as base:
        env = {**airflow_env, "OL_TEST_DATA": str(data),
               "STEPLINEAGE_CATALOG_URL": catalog.url,
               "STEPLINEAGE_HOME": str(catalog.settings.home),
               "AIRFLOW__OPENLINEAGE__NAMESPACE": "ol_test",
               "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({
                   "type": "http", "url": base, "endpoint": "api/v1/lineage",
                   "auth": {"type": "api_key", "apiKey": TOKEN}})}
        run = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True,
                             text=True, timeout=300)
        assert "STATE success" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Successfully emitted OpenLineage `COMPLETE`" in run.stdout + run.stderr

        executions = catalog.list_executions(limit=50)
        by_task: dict[str, list[sl.ExecutionRecord]] = {}
        for exe in executions:
            by_task.setdefault(exe.orchestrator.task_id or "<dag run>", []).append(exe)
        assert {"extract", "clean", "report", "<dag run>"} <= set(by_task)
        (extract,) = by_task["extract"]
        (clean,) = by_task["clean"]
        assert extract.status is clean.status is sl.Status.completed
        assert extract.orchestrator.dag_id == clean.orchestrator.dag_id == "ol_interop"
        assert extract.orchestrator.run_id == clean.orchestrator.run_id
        assert clean.parent_id == extract.parent_id is not None

        def names(exe: sl.ExecutionRecord, role: str) -> set[str]:
            return {str(e.ref.subpath).rsplit("/", 1)[-1]
                    for e in catalog.list_edges(exe.id) if e.role.value == role}

        assert names(extract, "output") == {"raw.csv"}
        assert (names(clean, "input"), names(clean, "output")) == ({"raw.csv"}, {"clean.csv"})
        # steplineage's own execution of the tracked task sits in the same DAG run.
        ours = [e for e in by_task["report"] if e.orchestrator.orchestrator == "airflow"
                and e.status_message != "OpenLineage COMPLETE"]
        assert ours and ours[0].orchestrator.run_id == clean.orchestrator.run_id

        # What the Lineage tab draws: the run graph from the app's JSON API (no browser).
        graph = httpx.get(f"{base}/api/dags/ol_interop/lineage", params={"depth": 2},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
        labels = {(n["kind"], n["label"]) for n in graph["nodes"]}
        assert {("execution", "extract"), ("execution", "clean"),
                ("execution", "report")} <= labels
        assert any(kind == "version" and label.endswith("clean.csv") for kind, label in labels)
