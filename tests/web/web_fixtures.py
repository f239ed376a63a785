"""Helpers of the web tests: the known catalog (two DAGs, a hostile one, files with real
hashes), the Airflow home for the in-process API server, the ``steplineage ui`` handle.

Not a conftest.py: other test directories do ``from conftest import ...``, and a
second ``conftest`` module would shadow theirs. Test modules import the fixtures
they use from here.

Airflow reads AIRFLOW_HOME when first imported. ``tests/airflow/conftest.py``
sets one up at import time (prefix ``sl-airflow-home-``); when pytest collected
it first we share it, otherwise we make one the same way, so both directories
can run in one process in any order.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


import steplineage as sl
from ui_server import running_ui

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
#: the same idea as a file name (no "/"): the ref label in graphs and tables
XSS_FILE = '<img src=x onerror="window.__pwned=3">.txt'

if not Path(os.environ.get("AIRFLOW_HOME", "/nonexistent")).name.startswith("sl-airflow-home-"):
    _home = Path(tempfile.mkdtemp(prefix="sl-airflow-home-web-"))
    atexit.register(shutil.rmtree, _home, True)
    (_home / "dags").mkdir()
    os.environ.update({"AIRFLOW_HOME": str(_home),
                       "AIRFLOW__CORE__DAGS_FOLDER": str(_home / "dags"),
                       "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__UNIT_TEST_MODE": "False"})
AIRFLOW_HOME = Path(os.environ["AIRFLOW_HOME"])
AIRFLOW = str(VENV_BIN / "airflow")


def migrated_template_db() -> Path:
    """This worker's migrated metadata DB, copied to ``template.db`` for fresh homes
    (the same protocol as tests/airflow's ``airflow_db``, so either may go first)."""
    template = AIRFLOW_HOME / "template.db"
    if not template.exists():
        subprocess.run([AIRFLOW, "db", "migrate"], env=os.environ.copy(), check=True,
                       capture_output=True, timeout=300)
        shutil.copy(AIRFLOW_HOME / "airflow.db", template)
    return template


@dataclass
class Known:
    """What ``known_catalog`` recorded, for assertions."""

    home: Path
    ids: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_known_catalog(home: Path) -> Known:
    """Record: DAG ``sl_web_a`` (extract -> transform, one asset), DAG ``sl_web_b``
    reading A's output, a failed step, and a pipeline outside Airflow whose names,
    parameters and messages are script payloads."""
    known = Known(home)
    data = home / "data"
    data.mkdir(parents=True)
    cat = sl.Catalog(home=home / "sl")
    try:
        cat.add_resource("files", uri=data, role="intermediate-data")
        cat.create_asset_table("Model", "Trained models")
        (data / "raw.csv").write_text("id,amount\n1,10\n2,20\n")

        def airflow(dag_id: str, run_id: str, task_id: str | None) -> sl.OrchestratorIdentity:
            return sl.OrchestratorIdentity(orchestrator="airflow", dag_id=dag_id, run_id=run_id,
                                           task_id=task_id, map_index=-1,
                                           try_number=1 if task_id else None)

        for dag_id in ("sl_web_a", "sl_web_b"):
            with cat.create_execution(sl.ExecutionConfig(
                    workflow=dag_id, name=dag_id,
                    orchestrator=airflow(dag_id, "manual__1", None))) as run:
                known.ids[f"{dag_id}/run"] = run.id
                if dag_id == "sl_web_a":
                    with cat.create_execution(sl.ExecutionConfig(
                            workflow="extract", name="extract", parent_execution_id=run.id,
                            inputs=[data / "raw.csv"], outputs=[data / "clean.csv"],
                            parameters={"day": "2024-06-01"},
                            orchestrator=airflow(dag_id, "manual__1", "extract"))) as exe:
                        (data / "clean.csv").write_text("id,amount\n1,10\n")
                        model = exe.asset_file_path("Model", "model.json")
                        model.write_text('{"w": 1}')
                        exe.log_metrics({"rows": 1})
                    known.ids["extract"] = exe.id
                else:
                    with cat.create_execution(sl.ExecutionConfig(
                            workflow="report", name="report", parent_execution_id=run.id,
                            inputs=[data / "clean.csv"], outputs=[data / "report.txt"],
                            orchestrator=airflow(dag_id, "manual__1", "report"))) as exe:
                        (data / "report.txt").write_text("1 row\n")
                    known.ids["report"] = exe.id
        try:
            with cat.create_execution(sl.ExecutionConfig(
                    workflow="flaky", name="flaky", inputs=[data / "raw.csv"],
                    orchestrator=airflow("sl_web_a", "manual__2", "flaky"))):
                raise RuntimeError("flaky failure")
        except RuntimeError:
            pass
        (data / XSS_FILE).write_text("payload\n")
        with cat.create_execution(sl.ExecutionConfig(
                workflow=XSS, name=XSS, description=XSS, inputs=[data / "clean.csv"],
                outputs=[data / XSS_FILE], parameters={XSS: XSS})) as exe:
            exe.update_status(sl.Status.running, XSS)
        known.ids["xss"] = exe.id
        for name in ("raw.csv", "clean.csv", "report.txt"):
            known.hashes[name] = _sha256(data / name)
        known.hashes["model"] = cat.list_assets("Model")[0].sha256
        known.ids["model"] = cat.list_assets("Model")[0].id
    finally:
        cat.close()
    return known


@dataclass
class UiServer:
    """A running ``steplineage ui``; ``url`` is what it printed (with the token)."""

    url: str
    base: str



@pytest.fixture(scope="session")
def known(tmp_path_factory: pytest.TempPathFactory) -> Known:
    """The known catalog, built once per session (the tests only read it)."""
    return build_known_catalog(tmp_path_factory.mktemp("web-known"))


@pytest.fixture
def known_catalog(known: Known) -> Iterator[sl.Catalog]:
    cat = sl.Catalog(home=known.home / "sl")
    yield cat
    cat.close()


@pytest.fixture(scope="module")
def ui_server(known: Known, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """``steplineage ui --port 0 --token ...`` over the known catalog, stopped by pid."""
    log = tmp_path_factory.mktemp("ui") / "ui.log"
    with running_ui(log, "--port", "0", "--token", "web-test-token",
                    "--home", str(known.home / "sl")) as url:
        yield UiServer(url, url.split("/login")[0])


def expect(locator: Any) -> Any:
    """playwright's ``expect`` (imported late: without playwright the chromium fixture skips,
    or fails under CI=true). It polls from Python; the pages' CSP forbids the eval that
    ``wait_for_function`` needs."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)
