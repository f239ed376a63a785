"""docker/compose.yaml for real: images built from this repository, the stack up, the
example DAG and the example flow tracked, the Lineage tab served.

``make compose-test`` runs this module (``make test`` does too when ``CI=true``):
as root, it starts a private ``dockerd`` (:mod:`docker_engine`: its own data and
exec roots, socket, pid file and cgroup parent; no bridge, no iptables), imports
a Debian bookworm base image made with mmdebstrap (registry images cannot be
pulled here), builds the Airflow and Prefect images from the repository with
``--build-arg BASE_IMAGE=...`` and a PostgreSQL image from Debian's package, and
runs the stack with a host-network override on free loopback ports
(:mod:`compose_stack`). Then, through Airflow's REST API and Prefect's, a DAG run
and a flow run; through the steplineage API mounted in Airflow, their executions
and lineage edges; and the Lineage tab's route (401 without a token, 200 with
one). Everything — containers, volumes, the daemon and its directories — is
removed at the end, also when a step fails, and leftovers of an interrupted run
are removed at the start.

Opt-in (``STEPLINEAGE_COMPOSE_TEST=1``, set by ``make compose-test``): a plain
``pytest`` skips it. Under ``CI=true`` a missing prerequisite fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from compose_stack import PORTS, REPO, Stack, compose_cli
from docker_engine import PrivateDockerd, base_image_tar, import_base_image
from ports import free_port

pytestmark = [pytest.mark.compose, pytest.mark.slow]

T = TypeVar("T")
DAG_ID = "steplineage_etl"
CACHE = REPO / ".cache" / "compose-test"
ETL_TASKS = {"extract", "transform", "load"}


def _missing() -> str | None:
    if os.environ.get("STEPLINEAGE_COMPOSE_TEST") != "1":
        return "opt-in: run `make compose-test` (STEPLINEAGE_COMPOSE_TEST=1)"
    if os.geteuid() != 0:
        return "a private dockerd needs root"
    for tool in ("dockerd", "docker", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install docker.io mmdebstrap)"
    if compose_cli() is None:
        return "neither `docker compose` nor `docker-compose` is installed"
    return None


def poll(what: str, probe: Callable[[], T | None], timeout: float,
         on_timeout: Callable[[], str] = lambda: "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(2.0)  # polling interval; the deadline decides
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")


def call(method: str, url: str, token: str | None = None, body: Any = None,
         cookie: str | None = None) -> tuple[int, Any]:
    """One HTTP request on loopback; (status, parsed JSON or text)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def as_dict(body: Any) -> dict[str, Any]:
    """A JSON object answer, or {} for anything else (a busy server's error page, a
    refused connection): polls just ask again."""
    return body if isinstance(body, dict) else {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running stack (profile "prefect"), healthy; torn down whatever happens."""
    problem = _missing()
    if problem is not None:
        if os.environ.get("CI") == "true" and not problem.startswith("opt-in"):
            pytest.fail(f"the compose test needs its tools when CI=true: {problem}")
        pytest.skip(problem)
    workdir = tmp_path_factory.mktemp("compose")
    timings: dict[str, float] = {}
    engine = PrivateDockerd()
    running: Stack | None = None
    started = time.monotonic()
    try:
        engine.start()
        tar = base_image_tar(CACHE)
        base = import_base_image(engine, tar)
        timings["engine+base"] = round(time.monotonic() - started, 1)
        running = Stack(engine, workdir, ports={name: free_port() for name in PORTS})
        timings.update(running.build_images(base, workdir / "build.log"))
        up = time.monotonic()
        running.compose("up", "-d", "--no-build", timeout=1200)
        running.wait_healthy()
        timings["up+healthy"] = round(time.monotonic() - up, 1)
        print(f"compose stack ready in {time.monotonic() - started:.0f} s: {timings}")
        yield running
    finally:
        try:
            if running is not None:
                running.down()
        finally:
            engine.stop()


@pytest.fixture(scope="module")
def airflow(stack: Stack) -> tuple[str, str]:
    """(base URL, admin token) of the stack's Airflow API server."""
    base = f"http://127.0.0.1:{stack.ports['airflow']}"
    # The simple auth manager generates the passwords into the airflow-home volume.
    passwords = json.loads(stack.compose(
        "exec", "-T", "airflow-apiserver", "cat",
        "/opt/airflow/simple_auth_manager_passwords.json.generated").stdout)
    status, body = call("POST", f"{base}/auth/token",
                        body={"username": "admin", "password": passwords["admin"]})
    assert status in (200, 201), body
    return base, body["access_token"]


def test_containers_use_the_host_network_and_no_bridge_exists(stack: Stack) -> None:
    containers = stack.containers()
    assert {c["HostConfig"]["NetworkMode"] for c in containers.values()} == {"host"}
    networks = set(stack.docker("network", "ls", "--format", "{{.Name}}").split())
    assert networks == {"host", "none"}, networks
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "docker0" not in links and " br-" not in links and "veth" not in links


def test_airflow_dag_run_is_tracked_with_lineage(stack: Stack, airflow: tuple[str, str]) -> None:
    base, token = airflow
    poll("the example DAG to be parsed",
         lambda: call("GET", f"{base}/api/v2/dags/{DAG_ID}", token)[0] == 200, 300,
         stack.logs)
    status, body = call("PATCH", f"{base}/api/v2/dags/{DAG_ID}", token, {"is_paused": False})
    assert status == 200, body
    status, run = call("POST", f"{base}/api/v2/dags/{DAG_ID}/dagRuns", token,
                       {"logical_date": None})
    assert status == 200, run
    run_id = run["dag_run_id"]

    def finished() -> str | None:
        state = as_dict(call("GET", f"{base}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", token)[1]
                        ).get("state")
        return state if state in ("success", "failed") else None

    assert poll("the DAG run to finish", finished, 600, stack.logs) == "success"

    api = f"{base}/steplineage/api"
    query = urllib.parse.urlencode({"dag_id": DAG_ID, "run_id": run_id, "limit": 100})
    status, page = call("GET", f"{api}/executions?{query}", token)
    assert status == 200, page
    by_task = {e["task_id"]: e for e in page["items"] if e["task_id"]}
    assert set(by_task) == ETL_TASKS, page
    assert {e["status"] for e in by_task.values()} == {"completed"}
    status, transform = call("GET", f"{api}/executions/{by_task['transform']['id']}", token)
    assert status == 200, transform
    assert transform["inputs"] and transform["outputs"], transform
    assert all(edge["hash"] for edge in transform["inputs"] + transform["outputs"])
    query = urllib.parse.urlencode({"run_id": run_id})  # "+" in run ids is not a space
    status, graph = call("GET", f"{api}/dags/{DAG_ID}/lineage?{query}", token)
    assert status == 200, graph
    executions = {n["id"] for n in graph["nodes"] if n["id"].startswith("execution:")}
    assert {f"execution:{by_task[t]['id']}" for t in ETL_TASKS} <= executions
    assert graph["edges"]
    # extract's output is transform's input: the same version node links them
    extract_out = {e["node"] for e in call(
        "GET", f"{api}/executions/{by_task['extract']['id']}", token)[1]["outputs"]}
    assert extract_out & {e["node"] for e in transform["inputs"]}


def test_prefect_flow_run_on_the_worker_is_tracked_with_lineage(
        stack: Stack, airflow: tuple[str, str]) -> None:
    prefect = f"http://127.0.0.1:{stack.ports['prefect']}/api"
    status, deployment = call("GET", f"{prefect}/deployments/name/etl/etl")
    assert status == 200, deployment
    status, flow_run = call("POST", f"{prefect}/deployments/{deployment['id']}/create_flow_run",
                            body={})
    assert status in (200, 201), flow_run

    def finished() -> str | None:
        state = as_dict(call("GET", f"{prefect}/flow_runs/{flow_run['id']}")[1]).get("state")
        kind = (state or {}).get("type")
        return kind if kind in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    assert poll("the flow run on the worker", finished, 600, stack.logs) == "COMPLETED"

    base, token = airflow
    api = f"{base}/steplineage/api"
    status, page = call("GET", f"{api}/executions?top_level=true&limit=500", token)
    assert status == 200, page
    (parent,) = [e for e in page["items"] if e["flow_run_id"] == flow_run["id"]]
    assert parent["status"] == "completed"
    status, children = call("GET", f"{api}/executions?parent_id={parent['id']}&limit=100", token)
    assert status == 200 and children["total"] >= 3, children
    status, graph = call("GET", f"{api}/lineage?node=execution:{parent['id']}"
                                f"&direction=both&depth=4", token)
    assert status == 200, graph
    assert any(n["id"].startswith("version:") for n in graph["nodes"]), graph
    assert graph["edges"]


def test_lineage_tab_route_needs_an_airflow_token(stack: Stack,
                                                  airflow: tuple[str, str]) -> None:
    base, token = airflow
    page = f"{base}/steplineage/dags/{DAG_ID}"
    assert call("GET", page)[0] == 401
    assert call("GET", f"{base}/steplineage/api/dags")[0] == 401
    status, html = call("GET", page, token=token)
    assert status == 200 and DAG_ID in html
    # as the tab's iframe does: the UI's _token cookie
    assert call("GET", page, cookie=f"_token={token}")[0] == 200
