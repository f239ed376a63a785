"""Airflow test setup: a private AIRFLOW_HOME per pytest worker, migrated once.

Airflow reads AIRFLOW_HOME and its config when it is first imported, so this
module sets them at import time, before any test module imports airflow. The
DAGs folder holds copies of the example DAGs (``dags/``) and the test DAGs
(``tests/airflow/dags/``). Each test then gets its own STEPLINEAGE_HOME.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
AIRFLOW = str(VENV_BIN / "airflow")

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sl-airflow-home-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, True)
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
for source in [*sorted((REPO / "dags").glob("*.py")),
               *sorted((REPO / "tests" / "airflow" / "dags").glob("*.py"))]:
    shutil.copy(source, DAGS_FOLDER / source.name)

# Fixed per worker: the DAGs' Asset URIs live here, and Airflow keeps one active asset per
# name in its metadata DB, so the URIs must not change from test to test.
EXAMPLES_DIR = AIRFLOW_HOME / "examples"

AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "STEPLINEAGE_EXAMPLES_DIR": str(EXAMPLES_DIR),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    # A PostgreSQL port nobody listens on: the "catalog is down" connection.
    "AIRFLOW_CONN_SL_DOWN": '{"conn_type": "steplineage", "extra": {"catalog_url": '
                            '"postgresql+psycopg://postgres@127.0.0.1:9/nowhere", '
                            '"timeout_seconds": 2}}',
    # A connection whose password Airflow masks when a task fetches it.
    "AIRFLOW_CONN_SL_WAREHOUSE": '{"conn_type": "generic", "host": "db.example", '
                                 '"password": "pw-s3cr3t-value"}',
}
os.environ.update(AIRFLOW_ENV)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The migrated metadata DB of this worker; also copied to ``template.db`` for other homes."""
    db = AIRFLOW_HOME / "airflow.db"
    if not (AIRFLOW_HOME / "template.db").exists():
        # In a subprocess, before this process opens the database.
        subprocess.run([AIRFLOW, "db", "migrate"], env={**os.environ, **AIRFLOW_ENV}, check=True,
                       capture_output=True, timeout=300)
        shutil.copy(db, AIRFLOW_HOME / "template.db")
    return db


@pytest.fixture
def examples_dir() -> Path:
    """Where the example and test DAGs put their data (shared by this worker's tests)."""
    return EXAMPLES_DIR


@pytest.fixture
def run_dag(airflow_db: Path, sl_home: Path) -> Iterator[object]:
    """``run_dag(dag_id)`` parses the DAGs folder afresh and runs the DAG with ``dag.test()``.

    Each test has its own catalog (``sl_home``); the data files are shared.
    """
    from steplineage.airflow.hooks import close_catalogs

    def run(dag_id: str, **kwargs: object) -> object:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS_FOLDER))
        assert not bag.import_errors, bag.import_errors
        return bag.get_dag(dag_id).test(**kwargs)

    yield run
    close_catalogs()
