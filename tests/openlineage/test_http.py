"""OpenLineage over HTTP: the web app's POST /api/v1/lineage, a round trip from one catalog to
another through openlineage-python's http transport and a running ``steplineage ui``, and the
outbox keeping events while the endpoint is down (delivered later, none twice)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

import steplineage as sl
from steplineage.openlineage.emitter import emitter_for
from steplineage.web.access import Access, TokenAccess, Viewer
from steplineage.web.app import create_app
from ol_helpers import Recorder, emitting, new_run, run_event, steplineage_ui
from ports import free_port

TOKEN = "ol-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NO_RETRY = {"total": 0, "connect": 0, "read": 0}


@pytest.fixture
def client(catalog: sl.Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: catalog, TokenAccess(TOKEN))) as c:
        yield c


def test_endpoint_records_a_single_event_and_needs_the_token(client, catalog):
    run = new_run()
    assert client.post("/api/v1/lineage", json=run_event("START", run, "j", 1)).status_code == 401
    response = client.post("/api/v1/lineage", json=run_event("START", run, "j", 1), headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert catalog.get_execution(run).status is sl.Status.running


def test_bad_events_in_a_batch_get_400_naming_them_and_the_good_ones_are_kept(client, catalog):
    good = new_run()
    batch = [run_event("START", good, "j", 1),
             {**run_event("START", new_run(), "j", 1), "eventTime": None},
             run_event("COMPLETE", good, "j", 2)]
    response = client.post("/api/v1/lineage", json=batch, headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 2
    assert body["rejected"] == [{"index": 1, "problem": "eventTime: is missing",
                                 "run_id": batch[1]["run"]["runId"]}]
    assert catalog.get_execution(good).status is sl.Status.completed


def test_a_body_that_is_not_json_is_a_400_that_says_so(client):
    response = client.post("/api/v1/lineage", content=b"{oops", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("body is not JSON")


def _pipeline(cat: sl.Catalog, data: Path) -> None:
    cat.add_resource("raw", uri=f"file://{data}", role="source-data")
    cat.create_asset_table("Report")
    with cat.create_execution(sl.ExecutionConfig(workflow="etl")) as parent:
        with parent.child("extract", inputs=[sl.ResourceRef("raw", "jan.csv")]) as step:
            step.asset_file_path("Report", "jan.txt").write_text("2 rows\n")
            step.log_metrics({"rows": 2})
        cat.add_workflow("archive", workflow_type="script")
        cat.set_workflow_active("archive", False)
        skipped = parent.child("archive", workflow="archive")
        assert skipped.status is sl.Status.skipped


def _shape(cat: sl.Catalog) -> tuple[set, set]:
    """Executions (id, name, status, parent) and edges (execution, role, content hash)."""
    exes = {(e.id, e.name, e.status.value, e.parent_id) for e in cat.list_executions(limit=100)}
    assets = {a.id: a.sha256 for a in cat.list_assets()}
    edges = set()
    for exe_id, *_ in exes:
        for edge in cat.list_edges(exe_id):
            # An uploaded asset arrives as a dataset version carrying the asset's sha256.
            digest = edge.version_hash or assets.get(edge.asset_id or "")
            edges.add((exe_id, edge.role.value, edge.valid, digest))
    return exes, edges


def test_round_trip_through_http_rebuilds_the_same_graph(catalog, tmp_path, data_dir):
    port = free_port()
    home_b = catalog.settings.home
    args = ["--url", catalog.url, "--home", str(home_b)]
    with steplineage_ui(tmp_path / "ui.log", port, TOKEN, *args) as base:
        transport = {"type": "http", "url": base, "endpoint": "api/v1/lineage",
                     "auth": {"type": "api_key", "apiKey": TOKEN}, "retry": NO_RETRY}
        with emitting(transport):
            source = sl.Catalog(home=tmp_path / "source")
        _pipeline(source, data_dir)
        result = emitter_for(source.settings).flush(timeout=60)
        assert (result.failed, result.remaining) == (0, 0), result
    expected = _shape(source)
    assert {status for _, _, status, _ in expected[0]} == {"completed", "skipped"}
    assert {role for _, role, _, _ in expected[1]} == {"input", "output"}
    assert all(digest for *_, digest in expected[1])
    assert _shape(catalog) == expected
    source.close()


def test_outbox_keeps_events_while_the_endpoint_is_down_and_sends_each_once(sl_home, data_dir):
    port = free_port()  # nothing listens here yet: the backend is down
    transport = {"type": "http", "url": f"http://127.0.0.1:{port}", "retry": NO_RETRY}
    with emitting(transport):
        cat = sl.Catalog(home=sl_home)
    cat.add_resource("raw", uri=f"file://{data_dir}", role="source-data")
    with cat.create_execution(sl.ExecutionConfig(
            workflow="etl", inputs=[sl.ResourceRef("raw", "jan.csv")])) as exe:
        exe.log_metrics({"rows": 2})
    # The step itself is unaffected by the dead endpoint.
    assert cat.get_execution(exe.id).status is sl.Status.completed
    emitter = emitter_for(cat.settings)
    down = emitter.flush(timeout=30)
    assert down.failed == 1 and "Connection" in (down.error or "")
    waiting = emitter.outbox.pending()
    assert waiting == 3  # START, RUNNING (uploading), COMPLETE
    assert emitter.outbox.status()["last_error"]
    with Recorder(port) as backend:
        # The background sender may deliver first once the backend is up; either way the
        # outbox drains and nothing is sent twice.
        up = emitter.flush(timeout=30)
        again = emitter.flush(timeout=30)
    assert (up.remaining, again.sent, emitter.outbox.pending()) == (0, 0, 0)
    kinds = [b["eventType"] for b in backend.bodies]
    assert kinds == ["START", "RUNNING", "COMPLETE"]
    assert {b["run"]["runId"] for b in backend.bodies} == {exe.id}
    cat.close()


def test_a_broken_transport_config_never_fails_the_step(sl_home, monkeypatch):
    monkeypatch.setenv("STEPLINEAGE_OPENLINEAGE", "true")
    monkeypatch.setenv("STEPLINEAGE_OPENLINEAGE_TRANSPORT", "{not json")
    cat = sl.Catalog(home=sl_home)
    with cat.create_execution(sl.ExecutionConfig(workflow="etl")) as exe:
        pass
    assert cat.get_execution(exe.id).status is sl.Status.completed
    result = emitter_for(cat.settings).flush(timeout=5)
    assert result.failed == 1
    assert "STEPLINEAGE_OPENLINEAGE_TRANSPORT is not JSON" in (result.error or "")
    assert result.remaining == 3  # kept for when the config is fixed
    cat.close()


class OnlyEtl(Viewer):
    """A viewer who may read DAG ``etl`` only (as an Airflow user with one DAG's access)."""

    def can_read(self, dag_id: str | None) -> bool:
        return dag_id == "etl"


class OnlyEtlAccess(Access):
    def viewer(self, request: Request) -> Viewer:
        return OnlyEtl()


def test_events_of_dags_the_viewer_may_not_read_are_rejected(catalog):
    def airflow_event(dag_id: str) -> dict:
        facet = {"_producer": "https://example.com", "_schemaURL": "https://example.com/s",
                 "dag": {"dag_id": dag_id}, "dagRun": {"run_id": "r1"},
                 "task": {"task_id": "t"}, "taskInstance": {"try_number": 1}}
        return run_event("START", new_run(), f"{dag_id}.t", 1, facets={"airflow": facet})

    with TestClient(create_app(lambda: catalog, OnlyEtlAccess())) as c:
        response = c.post("/api/v1/lineage", json=[airflow_event("etl"), airflow_event("hr")])
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 1
    assert "may not record lineage of DAG 'hr'" in body["rejected"][0]["problem"]
    assert [e.orchestrator.dag_id for e in catalog.list_executions(limit=10)
            if e.orchestrator.task_id] == ["etl"]


def test_events_outlive_the_process_that_made_them(sl_home, tmp_path):
    port = free_port()  # down while the step runs, and until its process has exited
    transport = json.dumps({"type": "http", "url": f"http://127.0.0.1:{port}",
                            "retry": NO_RETRY})
    env = {**os.environ, "STEPLINEAGE_HOME": str(sl_home),
           "STEPLINEAGE_OPENLINEAGE": "true", "STEPLINEAGE_OPENLINEAGE_TRANSPORT": transport,
           "STEPLINEAGE_OPENLINEAGE_FLUSH_SECONDS": "1"}
    script = ("import steplineage as sl\n"
              "cat = sl.Catalog()\n"
              "with cat.create_execution(sl.ExecutionConfig(workflow='nightly')) as exe:\n"
              "    print(exe.id)\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exe_id = done.stdout.strip()
    settings = sl.Settings(home=sl_home, openlineage=True, openlineage_transport=transport)
    emitter = emitter_for(settings)
    assert emitter.outbox.pending() == 3
    with Recorder(port) as backend:
        sent = emitter.flush(timeout=30)
    assert (sent.sent, sent.remaining) == (3, 0)
    assert [(b["eventType"], b["run"]["runId"]) for b in backend.bodies] == \
        [("START", exe_id), ("RUNNING", exe_id), ("COMPLETE", exe_id)]
