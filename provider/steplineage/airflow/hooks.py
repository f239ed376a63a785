"""``SteplineageHook``: the catalog for Airflow code, configured by an Airflow connection.

The connection type ``steplineage`` has form fields for the catalog URL, the
object store URL, strict mode and the timeout; its password (if any) is put
into the catalog URL. Without a connection the hook falls back to the
``[steplineage]`` config section, then ``STEPLINEAGE_*`` environment variables,
then the embedded SQLite catalog (see :mod:`steplineage.airflow.conf`). The
catalog is never reached through Airflow's metadata database.

Example:
    >>> hook = SteplineageHook()  # doctest: +SKIP
    >>> hook.get_catalog().create_asset_table("Model", "Trained models")  # doctest: +SKIP
    'Model'
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from steplineage.airflow import conf
from steplineage.airflow.provider_info import CONNECTION_TYPE, DEFAULT_CONN_ID
from steplineage.settings import Settings

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["SteplineageHook", "catalog_for", "close_catalogs"]

log = logging.getLogger(__name__)

# One catalog per distinct settings per process: engines and hash caches are
# expensive, and a task process asks for the catalog several times.
_CATALOGS: dict[str, Catalog] = {}
_CATALOGS_LOCK = threading.Lock()


def catalog_for(settings: Settings) -> Catalog:
    """The process-wide catalog for these settings (made on first use).

    A catalog that cannot be opened is not cached, so the next call retries.

    Example:
        >>> from steplineage.settings import Settings
        >>> s = Settings(home="/tmp/sl-doc")
        >>> catalog_for(s) is catalog_for(s)  # doctest: +SKIP
        True
    """
    from steplineage.catalog.catalog import Catalog

    key = settings.model_dump_json()
    with _CATALOGS_LOCK:
        cat = _CATALOGS.get(key)
        if cat is None:
            cat = Catalog(settings=settings)
            _CATALOGS[key] = cat
        return cat


class SteplineageHook(BaseHook):
    """Builds a :class:`steplineage.Catalog` from an Airflow connection.

    Args:
        steplineage_conn_id: the connection; default ``[steplineage] conn_id`` or
            ``steplineage_default``. A missing connection is not an error: the
            config section, the environment and the embedded default apply.
        catalog_url, object_store, strict, timeout_seconds: override the
            connection for this hook.

    Example:
        >>> SteplineageHook(strict=True).get_settings().strict  # doctest: +SKIP
        True
    """

    conn_name_attr = "steplineage_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONNECTION_TYPE
    hook_name = "steplineage catalog"

    def __init__(self, steplineage_conn_id: str | None = None, *, catalog_url: str | None = None,
                 object_store: str | None = None, strict: bool | None = None,
                 timeout_seconds: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steplineage_conn_id = steplineage_conn_id or conf.conn_id()
        self._overrides: dict[str, Any] = {"catalog_url": catalog_url,
                                           "object_store": object_store, "strict": strict,
                                           "timeout_seconds": timeout_seconds}
        self._settings: Settings | None = None

    def get_settings(self) -> Settings:
        """The resolved settings (connection → config section → environment → default).

        Example:
            >>> SteplineageHook("no_such_conn").get_settings().catalog_url is None  # doctest: +SKIP
            True
        """
        if self._settings is None:
            extras: dict[str, Any] = {}
            password = None
            conn = self._find_connection()
            if conn is not None:
                extras = conf.connection_extras(conn)
                password = conn.password
            self._settings = conf.settings_from(extras, password, **self._overrides)
        return self._settings

    def _find_connection(self) -> Any:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return self.get_connection(self.steplineage_conn_id)
        except AirflowNotFoundException:
            # The usual case for the embedded catalog: nothing configured in Airflow.
            log.debug("steplineage: no connection %r; using [steplineage] config, environment "
                      "and defaults", self.steplineage_conn_id)
            return None

    def get_catalog(self) -> Catalog:
        """The catalog (shared within this process for identical settings).

        Raises:
            CatalogURLError, CatalogSchemaError: bad URL, or a server catalog that
                needs ``steplineage db upgrade``.
            CatalogUnavailableError: the catalog database is unreachable.

        Example:
            >>> SteplineageHook().get_catalog().list_executions(limit=1)  # doctest: +SKIP
            []
        """
        return catalog_for(self.get_settings())

    def get_conn(self) -> Catalog:
        """Airflow's generic accessor; the same as :meth:`get_catalog`.

        Example:
            >>> SteplineageHook().get_conn()  # doctest: +SKIP
        """
        return self.get_catalog()

    def test_connection(self) -> tuple[bool, str]:
        """Open the catalog and read from it (the connection form's *Test* button).

        Example:
            >>> SteplineageHook().test_connection()  # doctest: +SKIP
            (True, 'catalog sqlite:////home/me/.steplineage/catalog.db is reachable')
        """
        try:
            cat = self.get_catalog()
            cat.list_executions(limit=1)
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"catalog {cat.store.identity} is reachable"


def close_catalogs() -> None:
    """Close every catalog this process opened through the hook (tests, long-lived workers).

    Example:
        >>> close_catalogs()
    """
    with _CATALOGS_LOCK:
        catalogs = list(_CATALOGS.values())
        _CATALOGS.clear()
    for cat in catalogs:
        cat.close()
