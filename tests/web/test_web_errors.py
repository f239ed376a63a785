"""What the web app answers when things go wrong, and how a viewer's access reaches the
catalog's queries: the error table (404/400/503/500) and a viewer that only says
``can_read`` seeing only its DAGs in lists, totals and search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from ports import free_port
from web_fixtures import Known
from web_fixtures import known, known_catalog  # noqa: F401 - fixtures

import steplineage as sl
from steplineage.web.access import Access, Viewer
from steplineage.web.app import create_app
from steplineage.web.errors import INTERNAL_ERROR


class OnlyA(Viewer):
    """A viewer who may read DAG ``sl_web_a`` only, and nothing outside DAGs; it answers
    per DAG and leaves :meth:`Viewer.filter_dags` as it is."""

    name = "only-a"

    def can_read(self, dag_id: str | None) -> bool:
        return dag_id == "sl_web_a"


class OnlyAAccess(Access):
    def viewer(self, request: Request) -> Viewer:
        return OnlyA()


@pytest.fixture
def only_a(known_catalog: sl.Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: known_catalog, OnlyAAccess())) as c:
        yield c


def test_a_viewer_that_only_answers_can_read_sees_only_its_dags(only_a: TestClient,
                                                                known: Known) -> None:
    assert [d["dag_id"] for d in only_a.get("/api/dags").json()] == ["sl_web_a"]
    listed = only_a.get("/api/executions").json()
    assert listed["total"] == 3
    assert {e["dag_id"] for e in listed["items"]} == {"sl_web_a"}
    hits = only_a.get("/api/search?q=report").json()
    assert f"execution:{known.ids['report']}" not in {h["node"] for h in hits}
    assert only_a.get("/api/executions?dag_id=sl_web_b").status_code == 403
    assert only_a.get(f"/api/executions/{known.ids['report']}").status_code == 403
    page = only_a.get("/").text
    assert "sl_web_b" not in page and "sl_web_a" in page


def test_our_errors_map_to_statuses(only_a: TestClient, known: Known) -> None:
    missing = only_a.get("/api/executions/nope")
    assert missing.status_code == 404 and missing.json()["detail"] == \
        "no execution with id 'nope'"
    assert only_a.get("/api/lineage?node=version:nope").status_code == 404
    no_run = only_a.get("/api/dags/sl_web_a/lineage?run_id=never")
    assert no_run.status_code == 404 and "run 'never'" in no_run.json()["detail"]
    assert only_a.get("/executions/nope").status_code == 404
    not_json = only_a.post("/api/v1/lineage", content=b"[")
    assert not_json.status_code == 400 and not_json.json()["detail"].startswith("body is not")
    empty = only_a.post("/api/v1/lineage", json=[])
    assert empty.status_code == 400 and "empty batch" in empty.json()["detail"]


def test_an_unreachable_catalog_is_503_and_says_so(sl_home: Path) -> None:
    down = sl.Catalog(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none",
                      home=sl_home)
    try:
        with TestClient(create_app(lambda: down)) as c:
            for route in ("/api/health", "/api/dags", "/api/executions", "/"):
                response = c.get(route)
                assert response.status_code == 503, route
                assert "is unreachable" in response.json()["detail"]
    finally:
        down.close()


def test_a_bug_is_500_without_details(known_catalog: sl.Catalog) -> None:
    def broken() -> sl.Catalog:
        raise KeyError("secret detail")

    with TestClient(create_app(broken), raise_server_exceptions=False) as c:
        response = c.get("/api/dags")
    assert response.status_code == 500
    assert response.json() == {"detail": INTERNAL_ERROR}
