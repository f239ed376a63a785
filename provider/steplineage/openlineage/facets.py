"""steplineage's custom OpenLineage facets, with their JSON schemas shipped in the package.

OpenLineage requires a custom facet's key to carry a prefix (ours is
``steplineage_``) and its ``_schemaURL`` to name the schema of its shape. The
schemas live in ``steplineage/openlineage/schemas/``; the URL is their
identity (consumers such as Marquez do not fetch it), versioned per facet.

* ``steplineage_checksums`` (dataset facet): sha256, md5, length of the version read or written;
* ``steplineage_metrics`` (run facet): the metrics the execution logged;
* ``steplineage_execution`` (run facet): name, workflow, exact status and orchestrator identity.

Example:
    >>> checksums_facet("ab" * 32, length=3)["sha256"] == "ab" * 32
    True
    >>> sorted(schema_files())
    ['ChecksumsDatasetFacet', 'ExecutionRunFacet', 'MetricsRunFacet']
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["CHECKSUMS", "EXECUTION", "METRICS", "PRODUCER", "checksums_facet", "execution_facet",
           "load_schema", "metrics_facet", "schema_files"]

#: identifies steplineage as the producer of events and facets
PRODUCER = "https://github.com/steplineage/steplineage/tree/0.1.0"
_BASE = "https://steplineage.io/spec/facets/1-0-0"

CHECKSUMS = "steplineage_checksums"
METRICS = "steplineage_metrics"
EXECUTION = "steplineage_execution"

_SCHEMAS = {CHECKSUMS: "ChecksumsDatasetFacet", METRICS: "MetricsRunFacet",
            EXECUTION: "ExecutionRunFacet"}


def _schema_url(key: str) -> str:
    name = _SCHEMAS[key]
    return f"{_BASE}/{name}.json#/$defs/{name}"


def _base(key: str) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": _schema_url(key)}


def checksums_facet(sha256: str, md5: str | None = None, length: int | None = None
                    ) -> dict[str, Any]:
    """The ``steplineage_checksums`` dataset facet.

    Example:
        >>> checksums_facet("0" * 64, md5="1" * 32)["md5"]
        '11111111111111111111111111111111'
    """
    facet = _base(CHECKSUMS) | {"sha256": sha256}
    if md5 is not None:
        facet["md5"] = md5
    if length is not None:
        facet["length"] = length
    return facet


def metrics_facet(metrics: dict[str, Any]) -> dict[str, Any]:
    """The ``steplineage_metrics`` run facet.

    Example:
        >>> metrics_facet({"rows": 3})["metrics"]
        {'rows': 3}
    """
    return _base(METRICS) | {"metrics": metrics}


def execution_facet(name: str, workflow: str, workflow_type: str, status: str, message: str,
                    orchestrator: dict[str, Any] | None) -> dict[str, Any]:
    """The ``steplineage_execution`` run facet.

    Example:
        >>> execution_facet("clean", "etl", "script", "running", "", None)["status"]
        'running'
    """
    facet = _base(EXECUTION) | {"name": name, "workflow": workflow,
                                "workflowType": workflow_type, "status": status,
                                "message": message}
    if orchestrator:
        facet["orchestrator"] = orchestrator
    return facet


def schema_files() -> dict[str, str]:
    """Schema name -> path inside the installed package, for every custom facet."""
    folder = resources.files("steplineage.openlineage") / "schemas"
    return {name: str(folder / f"{name}.json") for name in _SCHEMAS.values()}


def load_schema(name: str) -> dict[str, Any]:
    """One of our facet schemas (e.g. ``"ChecksumsDatasetFacet"``) as a dict.

    Example:
        >>> load_schema("MetricsRunFacet")["$id"].endswith("MetricsRunFacet.json")
        True
    """
    folder = resources.files("steplineage.openlineage") / "schemas"
    return json.loads((folder / f"{name}.json").read_text())
