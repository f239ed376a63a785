"""W3C PROV for a lineage graph, built with the ``prov`` package.

Mapping (``sl:`` is ``urn:steplineage:ns#``; each node keeps its steplineage id as
its qualified name, so ``execution:<id>`` is prefix ``execution`` + the catalog id):

=================  ==================================================================
steplineage        PROV
=================  ==================================================================
execution          ``prov:Activity`` with start/end time, ``sl:status``, orchestrator ids
version            ``prov:Entity`` (``prov:type sl:Version``) with ``sl:hash`` and ref
asset              ``prov:Entity`` (``sl:Asset``) with ``sl:sha256``, ``sl:md5``, length
dataset_version    ``prov:Entity`` + ``prov:Collection``; members via ``hadMember``
agent              ``prov:Agent`` typed ``prov:Person`` / ``Organization`` / ``SoftwareAgent``
used / code edge   ``used`` (code edges carry ``prov:role sl:code``)
generated edge     ``wasGeneratedBy``
associated edge    ``wasAssociatedWith``
(derived)          ``wasInformedBy(B, A)`` when B used or ran code that A generated;
                   ``wasDerivedFrom(out, in, exe)`` for each output and each data input
                   (not code) of the same execution
=================  ==================================================================

Derived relations are drawn only from edges present in the graph, so a depth-limited
graph yields the relations it can see.

Example:
    >>> doc = to_prov_document(cat.lineage.upstream("execution:..."))  # doctest: +SKIP
    >>> ProvDocument.deserialize(content=doc.serialize(format="json"), format="json") == doc  # doctest: +SKIP
    True
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prov.model import ProvDocument

    from steplineage.lineage.graph import LineageGraph, LineageNode

__all__ = ["SL_NAMESPACE", "to_prov_document", "to_prov_json", "to_prov_n"]

SL_NAMESPACE = "urn:steplineage:ns#"
_KIND_NAMESPACES = {kind: f"urn:steplineage:{kind}:" for kind in
                    ("execution", "version", "asset", "dataset_version", "agent")}
_ENTITY_TYPES = {"version": "Version", "asset": "Asset", "dataset_version": "DatasetVersion"}
_AGENT_TYPES = {"person": "Person", "organisation": "Organization", "service": "SoftwareAgent"}
# node attr -> PROV attribute local name (in sl:), by kind; None values are left out.
_ATTRS = {
    "execution": {"status": "status", "duration_seconds": "durationSeconds",
                  "workflow_id": "workflowId", "parent_id": "parentExecution",
                  "dag_id": "dagId", "run_id": "runId", "task_id": "taskId",
                  "map_index": "mapIndex", "try_number": "tryNumber",
                  "flow_run_id": "flowRunId", "task_run_id": "taskRunId"},
    "version": {"resource": "resource", "subpath": "subpath", "hash": "hash",
                "hash_kind": "hashKind", "length": "length", "created_at": "createdAt"},
    "asset": {"asset_table": "assetTable", "filename": "filename", "sha256": "sha256",
              "md5": "md5", "length": "length", "url": "url"},
    "dataset_version": {"dataset": "dataset", "version": "version",
                        "created_at": "createdAt"},
    "agent": {"agent_kind": "agentKind"},
}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    # SQLite hands back naive datetimes; the catalog stores UTC, so say so in PROV.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _attributes(node: LineageNode) -> dict[str, Any]:
    out: dict[str, Any] = {"prov:label": node.label}
    for key, name in _ATTRS[node.kind].items():
        value = node.attrs.get(key)
        if value is not None and value != "":
            out[f"sl:{name}"] = value
    if node.kind == "asset" and node.attrs.get("asset_types"):
        out["sl:assetTypes"] = ",".join(node.attrs["asset_types"])
    return out


def to_prov_document(graph: LineageGraph) -> ProvDocument:
    """A ``prov.model.ProvDocument`` holding the graph's nodes and relations.

    Example:
        >>> doc = to_prov_document(graph)  # doctest: +SKIP
        >>> print(doc.get_provn())  # doctest: +SKIP
    """
    from prov.model import PROV, PROV_ROLE, PROV_TYPE, Namespace, ProvDocument

    doc = ProvDocument()
    sl = Namespace("sl", SL_NAMESPACE)
    doc.add_namespace(sl)
    for prefix, uri in _KIND_NAMESPACES.items():
        if any(n.kind == prefix for n in graph.nodes):
            doc.add_namespace(prefix, uri)
    kinds = {n.id: n.kind for n in graph.nodes}
    for node in graph.nodes:
        attrs = _attributes(node)
        if node.kind == "execution":
            doc.activity(node.id, _time(node.attrs.get("start_time")),
                         _time(node.attrs.get("stop_time")), attrs)
        elif node.kind == "agent":
            agent_type = _AGENT_TYPES.get(str(node.attrs.get("agent_kind")))
            if agent_type:
                attrs[PROV_TYPE] = PROV[agent_type]
            doc.agent(node.id, attrs)
        else:
            types = [sl[_ENTITY_TYPES[node.kind]]]
            if node.kind == "dataset_version":
                types.append(PROV["Collection"])
            entity = doc.entity(node.id, attrs)
            entity.add_attributes([(PROV_TYPE, t) for t in types])

    inputs: dict[str, list[str]] = {}  # execution -> data entities it used
    readers: dict[str, list[str]] = {}  # entity -> executions that used it (data or code)
    writers: dict[str, list[str]] = {}  # entity -> executions that generated it
    outputs: dict[str, list[str]] = {}  # execution -> entities it generated
    for edge in graph.edges:
        if edge.source not in kinds or edge.target not in kinds:
            continue  # an edge to a node cut off by the cap has nothing to point at
        if edge.relation in ("used", "code"):
            extra = {PROV_ROLE: sl["code"]} if edge.relation == "code" else None
            doc.used(edge.target, edge.source, other_attributes=extra)
            readers.setdefault(edge.source, []).append(edge.target)
            if edge.relation == "used":
                inputs.setdefault(edge.target, []).append(edge.source)
        elif edge.relation == "generated":
            doc.wasGeneratedBy(edge.target, edge.source)
            writers.setdefault(edge.target, []).append(edge.source)
            outputs.setdefault(edge.source, []).append(edge.target)
        elif edge.relation == "associated":
            doc.wasAssociatedWith(edge.target, edge.source)
        elif edge.relation == "member":
            doc.hadMember(edge.target, edge.source)

    informed = sorted({(reader, writer) for entity, ws in writers.items()
                       for writer in ws for reader in readers.get(entity, ()) if reader != writer})
    for reader, writer in informed:
        doc.wasInformedBy(reader, writer)
    for execution, generated in outputs.items():
        for out in dict.fromkeys(generated):
            for used in dict.fromkeys(inputs.get(execution, ())):
                if used != out:
                    doc.wasDerivedFrom(out, used, execution)
    return doc


def to_prov_json(graph: LineageGraph, indent: int | None = 2) -> str:
    """PROV-JSON text (https://www.w3.org/submissions/prov-json/).

    Example:
        >>> from prov.model import ProvDocument
        >>> doc = ProvDocument.deserialize(content=to_prov_json(graph), format="json")  # doctest: +SKIP
    """
    return to_prov_document(graph).serialize(format="json", indent=indent)


def to_prov_n(graph: LineageGraph) -> str:
    """PROV-N text (https://www.w3.org/TR/prov-n/).

    Example:
        >>> print(to_prov_n(graph))  # doctest: +SKIP
        document ...
    """
    return to_prov_document(graph).get_provn()
