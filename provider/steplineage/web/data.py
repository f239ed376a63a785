"""What the lineage web app reads from the catalog, already filtered for one viewer.

Every function takes the :class:`~steplineage.web.access.Viewer` and applies
it in the query (lists) or on the result (graphs), so no route can forget to.
Queries are SQLAlchemy expressions with bound parameters; search terms are
matched with ``contains(..., autoescape=True)`` so ``%`` and ``_`` are literal.

Example:
    >>> from steplineage.web.access import AllowAll
    >>> page = list_executions(cat, AllowAll(), ExecutionFilter(dag_id="etl"), limit=20)  # doctest: +SKIP
    >>> page.total, [e.name for e in page.items]  # doctest: +SKIP
    (3, ['load', 'transform', 'extract'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from steplineage.store import orm
from steplineage.store.records import asset_record, execution_record, workflow_record
from steplineage.errors import NotFoundError
from steplineage.lineage.graph import LineageGraph, LineageGraphEdge, LineageNode
from steplineage.status import Status

from steplineage.web.access import Viewer

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.models import ExecutionRecord

__all__ = ["ExecutionFilter", "ExecutionPage", "dag_runs", "dag_summaries", "execution_detail",
           "latest_run_id", "lineage_graph", "list_executions", "merge_graphs", "redact",
           "run_graph", "search"]

Direction = Literal["upstream", "downstream", "both"]
HIDDEN_LABEL = "hidden execution"
#: children of one execution whose lineage is merged into its own (bounded: a huge
#: mapped task would otherwise mean thousands of walks per request).
_MAX_CHILDREN = 200


@dataclass(frozen=True)
class ExecutionFilter:
    """Filters of the executions list; None means "any"."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    parent_id: str | None = None
    top_level: bool = False


@dataclass
class ExecutionPage:
    """One page of executions and the total that matched."""

    total: int
    items: list[ExecutionRecord] = field(default_factory=list)


def _visible(cat: Catalog, viewer: Viewer) -> ColumnElement[bool]:
    """The SQL condition "this viewer may read the execution's DAG".

    The candidates are the DAG ids the catalog knows (one index scan), so a DAG
    Airflow no longer lists is judged exactly as a direct request for it would be.
    """
    if type(viewer).filter_dags is Viewer.filter_dags:  # reads everything: skip the scan
        return true()
    with cat.session() as s:
        known = set(s.scalars(select(orm.Execution.dag_id).where(
            orm.Execution.dag_id.is_not(None)).distinct()))
    readable = viewer.filter_dags(known)
    if readable is None:
        return true()
    undagged = orm.Execution.dag_id.is_(None) if viewer.can_read(None) else false()
    if not readable:
        return undagged
    return or_(orm.Execution.dag_id.in_(sorted(readable)), undagged)


def _where(f: ExecutionFilter) -> list[ColumnElement[bool]]:
    e = orm.Execution
    clauses: list[ColumnElement[bool]] = []
    for column, value in ((e.dag_id, f.dag_id), (e.run_id, f.run_id), (e.task_id, f.task_id),
                          (e.parent_id, f.parent_id)):
        if value is not None:
            clauses.append(column == value)
    if f.status is not None:
        clauses.append(e.status == Status(f.status).value)
    if f.since is not None:
        clauses.append(e.created_at >= _naive_utc(f.since))
    if f.until is not None:
        clauses.append(e.created_at <= _naive_utc(f.until))
    if f.text:
        clauses.append(e.name.contains(f.text, autoescape=True))
    if f.top_level:
        clauses.append(e.parent_id.is_(None))
    return clauses


def _naive_utc(value: datetime) -> datetime:
    # The catalog stores naive UTC; an aware bound is converted, a naive one taken as UTC.
    from datetime import timezone

    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def list_executions(cat: Catalog, viewer: Viewer, f: ExecutionFilter, limit: int = 50,
                    offset: int = 0) -> ExecutionPage:
    """Executions matching ``f`` that ``viewer`` may read, newest first, one page.

    Example:
        >>> list_executions(cat, viewer, ExecutionFilter(status=Status.failed), 10, 0).total  # doctest: +SKIP
        2
    """
    clauses = [_visible(cat, viewer), *_where(f)]
    with cat.session() as s:
        total = s.scalar(select(func.count()).select_from(orm.Execution).where(*clauses)) or 0
        rows = s.scalars(select(orm.Execution).where(*clauses)
                         .options(selectinload(orm.Execution.history))
                         .order_by(orm.Execution.created_at.desc(), orm.Execution.id)
                         .limit(limit).offset(offset))
        return ExecutionPage(total=total, items=[execution_record(r) for r in rows])


