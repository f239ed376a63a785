"""A lineage graph as OpenLineage RunEvents (``LineageGraph.to_openlineage()``).

One event per execution in the graph, of the type its status ends in
(COMPLETE, FAIL, ABORT; START while it runs), with the ref versions it used as
inputs and those it generated as outputs (assets by their URL), the
``parent`` facet when the parent is in the graph, and ``steplineage_checksums``
for content hashes. Feeding the events to another steplineage catalog
(:func:`~steplineage.openlineage.ingest.ingest_events`) or to Marquez rebuilds
the same executions and edges.

Example:
    >>> events = cat.lineage.upstream("execution:" + exe.id).to_openlineage(  # doctest: +SKIP
    ...     resource_uris={r.name: r.uri for r in cat.list_resources()})
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from steplineage.openlineage.events import (PARENT_SCHEMA, RUN_EVENT_SCHEMA, VERSION_SCHEMA)
from steplineage.openlineage.facets import PRODUCER, checksums_facet
from steplineage.openlineage.naming import to_namespace_name

if TYPE_CHECKING:
    from steplineage.lineage.graph import LineageGraph, LineageNode

__all__ = ["graph_to_openlineage"]

_FINAL = {"completed": "COMPLETE", "failed": "FAIL", "aborted": "ABORT", "skipped": "ABORT"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _utc_iso(value: str | None) -> str | None:
    """The catalog keeps UTC; SQLite hands it back without an offset, OpenLineage wants one."""
    if value is None:
        return None
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def _dataset(node: LineageNode, resource_uris: dict[str, str]) -> dict[str, Any] | None:
    a = node.attrs
    facets: dict[str, Any] = {}
    if node.kind == "version":
        base = resource_uris.get(a.get("resource", ""))
        sub = a.get("subpath")
        uri = (f"{base.rstrip('/')}/{sub}" if sub else base) if base else node.label
        digest = a.get("hash")
        if digest:
            facets["version"] = {"_producer": PRODUCER, "_schemaURL": VERSION_SCHEMA,
                                 "datasetVersion": digest}
            if a.get("hash_kind") == "sha256" and _SHA256.match(digest):
                facets["steplineage_checksums"] = checksums_facet(digest, length=a.get("length"))
    elif node.kind == "asset":
        uri = a.get("url") or node.label
        facets["steplineage_checksums"] = checksums_facet(a["sha256"], md5=a.get("md5"),
                                                          length=a.get("length"))
    else:
        return None
    namespace, name = to_namespace_name(uri)
    return {"namespace": namespace, "name": name, "facets": facets}


def graph_to_openlineage(graph: LineageGraph, namespace: str = "steplineage",
                         resource_uris: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """RunEvents (JSON-able dicts) for the executions of ``graph``, oldest first.

    Args:
        namespace: job namespace of the events.
        resource_uris: resource name -> URI, to name datasets by location
            (default: by ``resource:subpath``).
    """
    uris = resource_uris or {}
    nodes = {n.id: n for n in graph.nodes}
    inputs: dict[str, list[str]] = {}
    outputs: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.relation == "used":
            inputs.setdefault(e.target, []).append(e.source)
        elif e.relation == "generated":
            outputs.setdefault(e.source, []).append(e.target)
    events = []
    for node in graph.of_kind("execution"):
        a = node.attrs
        at = _utc_iso(a.get("stop_time") or a.get("start_time") or a.get("created_at"))
        run_facets: dict[str, Any] = {}
        parent = nodes.get(f"execution:{a.get('parent_id')}")
        if parent is not None:
            run_facets["parent"] = {"_producer": PRODUCER, "_schemaURL": PARENT_SCHEMA,
                                    "run": {"runId": parent.catalog_id},
                                    "job": {"namespace": namespace, "name": parent.label}}
        datasets = [[d for d in (_dataset(nodes[i], uris) for i in ids if i in nodes) if d]
                    for ids in (inputs.get(node.id, []), outputs.get(node.id, []))]
        events.append({
            "eventType": _FINAL.get(a.get("status", ""), "START"), "eventTime": at,
            "producer": PRODUCER, "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": node.catalog_id, "facets": run_facets},
            "job": {"namespace": namespace, "name": node.label, "facets": {}},
            "inputs": datasets[0], "outputs": datasets[1]})
    return sorted(events, key=lambda ev: ev["eventTime"] or "")
