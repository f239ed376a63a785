"""The Lineage tab in a real Airflow UI: ``airflow standalone`` + the example ETL DAG + Chromium.

Airflow runs in its own session (``setsid``) on a free port with SQLite and the
LocalExecutor, and is stopped by signalling that process group. The browser
gets the ``_token`` cookie the login page would set (from ``POST /auth/token``
with a known password), opens the DAG page, clicks the Lineage tab and works
inside the iframe. Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from ports import free_port
from web_fixtures import AIRFLOW, REPO, VENV_BIN, expect, migrated_template_db

pytestmark = [pytest.mark.browser, pytest.mark.slow]

T = TypeVar("T")
DAG_ID = "steplineage_etl"
PASSWORD = "sl-web-admin-pw"
DEADLINE = 300.0


@dataclass
class Standalone:
    """A running ``airflow standalone``."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path
    data: Path

    def poll(self, what: str, probe: Callable[[], T | None], timeout: float = DEADLINE) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(1.0)  # polling interval; the deadline decides, not the sleep
        tail = self.log.read_text(errors="replace")[-5000:]
        raise AssertionError(f"timed out waiting for {what}\n--- airflow ---\n{tail}")

    def call(self, method: str, path: str, token: str | None = None,
             body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except OSError:
            return 0, None
        try:
            return status, json.loads(raw or b"null")
        except ValueError:  # an HTML page (the UI's catch-all) or a cut-off body
            return status, None


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    root = tmp_path_factory.mktemp("af-standalone")
    home = root / "airflow"
    (home / "dags").mkdir(parents=True)
    shutil.copy(migrated_template_db(), home / "airflow.db")
    shutil.copy(REPO / "dags" / "steplineage_etl.py", home / "dags")
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "STEPLINEAGE_", "AIRFLOW_CONN_"))}
    env.update({
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "steplineage-web-test-secret-not-for-production",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        "STEPLINEAGE_HOME": str(root / "slhome"),
        "STEPLINEAGE_EXAMPLES_DIR": str(root / "data"),
    })
    log = root / "standalone.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["setsid", AIRFLOW, "standalone"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=home)
    instance = Standalone(proc, f"http://127.0.0.1:{port}", log, root / "data")
    try:
        yield instance
    finally:
        # setsid made airflow the leader of a new process group: stop the whole group.
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # children may outlive the leader for a moment
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def etl_run(standalone: Standalone) -> tuple[str, str]:
    """An admin token and the id of a finished run of the example ETL DAG."""
    standalone.poll("the API server", lambda: standalone.call(
        "GET", "/api/v2/monitor/health")[0] == 200)
    status, body = standalone.call("POST", "/auth/token",
                                   body={"username": "admin", "password": PASSWORD})
    assert status in (200, 201), status
    token = body["access_token"]
    standalone.poll("the DAG to be parsed", lambda: standalone.call(
        "GET", f"/api/v2/dags/{DAG_ID}", token)[0] == 200)
    status, run = standalone.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", token,
                                  {"logical_date": None})
    assert status == 200, status
    run_id = run["dag_run_id"]

    def finished() -> str | None:
        _, body = standalone.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", token)
        state = (body or {}).get("state")  # None while the server is busy: probe again
        return state if state in ("success", "failed") else None

    state = standalone.poll("the DAG run to finish", finished)
    assert state == "success", standalone.log.read_text(errors="replace")[-3000:]
    return token, run_id


def test_lineage_tab_in_airflow_ui(chromium: Any, standalone: Standalone,
                                   etl_run: tuple[str, str], tmp_path: Path) -> None:
    token, run_id = etl_run
    raw = standalone.data / "etl" / "staging" / "raw_orders.csv"
    raw_sha256 = hashlib.sha256(raw.read_bytes()).hexdigest()
    context = chromium.new_context(viewport={"width": 1500, "height": 1050})
    context.add_cookies([{"name": "_token", "value": token, "url": standalone.base}])
    page = context.new_page()
    try:
        page.goto(f"{standalone.base}/dags/{DAG_ID}")
        # the tab Airflow made from our external view (url_route "lineage")
        page.locator('a[href$="/plugin/lineage"]').click()
        frame = page.frame_locator("iframe")
        nodes = frame.locator("#sl-graph .slg-node")
        expect(nodes.first).to_be_visible(timeout=60_000)
        labels = set(frame.locator("#sl-graph .slg-label").all_text_contents())
        assert {"extract", "transform", "load"} <= labels, labels
        page.screenshot(path=str(tmp_path / "airflow-lineage-tab.png"))

        frame.locator(".slg-node.slg-kind-version", has_text="etl_raw_orders").click()
        expect(frame.locator(".slg-details").get_by_text(raw_sha256, exact=True)).to_be_visible()
        frame.locator(".slg-node", has_text="transform").click()
        expect(frame.locator(".slg-extra")).to_contain_text(raw_sha256)
        page.screenshot(path=str(tmp_path / "airflow-lineage-details.png"))

        # the DAG-run tab: the same app for that run
        page.goto(f"{standalone.base}/dags/{DAG_ID}/runs/{run_id}")
        page.locator('a[href$="/plugin/lineage-run"]').click()
        expect(page.frame_locator("iframe").locator("#sl-graph-status")).to_contain_text(
            f"around run {run_id}", timeout=60_000)
        # and the task-instance tab: the graph around that task
        page.goto(f"{standalone.base}/dags/{DAG_ID}/runs/{run_id}/tasks/transform")
        page.locator('a[href$="/plugin/lineage-task"]').click()
        task_frame = page.frame_locator("iframe")
        expect(task_frame.locator("#sl-graph .slg-root .slg-label")).to_have_text("transform",
                                                                                 timeout=60_000)
        page.screenshot(path=str(tmp_path / "airflow-lineage-task.png"))
    finally:
        context.close()


def test_lineage_tab_without_token_is_refused(standalone: Standalone,
                                              etl_run: tuple[str, str]) -> None:
    assert standalone.call("GET", f"/steplineage/dags/{DAG_ID}")[0] == 401
    token, _ = etl_run
    assert standalone.call("GET", f"/steplineage/dags/{DAG_ID}", token)[0] == 200
