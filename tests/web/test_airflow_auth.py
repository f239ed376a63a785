"""The Lineage plugin inside Airflow's API server (``create_app("core")``), with real JWTs.

Per-DAG permissions come from Airflow's multi-team mode: DAG ``sl_web_a`` lives
in a bundle of team ``team_a``, ``sl_web_b`` in one of ``team_b``. Users:

* ``admin`` (ADMIN): everything;
* ``viewer`` (VIEWER, teams a and b): both DAGs;
* ``outsider`` (VIEWER, team b only): ``sl_web_b`` yes, ``sl_web_a`` 403 and hidden;
* no token: 401.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from web_fixtures import (
    XSS,
    Known,
    known,  # noqa: F401 - fixtures
    migrated_template_db,
)

PREFIX = "/steplineage"
TEAMS = {"sl_web_a": "team_a", "sl_web_b": "team_b"}
AUTH_ENV = {
    "AIRFLOW__CORE__AUTH_MANAGER":
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
    "AIRFLOW__CORE__MULTI_TEAM": "True",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS":
        "admin:admin,viewer:viewer:team_a|team_b,outsider:viewer:team_b",
}


def _register_dags() -> None:
    """DAG rows in bundles owned by teams, as the DAG processor would leave them."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    with create_session() as session:
        for dag_id, team_name in TEAMS.items():
            team = session.get(Team, team_name) or Team(name=team_name)
            bundle_name = f"sl_web_bundle_{team_name}"
            bundle = session.get(DagBundleModel, bundle_name) or DagBundleModel(name=bundle_name)
            if team not in bundle.teams:
                bundle.teams.append(team)
            session.add_all([team, bundle])
            session.flush()
            if session.get(DagModel, dag_id) is None:
                session.add(DagModel(dag_id=dag_id, bundle_name=bundle_name,
                                     fileloc=f"/dev/null/{dag_id}.py"))


@pytest.fixture(scope="module")
def airflow_app(known: Known) -> Iterator[Any]:
    """The Airflow API server app (core) with our plugin mounted, over the known catalog."""
    with mock.patch.dict(os.environ, {**AUTH_ENV, "STEPLINEAGE_HOME": str(known.home / "sl")}):
        os.environ.pop("STEPLINEAGE_CATALOG_URL", None)  # restored by patch.dict on exit
        migrated_template_db()
        _register_dags()
        from airflow.api_fastapi.app import create_app

        yield create_app("core")


@pytest.fixture(scope="module")
def tokens(airflow_app: Any) -> dict[str, str]:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = airflow_app.state.auth_manager
    users = {"admin": SimpleAuthManagerUser(username="admin", role="admin"),
             "viewer": SimpleAuthManagerUser(username="viewer", role="viewer",
                                             teams=["team_a", "team_b"]),
             "outsider": SimpleAuthManagerUser(username="outsider", role="viewer",
                                               teams=["team_b"])}
    return {name: manager.generate_jwt(user) for name, user in users.items()}


