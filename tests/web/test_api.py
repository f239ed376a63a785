"""The web app standalone (TokenAccess) through FastAPI's TestClient, over a known catalog."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_fixtures import XSS, XSS_FILE, Known
from web_fixtures import known, known_catalog  # noqa: F401 - fixtures
from fastapi.testclient import TestClient
from markupsafe import escape

import steplineage as sl
from steplineage.web.access import TokenAccess
from steplineage.web.app import CSP, create_app

TOKEN = "t-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(known_catalog: sl.Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: known_catalog, TokenAccess(TOKEN))) as c:
        yield c


@pytest.fixture
def open_client(known_catalog: sl.Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: known_catalog)) as c:
        yield c


def test_token_is_required_on_every_route(client: TestClient, known: Known) -> None:
    routes = ["/", "/api/dags", "/api/executions", f"/api/executions/{known.ids['extract']}",
              f"/api/lineage?node=execution:{known.ids['extract']}", "/api/search?q=raw",
              "/api/dags/sl_web_a/lineage", "/dags/sl_web_a", "/static/app.js",
              f"/executions/{known.ids['extract']}"]
    for route in routes:
        assert client.get(route).status_code == 401, route
        assert client.get(route, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(route, headers=AUTH).status_code == 200, route


def test_login_trades_the_token_for_a_cookie(client: TestClient) -> None:
    assert client.get("/login?token=wrong", follow_redirects=False).status_code == 401
    response = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/api/dags").status_code == 200  # the cookie now authenticates


def test_open_mode_needs_no_token(open_client: TestClient) -> None:
    assert open_client.get("/api/dags").status_code == 200


def test_dags_and_paginated_executions(open_client: TestClient, known: Known) -> None:
    dags = {d["dag_id"]: d for d in open_client.get("/api/dags").json()}
    assert set(dags) == {"sl_web_a", "sl_web_b"}
    assert dags["sl_web_a"] == {**dags["sl_web_a"], "executions": 3, "runs": 2}

    first = open_client.get("/api/executions?dag_id=sl_web_a&limit=2").json()
    second = open_client.get("/api/executions?dag_id=sl_web_a&limit=2&offset=2").json()
    assert first["total"] == second["total"] == 3
    names = [e["name"] for e in first["items"] + second["items"]]
    assert sorted(names) == ["extract", "flaky", "sl_web_a"]
    assert names[0] == "flaky"  # newest first

    failed = open_client.get("/api/executions?dag_id=sl_web_a&status=failed").json()
    assert [e["name"] for e in failed["items"]] == ["flaky"]
    assert "flaky failure" in failed["items"][0]["status_message"]
    run = open_client.get("/api/executions?dag_id=sl_web_a&run_id=manual__1").json()
    assert sorted(e["name"] for e in run["items"]) == ["extract", "sl_web_a"]
    future = open_client.get("/api/executions?since=2999-01-01T00:00:00Z").json()
    past = open_client.get("/api/executions?until=2000-01-01T00:00:00Z").json()
    assert future["total"] == past["total"] == 0
    assert open_client.get("/api/executions?status=nonsense").status_code == 422
    assert open_client.get("/api/executions?limit=0").status_code == 422


def test_execution_detail_has_history_children_versions_and_assets(
        open_client: TestClient, known: Known) -> None:
    d = open_client.get(f"/api/executions/{known.ids['extract']}").json()
    assert [h["status"] for h in d["execution"]["history"]] == [
        "created", "initializing", "running", "uploading", "completed"]
    assert d["parent"]["id"] == known.ids["sl_web_a/run"]
    (raw,) = d["inputs"]
    assert raw["ref"] == "files:raw.csv" and raw["hash"] == known.hashes["raw.csv"]
    outputs = {o.get("ref") or o["asset"]["filename"]: o for o in d["outputs"]}
    assert outputs["files:clean.csv"]["hash"] == known.hashes["clean.csv"]
    model = outputs["model.json"]["asset"]
    assert model["sha256"] == known.hashes["model"] and model["length"] == len('{"w": 1}')
    assert len(model["md5"]) == 32
    run = open_client.get(f"/api/executions/{known.ids['sl_web_a/run']}").json()
    assert [c["name"] for c in run["children"]] == ["extract"]
    assert open_client.get("/api/executions/nope").status_code == 404


def test_lineage_directions_depth_and_caps(open_client: TestClient, known: Known) -> None:
    node = f"execution:{known.ids['report']}"

    def labels(**params: object) -> set[str]:
        body = open_client.get("/api/lineage", params={"node": node, **params}).json()
        return {n["label"] for n in body["nodes"] if n["kind"] != "agent"}  # the user

    assert labels(direction="upstream", depth=1) == {"report", "files:clean.csv"}
    assert labels(direction="upstream", depth=3) >= {"extract", "files:raw.csv"}
    assert labels(direction="downstream", depth=5) == {"report", "files:report.txt"}
    both = labels(direction="both", depth=1)
    assert both == {"report", "files:clean.csv", "files:report.txt"}
    capped = open_client.get("/api/lineage", params={"node": node, "direction": "upstream",
                                                     "depth": 10, "max_nodes": 2}).json()
    assert capped["partial"] is True and len(capped["nodes"]) == 2
    assert open_client.get("/api/lineage?node=execution:nope").status_code == 404
    assert open_client.get(f"/api/lineage?node={node}&direction=sideways").status_code == 422


def test_dag_run_lineage_and_stale(open_client: TestClient, known: Known) -> None:
    body = open_client.get("/api/dags/sl_web_a/lineage?run_id=manual__1").json()
    by_label = {n["label"]: n for n in body["nodes"]}
    assert {"extract", "files:raw.csv", "files:clean.csv", "Model/model.json"} <= set(by_label)
    assert by_label["files:raw.csv"]["attrs"]["hash"] == known.hashes["raw.csv"]
    # Newest run of sl_web_a is manual__2: only the failed step, which read raw.csv.
    newest = open_client.get("/api/dags/sl_web_a/lineage").json()
    assert {n["label"] for n in newest["nodes"] if n["kind"] != "agent"} == {
        "flaky", "files:raw.csv"}
    assert open_client.get("/api/dags/nope/lineage").status_code == 404
    assert isinstance(body["stale"], list)


def test_search_by_name_and_checksum(open_client: TestClient, known: Known) -> None:
    hits = open_client.get("/api/search?q=clean").json()
    assert [h["label"] for h in hits if h["kind"] == "version"] == ["files:clean.csv"]
    by_hash = open_client.get(f"/api/search?q={known.hashes['raw.csv'][:10]}").json()
    assert [h["label"] for h in by_hash] == ["files:raw.csv"]
    # LIKE wildcards are literal
    assert open_client.get("/api/search?q=%25").json() == []
    assert open_client.get("/api/search?q=").status_code == 422


def test_pages_escape_user_made_text_and_send_a_csp(open_client: TestClient,
                                                    known: Known) -> None:
    page = open_client.get(f"/executions/{known.ids['xss']}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "<script>window" not in page.text and "<img src=x" not in page.text
    assert str(escape(XSS)) in page.text  # shown, as text
    explorer = open_client.get("/").text
    assert "<script>window" not in explorer and str(escape(XSS)) in explorer
    # the graph config block cannot be closed by a name either
    lineage = open_client.get("/lineage", params={"node": f"</script>{XSS}"}).text
    assert "</script><script>" not in lineage
    assert XSS_FILE not in open_client.get(f"/executions/{known.ids['xss']}").text


def test_dag_page_filters_and_pages(open_client: TestClient, known: Known) -> None:
    page = open_client.get("/dags/sl_web_a?status=failed")
    assert page.status_code == 200 and "flaky" in page.text and ">extract<" not in page.text
    assert open_client.get("/dags/sl_web_a?since=2999-01-01").text.count("No executions match")
    assert open_client.get("/dags/sl_web_a?since=June").status_code == 422
    task = open_client.get("/dags/sl_web_a/runs/manual__1/tasks/extract?map_index=-1")
    assert task.status_code == 200 and "extract" in task.text
    assert open_client.get("/dags/sl_web_none").status_code == 200  # empty, not an error
    assert "no run of this DAG yet" in open_client.get("/dags/sl_web_none").text


def test_static_files_are_the_shared_renderer(open_client: TestClient) -> None:
    from steplineage.export.html import renderer_js

    js = open_client.get("/static/lineage-graph.js")
    assert js.text == renderer_js() and js.headers["content-type"].startswith("text/javascript")
    assert open_client.get("/static/../catalog.db").status_code == 404
    assert open_client.get("/static/conftest.py").status_code == 404


def test_openapi_documents_the_api(open_client: TestClient) -> None:
    paths = open_client.get("/openapi.json").json()["paths"]
    assert {"/api/executions", "/api/executions/{execution_id}", "/api/lineage",
            "/api/dags/{dag_id}/lineage", "/api/search", "/api/dags"} <= set(paths)
    assert "/dags/{dag_id}" not in paths  # pages are not API
