"""The Airflow test environment: a private AIRFLOW_HOME per pytest worker.

Airflow reads AIRFLOW_HOME and its config when it is first imported, so this
module sets them at import time; ``conftest.py`` imports it before any test
module imports airflow. A module of its own (not conftest) so test modules can
import these names without clashing with other directories' conftest modules.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["AIRFLOW", "AIRFLOW_ENV", "AIRFLOW_HOME", "DAGS_FOLDER", "EXAMPLES_DIR", "REPO",
           "VENV_BIN"]

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