@pytest.fixture(scope="module")
def client(airflow_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(airflow_app) as c:
        yield c


def _get(client: Any, path: str, token: str | None = None, cookie: bool = False) -> Any:
    if token is None:
        return client.get(PREFIX + path)
    if cookie:  # the UI's iframe authenticates with the _token cookie
        client.cookies.set("_token", token)
        try:
            return client.get(PREFIX + path)
        finally:
            client.cookies.clear()
    return client.get(PREFIX + path, headers={"Authorization": f"Bearer {token}"})


def test_plugin_registers_tabs_and_nav(client: Any, tokens: dict[str, str]) -> None:
    plugins = client.get("/api/v2/plugins", headers={
        "Authorization": f"Bearer {tokens['admin']}"}).json()["plugins"]
    (ours,) = [p for p in plugins if p["name"] == "steplineage_ui"]
    views = {v["destination"]: v for v in ours["external_views"]}
    assert set(views) == {"dag", "dag_run", "task_instance", "nav"}
    assert views["dag"]["href"] == "/steplineage/dags/{DAG_ID}"
    assert {v["name"] for v in views.values()} == {"Lineage"}
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == [PREFIX]


def test_no_token_is_401_everywhere(client: Any, known: Known) -> None:
    for path in ["/", "/api/dags", "/api/executions", f"/api/executions/{known.ids['extract']}",
                 "/api/dags/sl_web_a/lineage", "/dags/sl_web_a", "/static/app.js",
                 f"/api/lineage?node=execution:{known.ids['extract']}", "/api/search?q=raw"]:
        assert _get(client, path).status_code == 401, path


@pytest.mark.parametrize("user", ["admin", "viewer"])
def test_readers_of_both_dags_see_both(client: Any, tokens: dict[str, str], known: Known,
                                       user: str) -> None:
    token = tokens[user]
    assert {d["dag_id"] for d in _get(client, "/api/dags", token).json()} == set(TEAMS)
    for dag_id in TEAMS:
        assert _get(client, f"/dags/{dag_id}", token, cookie=True).status_code == 200
        assert _get(client, f"/api/dags/{dag_id}/lineage?run_id=manual__1",
                    token).status_code == 200
    detail = _get(client, f"/api/executions/{known.ids['extract']}", token).json()
    assert detail["inputs"][0]["hash"] == known.hashes["raw.csv"]


def test_outsider_gets_403_for_the_other_teams_dag(client: Any, tokens: dict[str, str],
                                                  known: Known) -> None:
    token = tokens["outsider"]
    for path in ["/dags/sl_web_a", "/dags/sl_web_a/runs/manual__1",
                 "/dags/sl_web_a/runs/manual__1/tasks/extract", "/api/dags/sl_web_a/lineage",
                 "/api/executions?dag_id=sl_web_a", f"/api/executions/{known.ids['extract']}",
                 f"/executions/{known.ids['extract']}",
                 f"/api/lineage?node=execution:{known.ids['extract']}"]:
        assert _get(client, path, token).status_code == 403, path
        assert _get(client, path, token, cookie=True).status_code == 403, path
    assert _get(client, "/dags/sl_web_b", token, cookie=True).status_code == 200
    assert _get(client, f"/api/executions/{known.ids['report']}", token).status_code == 200


def test_outsider_lists_and_graphs_leave_the_other_dag_out(client: Any, tokens: dict[str, str],
                                                          known: Known) -> None:
    token = tokens["outsider"]
    assert [d["dag_id"] for d in _get(client, "/api/dags", token).json()] == ["sl_web_b"]
    listed = _get(client, "/api/executions?limit=100", token).json()
    assert {e["dag_id"] for e in listed["items"]} <= {"sl_web_b", None}
    assert XSS in {e["name"] for e in listed["items"]}  # outside any DAG: readable by viewers
    hits = _get(client, "/api/search?q=extract", token).json()
    assert [h for h in hits if h["kind"] == "execution"] == []
    # report read clean.csv, which extract (sl_web_a) wrote: that step stays anonymous.
    graph = _get(client, f"/api/lineage?node=execution:{known.ids['report']}&direction=upstream"
                         "&depth=3", token).json()
    hidden = [n for n in graph["nodes"] if n["id"] == f"execution:{known.ids['extract']}"]
    assert graph["hidden"] == 1 and hidden[0]["label"] == "hidden execution"
    assert "dag_id" not in hidden[0]["attrs"]
    explorer = _get(client, "/", token, cookie=True).text
    assert "sl_web_b" in explorer and "sl_web_a" not in explorer
    # and the admin sees the step by name
    admin = _get(client, f"/api/lineage?node=execution:{known.ids['report']}&direction=upstream"
                         "&depth=3", tokens["admin"]).json()
    assert admin["hidden"] == 0 and "extract" in {n["label"] for n in admin["nodes"]}


def test_pages_link_back_to_airflow(client: Any, tokens: dict[str, str], known: Known) -> None:
    page = _get(client, f"/executions/{known.ids['extract']}", tokens["admin"], cookie=True)
    assert 'href="/dags/sl_web_a/runs/manual__1/tasks/extract" target="_top"' in page.text
    assert f'href="{PREFIX}/static/lineage-graph.js"' not in page.text  # scripts are deferred
    assert f'src="{PREFIX}/static/lineage-graph.js"' in page.text
