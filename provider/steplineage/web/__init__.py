"""The steplineage lineage web app (FastAPI): a JSON API and pages with an interactive graph.

Mounted two ways: inside Airflow's API server by the ``steplineage_ui`` plugin
(:mod:`steplineage.airflow.ui_plugin`), where Airflow's auth manager decides who
reads which DAG; or standalone with ``steplineage ui`` (127.0.0.1 by default,
optional token). Needs ``pip install 'steplineage[ui]'`` (or the airflow extra).

Example:
    >>> from steplineage.web import create_app  # doctest: +SKIP
    >>> app = create_app(lambda: sl.Catalog(), TokenAccess("s3cret"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steplineage.web.access import Access, TokenAccess, Viewer
    from steplineage.web.app import create_app

__all__ = ["Access", "TokenAccess", "Viewer", "create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI is an optional dependency: import it when the app is asked for, with advice.
    if name not in __all__:
        raise AttributeError(name)
    try:
        from steplineage.web import access, app
    except ImportError as exc:
        from steplineage.errors import ConfigurationError

        raise ConfigurationError(f"the lineage web app needs FastAPI and Jinja2 ({exc}): "
                                 "pip install 'steplineage[ui]'") from exc
    return getattr(app if name == "create_app" else access, name)
