"""The Lineage tab: the steplineage web app inside Airflow 3's UI.

The plugin mounts the app (:mod:`steplineage.web`) on the API server at
``/steplineage`` and adds external views: a **Lineage** tab on the DAG, DAG-run
and task-instance pages (each an iframe of the app's page for that object) and
a **Lineage** entry in the navigation (the catalog-wide explorer).

Access is Airflow's: the iframe carries the UI's ``_token`` cookie, routes
resolve the user with Airflow's ``get_user`` (401 without a token) and ask the
auth manager ``is_authorized_dag(GET)`` for the DAG of everything shown (403
for a page of a DAG the user may not read; lists and graphs leave such DAGs
out or anonymise their executions). The catalog comes from
:class:`~steplineage.airflow.hooks.SteplineageHook`, never from Airflow's
metadata database.

Example:
    >>> from steplineage.airflow.ui_plugin import SteplineageUIPlugin
    >>> [v["url_route"] for v in SteplineageUIPlugin.external_views]
    ['lineage', 'lineage-run', 'lineage-task', 'lineage-explorer']
"""

# No `from __future__ import annotations`: FastAPI evaluates the dependency signature.
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin

from steplineage.web.access import Access, Viewer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from steplineage.catalog.catalog import Catalog

__all__ = ["URL_PREFIX", "AirflowAccess", "AirflowViewer", "SteplineageUIPlugin",
           "build_airflow_app"]

URL_PREFIX = "/steplineage"
#: How long the API server keeps the hook's resolved catalog before asking again.
CATALOG_TTL_SECONDS = 60.0


class AirflowViewer(Viewer):
    """An Airflow user; every answer comes from Airflow's auth manager (cached per request).

    Example:
        >>> AirflowViewer(user).can_read("steplineage_etl")  # doctest: +SKIP
        True
    """

    def __init__(self, user: Any):
        self.user = user
        self.name = str(user.get_name())
        self._answers: dict[str | None, bool] = {}

    def can_read(self, dag_id: str | None) -> bool:
        if dag_id not in self._answers:
            from airflow.api_fastapi.app import get_auth_manager
            from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
            from airflow.models.dag import DagModel

            # As requires_access_dag("GET") does: the DAG's team decides in multi-team mode.
            details = (DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
                       if dag_id else None)
            self._answers[dag_id] = bool(get_auth_manager().is_authorized_dag(
                method="GET", details=details, user=self.user))
        return self._answers[dag_id]

    def filter_dags(self, dag_ids: set[str]) -> set[str] | None:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
        from airflow.models.dag import DagModel

        pending = sorted(d for d in dag_ids if d not in self._answers)
        if pending:
            teams = DagModel.get_dag_id_to_team_name_mapping(pending)
            manager = get_auth_manager()
            for dag_id in pending:
                self._answers[dag_id] = bool(manager.is_authorized_dag(
                    method="GET", details=DagDetails(id=dag_id, team_name=teams.get(dag_id)),
                    user=self.user))
        return {d for d in dag_ids if self._answers[d]}


class AirflowAccess(Access):
    """Viewers are Airflow users, resolved by Airflow's own ``get_user`` dependency
    (``Authorization: Bearer`` or the UI's ``_token`` cookie)."""

    kind = "airflow"

    @property
    def dependency(self) -> Callable[..., Viewer]:
        from airflow.api_fastapi.core_api.security import GetUserDep

        def airflow_viewer(user: GetUserDep) -> Viewer:
            return AirflowViewer(user)

        return airflow_viewer


class _HookCatalog:
    """``SteplineageHook().get_catalog()``, re-resolved at most once a minute (the
    connection may change; looking it up on every request would cost a DB query)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._at = 0.0

    def __call__(self) -> "Catalog":
        with self._lock:
            if self._catalog is None or time.monotonic() - self._at > CATALOG_TTL_SECONDS:
                from steplineage.airflow.hooks import SteplineageHook

                self._catalog = SteplineageHook().get_catalog()
                self._at = time.monotonic()
            return self._catalog


def build_airflow_app() -> "FastAPI":
    """The web app as mounted in Airflow (Airflow auth, hook catalog, links to Airflow).

    Example:
        >>> app = build_airflow_app()  # doctest: +SKIP
    """
    from steplineage.web.app import create_app

    return create_app(_HookCatalog(), AirflowAccess(), title="steplineage lineage",
                      airflow_ui=True)


class _LazyApp:
    """An ASGI app that builds the real one on first use.

    Every Airflow process imports plugins (task processes too, for listeners);
    only the API server ever serves this app, so FastAPI routes, Jinja2 and the
    templates are loaded there and nowhere else.
    """

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._app: Any = None
        self._lock = threading.Lock()

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
        await self._app(scope, receive, send)



class SteplineageUIPlugin(AirflowPlugin):
    """Lineage tabs (DAG, DAG run, task instance), a nav entry and the app behind them."""

    name = "steplineage_ui"
    fastapi_apps = [{"app": _LazyApp(build_airflow_app), "url_prefix": URL_PREFIX,
                     "name": "steplineage lineage"}]
    external_views = [
        {"name": "Lineage", "href": URL_PREFIX + "/dags/{DAG_ID}", "destination": "dag",
         "url_route": "lineage"},
        {"name": "Lineage", "href": URL_PREFIX + "/dags/{DAG_ID}/runs/{RUN_ID}",
         "destination": "dag_run", "url_route": "lineage-run"},
        {"name": "Lineage",
         # every try and map index of the task is listed ({MAP_INDEX} stays literal
         # on unmapped tasks in 3.3, so it is not part of the URL)
         "href": URL_PREFIX + "/dags/{DAG_ID}/runs/{RUN_ID}/tasks/{TASK_ID}",
         "destination": "task_instance", "url_route": "lineage-task"},
        {"name": "Lineage", "href": URL_PREFIX + "/", "destination": "nav",
         "url_route": "lineage-explorer", "category": "browse"},
    ]