def dag_summaries(cat: Catalog, viewer: Viewer) -> list[dict[str, Any]]:
    """One row per DAG with recorded executions the viewer may read.

    Example:
        >>> dag_summaries(cat, viewer)[0]["dag_id"]  # doctest: +SKIP
        'steplineage_etl'
    """
    e = orm.Execution
    with cat.session() as s:
        rows = s.execute(
            select(e.dag_id, func.count(), func.count(func.distinct(e.run_id)),
                   func.max(e.created_at))
            .where(e.dag_id.is_not(None), _visible(cat, viewer)).group_by(e.dag_id)
            .order_by(e.dag_id)).all()
    return [{"dag_id": dag_id, "executions": n, "runs": runs,
             "last_at": last.isoformat() if last else None} for dag_id, n, runs, last in rows]


def latest_run_id(cat: Catalog, dag_id: str) -> str | None:
    """The run id of the newest recorded execution of ``dag_id``."""
    with cat.session() as s:
        return s.scalars(select(orm.Execution.run_id)
                         .where(orm.Execution.dag_id == dag_id, orm.Execution.run_id.is_not(None))
                         .order_by(orm.Execution.created_at.desc()).limit(1)).first()


def _summary(row: orm.Execution) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "status": row.status,
            "created_at": row.created_at.isoformat(),
            "duration_seconds": row.duration_seconds, "dag_id": row.dag_id,
            "run_id": row.run_id, "task_id": row.task_id, "map_index": row.map_index,
            "try_number": row.try_number}


def execution_detail(cat: Catalog, viewer: Viewer, execution_id: str) -> dict[str, Any]:
    """Everything the execution page shows: record, history, workflow, parent, children,
    inputs/outputs/code with versions and checksums, and asset files.

    Raises:
        NotFoundError: no such execution.
        HTTPException(403): the viewer may not read its DAG.

    Example:
        >>> execution_detail(cat, viewer, exe.id)["outputs"][0]["hash"]  # doctest: +SKIP
        '9f86d08...'
    """
    with cat.session() as s:
        row = s.get(orm.Execution, execution_id)
        if row is None:
            raise NotFoundError(f"no execution with id {execution_id!r}")
        viewer.require(row.dag_id)
        record = execution_record(row)
        workflow = s.get(orm.Workflow, row.workflow_id) if row.workflow_id else None
        parent = s.get(orm.Execution, row.parent_id) if row.parent_id else None
        children = s.scalars(select(orm.Execution).where(orm.Execution.parent_id == row.id)
                             .order_by(orm.Execution.created_at, orm.Execution.id)).all()
        edge_rows = s.execute(
            select(orm.LineageEdge, orm.Resource.name, orm.Version)
            .outerjoin(orm.Resource, orm.Resource.id == orm.LineageEdge.resource_id)
            .outerjoin(orm.Version, orm.Version.id == orm.LineageEdge.version_id)
            .where(orm.LineageEdge.execution_id == row.id)
            .order_by(orm.LineageEdge.role, orm.LineageEdge.created_at, orm.LineageEdge.id)).all()
        asset_ids = [edge.asset_id for edge, _, _ in edge_rows if edge.asset_id]
        assets = {a.id: asset_record(a) for a in s.scalars(
            select(orm.Asset).where(orm.Asset.id.in_(asset_ids)))} if asset_ids else {}
        edges: dict[str, list[dict[str, Any]]] = {"input": [], "output": [], "code": []}
        for edge, resource, version in edge_rows:
            item: dict[str, Any] = {"role": edge.role, "valid": edge.valid,
                                    "recorded_at": edge.created_at.isoformat()}
            if edge.resource_id is not None:
                item.update(kind="version", ref=resource + (f":{edge.subpath}" if edge.subpath
                                                            else ""),
                            node=f"version:{version.id}" if version else None,
                            hash=version.hash if version else None,
                            hash_kind=version.kind if version else None,
                            length=version.length if version else None)
            elif edge.asset_id is not None:
                asset = assets.get(edge.asset_id)
                item.update(kind="asset", node=f"asset:{edge.asset_id}",
                            asset=asset.model_dump(mode="json") if asset else None)
            else:
                item.update(kind="dataset_version", node=f"dataset_version:{edge.dataset_version_id}")
            edges.setdefault(edge.role, []).append(item)
        hidden_children = [c for c in children if not viewer.can_read(c.dag_id)]
        return {
            "execution": record.model_dump(mode="json"),
            "node": f"execution:{row.id}",
            "workflow": workflow_record(workflow).model_dump(mode="json") if workflow else None,
            "parent": _summary(parent) if parent is not None and viewer.can_read(parent.dag_id)
            else None,
            "children": [_summary(c) for c in children if c not in hidden_children],
            "hidden_children": len(hidden_children),
            "inputs": edges["input"], "outputs": edges["output"], "code": edges["code"],
            "assets": [a.model_dump(mode="json") for a in assets.values()],
        }


