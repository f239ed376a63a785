"""DAGs through a real Airflow: api-server, scheduler, dag-processor and LocalExecutor on SQLite.

Unlike ``dag.test()``, this runs each task in its own process under the task
SDK, where Airflow's metadata DB is out of reach: the catalog must come from
our own settings. Components start in one new session (process group) and are
stopped by signalling the group.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from airflow_catalog_checks import edges, one_run, sha256_of, statuses
from airflow_env import AIRFLOW, AIRFLOW_ENV, REPO, VENV_BIN

import steplineage as sl
from ports import free_port

T = TypeVar("T")
DEADLINE_SECONDS = 240


def _poll(what: str, probe: Callable[[], T | None], timeout: float, logs: Path) -> T:
    """Call ``probe`` until it returns something truthy; fail with the logs at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)  # polling interval, not a wait for a race: the deadline decides
    tails = []
    for name in ("airflow.log", "scheduler.log", "api-server.log"):
        path = logs.parent / name
        if path.exists():
            tails.append(f"--- {name} ---\n{path.read_text(errors='replace')[-4000:]}")
    raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(tails))


class Airflow:
    """One Airflow installation in a temporary AIRFLOW_HOME."""

    def __init__(self, root: Path, template_db: Path):
        self.home = root / "airflow"
        self.dags = self.home / "dags"
        self.dags.mkdir(parents=True)
        shutil.copy(template_db, self.home / "airflow.db")
        shutil.copy(REPO / "dags" / "steplineage_etl.py", self.dags)
        shutil.copy(REPO / "tests" / "airflow" / "scheduler_dags" / "sl_test_scheduler.py",
                    self.dags)
        self.sl_home = root / "slhome"
        self.data = root / "data"
        self.port = free_port()
        self.logs = root / "airflow.log"
        self.env = {
            **os.environ, **AIRFLOW_ENV,
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL":
                f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            # The log servers of the scheduler and triggerer default to 8793/8794.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__API_AUTH__JWT_SECRET": "steplineage-test-secret-not-for-production",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
            "AIRFLOW__STEPLINEAGE__TRACK_ALL_TASKS": "True",
            "STEPLINEAGE_HOME": str(self.sl_home),
            "STEPLINEAGE_EXAMPLES_DIR": str(self.data),
        }
        self.env.pop("STEPLINEAGE_CATALOG_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        logs = self.logs.parent
        command = (f"{AIRFLOW} api-server --port {self.port} > {logs}/api-server.log 2>&1 & "
                   f"{AIRFLOW} scheduler > {logs}/scheduler.log 2>&1 & "
                   f"{AIRFLOW} dag-processor > {logs}/dag-processor.log 2>&1 & wait")
        with self.logs.open("wb") as out:
            self.proc = subprocess.Popen(["setsid", "sh", "-c", command], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, cwd=self.home)

    def stop(self) -> None:
        if self.proc is None:
            return
        # setsid made the shell a session and process-group leader: its pid is the group.
        pgid = self.proc.pid
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children may outlive the shell for a moment; make sure the group is gone.
        with pytest.raises(ProcessLookupError):
            _kill_group_when_done(pgid)

    def cli(self, *args: str) -> str:
        done = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, cwd=self.home)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def db(self, sql: str, *params: object) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.home / 'airflow.db'}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # table not there yet, or busy: probe again
            return []
        finally:
            conn.close()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False


def _kill_group_when_done(pgid: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            raise
        os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.2)
    os.killpg(pgid, 0)


@pytest.fixture
def airflow(tmp_path: Path, airflow_db: Path) -> Iterator[Airflow]:
    instance = Airflow(tmp_path, airflow_db.parent / "template.db")
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.mark.slow
def test_dags_through_scheduler_and_local_executor(airflow: Airflow) -> None:
    _poll("the API server", airflow.healthy, DEADLINE_SECONDS, airflow.logs)
    dag_ids = ("steplineage_etl", "sl_test_scheduler")
    _poll("both DAGs to be parsed", lambda: len(airflow.db(
        "SELECT dag_id FROM serialized_dag WHERE dag_id IN (?, ?)", *dag_ids)) == 2,
        DEADLINE_SECONDS, airflow.logs)
    for dag_id in dag_ids:
        airflow.cli("dags", "trigger", dag_id)

    def finished() -> dict[str, str] | None:
        rows = dict(airflow.db("SELECT dag_id, state FROM dag_run"))
        done = all(rows.get(d) in ("success", "failed") for d in dag_ids)
        return rows if done else None

    runs = _poll("both DAG runs to finish", finished, DEADLINE_SECONDS, airflow.logs)
    assert runs == {"steplineage_etl": "success", "sl_test_scheduler": "failed"}
    states = dict(airflow.db("SELECT task_id, state FROM task_instance WHERE dag_id = ?",
                             "sl_test_scheduler"))
    assert states == {"flaky": "success", "lenient": "success", "strict": "failed",
                      "write_note": "success", "read_note": "success"}

    cat = sl.Catalog(home=airflow.sl_home)
    # The scheduler's DAG-run listener closes the parents once Airflow has decided.
    _poll("the DAG-run executions to close", lambda: all(
        r.parent.status in (sl.Status.completed, sl.Status.failed)
        for r in [one_run(cat, d) for d in dag_ids]), 60, airflow.logs)

    etl = one_run(cat, "steplineage_etl")
    assert etl.parent.status is sl.Status.completed
    assert sorted(c.name for c in etl.children) == ["extract", "load", "transform"]
    assert all(statuses(c) == ["created", "initializing", "running", "uploading", "completed"]
               for c in etl.children)
    raw = airflow.data / "etl" / "staging" / "raw_orders.csv"
    (written,) = edges(cat, etl.only("extract"), "output")
    (read,) = edges(cat, etl.only("transform"), "input")
    assert written.version_hash == read.version_hash == sha256_of(raw)
    assert etl.only("extract").parameters["api_token"] == "***"
    # Three task processes, each found the same parent on its own.
    assert {c.parent_id for c in etl.children} == {etl.parent.id}

    run = one_run(cat, "sl_test_scheduler")
    assert run.parent.status is sl.Status.failed and "task_failure" in run.parent.status_message
    first, second = run.tries("flaky")
    assert first.status is sl.Status.failed
    assert "RuntimeError: flaky failure on the first try" in first.status_message
    assert second.status is sl.Status.completed and second.orchestrator.try_number == 2
    # The catalog-down tasks left nothing here; strict failed, lenient ran untracked.
    assert run.tries("lenient") == [] and run.tries("strict") == []
    # track() on a BashOperator, and a plain @task recorded by the listener, meet at the note.
    note_out = edges(cat, run.only("write_note"), "output")[0]
    note_in = edges(cat, run.only("read_note"), "input")[0]
    assert note_out.version_hash == note_in.version_hash == sha256_of(
        airflow.data / "scheduler" / "note.txt")
    strict_log = next((airflow.home / "logs").rglob("*task_id=strict*/attempt=1.log"))
    assert "TrackingError" in strict_log.read_text()
    # Our DAG-run listener ran inside the scheduler without disturbing it.
    assert "Exception when executing SchedulerJob" not in (
        airflow.logs.parent / "scheduler.log").read_text()
