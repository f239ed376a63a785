"""What Airflow's providers manager learns about steplineage (``apache_airflow_provider``).

This module must stay importable without Airflow's heavy parts: the providers
manager calls :func:`get_provider_info` in every Airflow process.

Example:
    >>> from steplineage.airflow.provider_info import get_provider_info
    >>> get_provider_info()["package-name"]
    'steplineage'
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONNECTION_TYPE", "DEFAULT_CONN_ID", "get_provider_info"]

CONNECTION_TYPE = "steplineage"
DEFAULT_CONN_ID = "steplineage_default"


def _option(description: str, type_: str, default: str | None, example: str | None = None
            ) -> dict[str, Any]:
    return {"description": description, "version_added": None, "type": type_,
            "example": example, "default": default}


def get_provider_info() -> dict[str, Any]:
    """The provider description Airflow reads through the ``apache_airflow_provider`` entry point.

    ``package-name`` must equal the distribution name (``steplineage``), or
    Airflow refuses the provider.

    Example:
        >>> [d["name"] for d in get_provider_info()["task-decorators"]]
        ['steplineage']
    """
    from steplineage import __version__

    return {
        "package-name": "steplineage",
        "name": "steplineage",
        "description": "Step-level execution provenance and data lineage: every task try becomes "
                       "an execution in a steplineage catalog.",
        "versions": [__version__],
        "integrations": [{"integration-name": "steplineage",
                          "external-doc-url": "https://github.com/steplineage/steplineage",
                          "tags": ["software"]}],
        "operators": [{"integration-name": "steplineage",
                       "python-modules": ["steplineage.airflow.operators"]}],
        "hooks": [{"integration-name": "steplineage",
                   "python-modules": ["steplineage.airflow.hooks"]}],
        "connection-types": [{
            "connection-type": CONNECTION_TYPE,
            "hook-class-name": "steplineage.airflow.hooks.SteplineageHook",
            "hook-name": "steplineage catalog",
            # Declarative form (the hook methods for forms are deprecated since Airflow 3.2).
            "ui-field-behaviour": {
                "hidden-fields": ["host", "schema", "port", "login", "extra"],
                "relabeling": {"password": "Catalog database password"},
                "placeholders": {"password": "only if the catalog URL needs one; kept masked"},
            },
            "conn-fields": {
                "catalog_url": {
                    "label": "Catalog URL",
                    "description": "SQLAlchemy URL of the catalog, e.g. "
                                   "postgresql+psycopg://user@db:5432/steplineage. Empty: the "
                                   "embedded SQLite at $STEPLINEAGE_HOME/catalog.db.",
                    "schema": {"type": ["string", "null"]},
                },
                "object_store": {
                    "label": "Object store URL",
                    "description": "fsspec URL for asset files, e.g. s3://bucket/steplineage. "
                                   "Empty: file://$STEPLINEAGE_HOME/objects.",
                    "schema": {"type": ["string", "null"]},
                },
                "strict": {
                    "label": "Strict mode",
                    "description": "Fail the task when tracking fails (default: the task goes "
                                   "on untracked).",
                    "schema": {"type": ["boolean", "null"], "default": False},
                },
                "timeout_seconds": {
                    "label": "Timeout (seconds)",
                    "description": "Longest a catalog connection attempt may take.",
                    "schema": {"type": ["number", "null"]},
                },
            },
        }],
        "task-decorators": [{"name": "steplineage",
                             "class-name": "steplineage.airflow.decorators.steplineage_task"}],
        "plugins": [{"name": "steplineage",
                     "plugin-class": "steplineage.airflow.plugin.SteplineagePlugin"}],
        "config": {
            "steplineage": {
                "description": "steplineage: where the catalog is and what the listener records. "
                               "Empty options fall back to STEPLINEAGE_* environment variables.",
                "options": {
                    "conn_id": _option("Connection holding the catalog settings.", "string",
                                       DEFAULT_CONN_ID),
                    "catalog_url": _option("Catalog URL used when the connection does not exist.",
                                           "string", "", "sqlite:////data/steplineage/catalog.db"),
                    "object_store": _option("Object store URL used when the connection does not "
                                            "exist.", "string", "", "s3://bucket/steplineage"),
                    "strict": _option("Fail tasks whose tracking fails (True/False; empty: "
                                      "STEPLINEAGE_STRICT or False).", "boolean", "", "True"),
                    "timeout_seconds": _option("Longest a catalog connection attempt may take.",
                                               "float", "", "5"),
                    "track_all_tasks": _option(
                        "Record every task of every DAG through the listener, not only tasks "
                        "built with TrackedPythonOperator, @task.steplineage or track().",
                        "boolean", "False", "True"),
                },
            },
        },
    }