def merge_graphs(graphs: Iterable[LineageGraph], root: str | None = None) -> LineageGraph:
    """The union of several graphs (nodes at their smallest depth, edges once).

    Example:
        >>> merge_graphs([cat.lineage.upstream(n, 1), cat.lineage.downstream(n, 1)], n)  # doctest: +SKIP
    """
    nodes: dict[str, LineageNode] = {}
    edges: dict[tuple[str, str, str], LineageGraphEdge] = {}
    partial = False
    for g in graphs:
        partial = partial or g.partial
        for n in g.nodes:
            if n.id not in nodes or n.depth < nodes[n.id].depth:
                nodes[n.id] = n
        for e in g.edges:
            edges[(e.source, e.target, e.relation)] = e
    ordered = sorted(nodes.values(), key=lambda n: (n.depth, n.kind, n.label, n.id))
    return LineageGraph(root=root, direction="both", nodes=ordered, edges=list(edges.values()),
                        partial=partial)


def lineage_graph(cat: Catalog, node: str, direction: Direction, depth: int | None,
                  max_nodes: int) -> LineageGraph:
    """The lineage of one node in one direction, or both merged.

    An execution with children (a DAG run, a pipeline) has no data edges of its
    own; its lineage is its steps', so the children's walks are merged in.

    Raises:
        NotFoundError: no such node.
    """
    root = cat.lineage.resolve_node(node)
    starts = [root]
    if root.startswith("execution:"):
        with cat.session() as s:
            starts += [f"execution:{c}" for c in s.scalars(
                select(orm.Execution.id).where(orm.Execution.parent_id == root.partition(":")[2])
                .order_by(orm.Execution.created_at, orm.Execution.id).limit(_MAX_CHILDREN))]
    graphs = []
    for start in starts:
        if direction in ("upstream", "both"):
            graphs.append(cat.lineage.upstream(start, depth, max_nodes))
        if direction in ("downstream", "both"):
            graphs.append(cat.lineage.downstream(start, depth, max_nodes))
    if len(graphs) == 1:
        return graphs[0]
    merged = merge_graphs(graphs, root)
    if direction != "both":
        merged = merged.model_copy(update={"direction": direction})
    return _cap(merged, max_nodes)


def _cap(graph: LineageGraph, max_nodes: int) -> LineageGraph:
    """At most ``max_nodes`` nodes (nearest first); partial when some were dropped."""
    if len(graph.nodes) <= max_nodes:
        return graph
    keep = {n.id for n in graph.nodes[:max_nodes]}
    return graph.model_copy(update={
        "nodes": [n for n in graph.nodes if n.id in keep],
        "edges": [e for e in graph.edges if e.source in keep and e.target in keep],
        "partial": True})


def run_graph(cat: Catalog, dag_id: str, run_id: str, depth: int, max_nodes: int,
              task_id: str | None = None) -> LineageGraph:
    """The lineage around one DAG run (or one task of it): every task execution's
    inputs and outputs, ``depth`` hops both ways, merged into one graph.

    Raises:
        NotFoundError: the catalog has no execution of that run (or task).
    """
    f = orm.Execution
    query = select(f.id).where(f.dag_id == dag_id, f.run_id == run_id)
    query = query.where(f.task_id == task_id) if task_id else query.where(f.task_id.is_not(None))
    with cat.session() as s:
        ids = list(s.scalars(query.order_by(f.created_at, f.id)))
        if not ids and task_id is None:  # a run with only its DAG-run execution recorded
            ids = list(s.scalars(select(f.id).where(f.dag_id == dag_id, f.run_id == run_id)))
    if not ids:
        what = f"task {task_id!r} of " if task_id else ""
        raise NotFoundError(f"the catalog has no execution of {what}run {run_id!r} of DAG "
                            f"{dag_id!r}: is the task tracked by steplineage?")
    graphs = []
    for exe_id in ids:
        node = f"execution:{exe_id}"
        graphs += [cat.lineage.upstream(node, depth, max_nodes),
                   cat.lineage.downstream(node, depth, max_nodes)]
    return _cap(merge_graphs(graphs, f"execution:{ids[-1]}" if task_id else None), max_nodes)


