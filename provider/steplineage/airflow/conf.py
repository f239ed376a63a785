"""The ``[steplineage]`` Airflow config section and catalog settings, resolved in one place.

Precedence, first match wins (the Airflow row of :mod:`steplineage.settings`):

1. arguments given in code (``TrackedPythonOperator(strict=True)``, hook arguments);
2. the Airflow connection (``steplineage_default`` unless ``[steplineage] conn_id`` or
   the task names another): extras ``catalog_url``, ``object_store``, ``strict``,
   ``timeout_seconds``; its password is put into the catalog URL;
3. the ``[steplineage]`` section of the Airflow config
   (``AIRFLOW__STEPLINEAGE__CATALOG_URL`` ...);
4. ``STEPLINEAGE_*`` environment variables;
5. the embedded default (SQLite under ``$STEPLINEAGE_HOME``).

Airflow's metadata database is never used for the catalog: task processes may
not reach it, and the catalog has its own lifecycle.

Example:
    >>> from steplineage.airflow.conf import settings_from
    >>> settings_from(extras={"catalog_url": "sqlite:////tmp/c.db"}).catalog_url
    'sqlite:////tmp/c.db'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from steplineage.airflow.provider_info import DEFAULT_CONN_ID
from steplineage.settings import Settings, get_settings

if TYPE_CHECKING:
    from airflow.sdk import Connection

__all__ = ["SECTION", "config_option", "conn_id", "settings_from", "track_all_tasks"]

log = logging.getLogger(__name__)

SECTION = "steplineage"
#: Options of the connection and of the config section that map onto Settings fields.
_SETTING_KEYS = ("catalog_url", "object_store", "strict", "timeout_seconds")


def config_option(key: str) -> str | None:
    """``[steplineage] <key>`` from the Airflow config, or None when unset or empty.

    Example:
        >>> config_option("no_such_option") is None
        True
    """
    conf = _airflow_conf()
    try:
        value = conf.get(SECTION, key, fallback=None)
    except Exception:  # noqa: BLE001 - a broken config must not break the task
        log.debug("steplineage: cannot read [%s] %s", SECTION, key, exc_info=True)
        return None
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _airflow_conf() -> Any:
    # The SDK's conf works in task processes; core's in the scheduler when the SDK's is absent.
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # pragma: no cover - older layouts
        from airflow.configuration import conf
    return conf


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


def conn_id() -> str:
    """The default connection id: ``[steplineage] conn_id`` or ``steplineage_default``.

    Example:
        >>> conn_id()  # doctest: +SKIP
        'steplineage_default'
    """
    return config_option("conn_id") or DEFAULT_CONN_ID


def track_all_tasks() -> bool:
    """Whether the listener records every task (``[steplineage] track_all_tasks``).

    Example:
        >>> track_all_tasks()  # doctest: +SKIP
        False
    """
    return _truthy(config_option("track_all_tasks"))


def connection_extras(conn: Connection) -> dict[str, Any]:
    """The steplineage fields of a connection's extras (plain or ``extra__steplineage__`` keys).

    Example:
        >>> from types import SimpleNamespace
        >>> connection_extras(SimpleNamespace(extra_dejson={"extra__steplineage__strict": True}))
        {'strict': True}
    """
    raw: Mapping[str, Any] = getattr(conn, "extra_dejson", None) or {}
    found: dict[str, Any] = {}
    for key in _SETTING_KEYS:
        for candidate in (key, f"extra__steplineage__{key}"):
            value = raw.get(candidate)
            if value is not None and value != "":
                found[key] = value
                break
    return found


def settings_from(extras: Mapping[str, Any] | None = None, password: str | None = None,
                  **overrides: Any) -> Settings:
    """Settings from code overrides, connection extras, the config section and the environment.

    Args:
        extras: the connection's steplineage fields (see :func:`connection_extras`).
        password: the connection's password, put into the catalog URL if it has none.
        overrides: explicit values (``None`` means "not given").

    Example:
        >>> settings_from({"strict": "true"}).strict
        True
    """
    merged: dict[str, Any] = {}
    for key in _SETTING_KEYS:
        for source in (overrides.get(key), (extras or {}).get(key), config_option(key)):
            if source is not None:
                merged[key] = source
                break
    for key, value in overrides.items():
        if key not in _SETTING_KEYS and value is not None:
            merged[key] = value
    if password and merged.get("catalog_url"):
        from steplineage.store.engine import url_with_password

        merged["catalog_url"] = url_with_password(str(merged["catalog_url"]), password)
    return get_settings(**merged)
