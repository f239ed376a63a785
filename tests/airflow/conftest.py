"""Airflow test setup: a private AIRFLOW_HOME per pytest worker, migrated once.

Airflow reads AIRFLOW_HOME and its config when it is first imported, so this
module sets them at import time, before any test module imports airflow. The
DAGs folder holds copies of the example DAGs (``dags/``) and the test DAGs
(``tests/airflow/dags/``). Each test then gets its own STEPLINEAGE_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_env import (AIRFLOW, AIRFLOW_ENV, AIRFLOW_HOME, DAGS_FOLDER,  # noqa: F401
                         EXAMPLES_DIR, REPO, VENV_BIN)


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