def redact(graph: LineageGraph, viewer: Viewer) -> tuple[LineageGraph, int]:
    """The graph with executions of unreadable DAGs reduced to an anonymous node.

    Their place in the lineage stays visible (data flowed through *something*)
    but name, status, parameters and Airflow identity are gone.

    Example:
        >>> graph, hidden = redact(cat.lineage.upstream(node), viewer)  # doctest: +SKIP
    """
    hidden = 0
    nodes = []
    for n in graph.nodes:
        if n.kind == "execution" and not viewer.can_read(n.attrs.get("dag_id")):
            hidden += 1
            n = LineageNode(id=n.id, kind=n.kind, label=HIDDEN_LABEL, depth=n.depth,
                            attrs={"status": "hidden"})
        nodes.append(n)
    if not hidden:
        return graph, 0
    return graph.model_copy(update={"nodes": nodes}), hidden


def search(cat: Catalog, viewer: Viewer, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Nodes whose name (resource, path, asset file, execution) contains ``text``,
    or whose checksum starts with it.

    Example:
        >>> [r["label"] for r in search(cat, viewer, "orders")]  # doctest: +SKIP
        ['etl_files:staging/raw_orders.csv', 'extract']
    """
    text = text.strip()
    if not text:
        return []
    found: list[dict[str, Any]] = []
    with cat.session() as s:
        v, r = orm.Version, orm.Resource
        seen: set[tuple[str, str]] = set()
        for version, name in s.execute(
                select(v, r.name).join(r, r.id == v.resource_id)
                .where(or_(r.name.contains(text, autoescape=True),
                           v.subpath.contains(text, autoescape=True),
                           v.hash.startswith(text.lower(), autoescape=True)))
                .order_by(v.created_at.desc()).limit(limit * 5)):
            if (name, version.subpath) in seen:  # newest version of each ref only
                continue
            seen.add((name, version.subpath))
            found.append({"node": f"version:{version.id}", "kind": "version",
                          "label": name + (f":{version.subpath}" if version.subpath else ""),
                          "detail": version.hash})
        for asset in s.scalars(
                select(orm.Asset).where(or_(orm.Asset.filename.contains(text, autoescape=True),
                                            orm.Asset.asset_table.contains(text, autoescape=True),
                                            orm.Asset.sha256.startswith(text.lower(),
                                                                        autoescape=True)))
                .order_by(orm.Asset.created_at.desc()).limit(limit)):
            found.append({"node": f"asset:{asset.id}", "kind": "asset",
                          "label": f"{asset.asset_table}/{asset.filename}", "detail": asset.sha256})
        for exe in s.scalars(
                select(orm.Execution).where(
                    and_(_visible(cat, viewer), or_(orm.Execution.name.contains(text, autoescape=True),
                                               orm.Execution.id.startswith(text, autoescape=True))))
                .order_by(orm.Execution.created_at.desc()).limit(limit)):
            found.append({"node": f"execution:{exe.id}", "kind": "execution", "label": exe.name,
                          "detail": " ".join(str(p) for p in (exe.status, exe.dag_id, exe.run_id)
                                             if p)})
    return found[:limit * 3]


def dag_runs(cat: Catalog, dag_id: str, limit: int = 25) -> list[dict[str, Any]]:
    """The newest recorded runs of a DAG: run id, first record time, executions, failures.

    Example:
        >>> dag_runs(cat, "steplineage_etl")[0]["run_id"]  # doctest: +SKIP
        'manual__2024-06-01T00:00:00+00:00'
    """
    e = orm.Execution
    failed = func.sum(case((e.status.in_(["failed", "aborted"]), 1), else_=0))
    with cat.session() as s:
        rows = s.execute(
            select(e.run_id, func.min(e.created_at), func.count(), failed)
            .where(e.dag_id == dag_id, e.run_id.is_not(None)).group_by(e.run_id)
            .order_by(func.max(e.created_at).desc()).limit(limit)).all()
    return [{"run_id": run_id, "started": first.isoformat() if first else None,
             "executions": n, "failed": int(bad or 0)} for run_id, first, n, bad in rows]
