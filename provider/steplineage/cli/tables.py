"""Terminal views of the catalog: the rich tables and panels the commands print.

Example:
    >>> from rich.console import Console
    >>> Console().print(executions_table(cat.list_executions()))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from steplineage.models import AssetRecord, ExecutionRecord, LineageEdgeRecord

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.lineage.graph import LineageGraph, LineageNode
    from steplineage.lineage.impact import StaleExecution

__all__ = ["edges_table", "execution_panel", "executions_table", "history_table",
           "lineage_table", "results_tables", "stale_table", "status_tables"]

_STATUS_STYLE = {"completed": "green", "failed": "red", "aborted": "red", "skipped": "yellow",
                 "running": "cyan", "uploading": "cyan", "initializing": "cyan",
                 "created": "white"}


def _status(value: str) -> Text:
    return Text(value, style=_STATUS_STYLE.get(value, ""))


def executions_table(records: Sequence[ExecutionRecord], title: str = "Executions") -> Table:
    """One row per execution: id, name, status, duration, parent, metrics.

    Example:
        >>> Console().print(executions_table(cat.list_executions(limit=10)))  # doctest: +SKIP
    """
    table = Table(title=title)
    for column in ("id", "name", "status", "duration", "parent", "message", "metrics"):
        table.add_column(column, overflow="fold",
                         no_wrap=column in ("id", "status", "duration", "parent"))
    for r in records:
        duration = f"{r.duration_seconds:.3f}s" if r.duration_seconds is not None else ""
        metrics = ", ".join(f"{k}={v}" for k, v in sorted(r.metrics.items()))
        table.add_row(r.id[:8], r.name, _status(r.status.value), duration,
                      (r.parent_id or "")[:8], r.status_message, metrics)
    return table


def edges_table(edges: Sequence[LineageEdgeRecord], names: dict[str, str],
                assets: dict[str, AssetRecord] | None = None,
                title: str = "Lineage edges") -> Table:
    """One row per edge: execution, role, what (ref, asset or dataset), version, valid.

    ``names`` maps execution ids to names; ``assets`` maps asset ids to records.

    Example:
        >>> Console().print(edges_table(cat.list_edges(exe.id), {exe.id: "t"}))  # doctest: +SKIP
    """
    assets = assets or {}
    table = Table(title=title)
    for column in ("execution", "role", "what", "version", "valid"):
        table.add_column(column, overflow="fold")
    for e in edges:
        if e.ref is not None:
            what, version = f"ref {e.ref}", (e.version_hash or "-")
        elif e.asset_id is not None and e.asset_id in assets:
            asset = assets[e.asset_id]
            what, version = f"asset {asset.asset_table}/{asset.filename}", asset.sha256
        elif e.asset_id is not None:
            what, version = f"asset {e.asset_id}", "-"
        else:
            what, version = "dataset version", (e.dataset_version_id or "")[:8]
        version = version[:19] if not version.startswith("placeholder") else version
        table.add_row(f"{names.get(e.execution_id, '?')} ({e.execution_id[:8]})", e.role.value,
                      what, version, Text("yes", "green") if e.valid else Text("no", "red"))
    return table


def execution_panel(catalog: Catalog, execution_id: str) -> Panel:
    """Everything about one execution: header, status history, parameters, metrics, edges.

    Example:
        >>> Console().print(execution_panel(cat, exe.id))  # doctest: +SKIP
    """
    r = catalog.get_execution(execution_id)
    history = Table(title="Status history")
    for column in ("#", "at (UTC)", "status", "message"):
        history.add_column(column)
    for h in r.history:
        history.add_row(str(h.seq), h.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                        _status(h.status.value), h.message)
    assets = {a.id: a for a in catalog.list_assets()}
    edges = edges_table(catalog.list_edges(execution_id), {r.id: r.name}, assets)
    header = Text.assemble(
        (r.name, "bold"), f"  {r.id}\n", "status ", _status(r.status.value),
        f"  {r.status_message}\n",
        f"host {r.host}  user {r.user}  duration {r.duration_seconds}\n",
        f"parameters {json.dumps(r.parameters, sort_keys=True)}\n",
        f"metrics {json.dumps(r.metrics, sort_keys=True)}")
    return Panel(Group(header, history, edges), title=f"execution {r.id[:8]}")


# -- issue 3 reports: lineage, history, results, status, stale ---------------------------


def _short_hash(node: LineageNode) -> str:
    from steplineage.export.dot import short_hash

    return short_hash(str(node.attrs.get("hash") or node.attrs.get("sha256") or ""))


def _flat(values: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else value.isoformat()
    return text.replace("T", " ")[:19]


def _flow_order(graph: LineageGraph) -> list[str]:
    """Node ids with producers before consumers (by depth if the graph has a cycle)."""
    import networkx as nx

    nxg = graph.to_networkx()
    try:
        # lexicographical: ties broken by label, so the table is stable between runs
        labels = {n.id: (n.label, n.id) for n in graph.nodes}
        return list(nx.lexicographical_topological_sort(nxg, key=lambda i: labels[i]))
    except nx.NetworkXUnfeasible:
        return [n.id for n in graph.nodes]


def lineage_table(graph: LineageGraph, title: str | None = None) -> Table:
    """The executions of a lineage graph in data-flow order, with what each read and wrote.

    Example:
        >>> Console().print(lineage_table(cat.lineage.upstream("execution:..."))) # doctest: +SKIP
    """
    nodes = {n.id: n for n in graph.nodes}
    root = nodes.get(graph.root or "")
    title = title or (f"Lineage {graph.direction} of {root.label}" if root else "Lineage")
    if graph.partial:
        title += " (partial: node cap reached)"
    table = Table(title=title)
    for column in ("#", "step", "execution", "status", "started", "reads", "writes"):
        # ids, statuses and times stay on one line; the ref lists fold when space runs out
        table.add_column(column, overflow="fold",
                         no_wrap=column in ("#", "execution", "status", "started"))
    order = [nodes[i] for i in _flow_order(graph) if nodes[i].kind == "execution"]
    for i, exe in enumerate(order, 1):
        reads = [f"{'code ' if e.relation == 'code' else ''}{nodes[e.source].label}"
                 f"@{_short_hash(nodes[e.source])}" for e in graph.edges
                 if e.target == exe.id and e.relation in ("used", "code")]
        writes = [f"{nodes[e.target].label}@{_short_hash(nodes[e.target])}"
                  for e in graph.edges if e.source == exe.id and e.relation == "generated"]
        name = Text(exe.label, style="bold" if exe.id == graph.root else "")
        table.add_row(str(i), name, exe.catalog_id[:8], _status(str(exe.attrs.get("status"))),
                      _when(exe.attrs.get("start_time")), "\n".join(sorted(reads)),
                      "\n".join(sorted(writes)))
    return table


def history_table(records: Sequence[ExecutionRecord], title: str = "History") -> Table:
    """Executions newest first, one column per metric (``dws report history``).

    Example:
        >>> Console().print(history_table(cat.list_executions(limit=20)))  # doctest: +SKIP
    """
    metrics = [_flat(r.metrics) for r in records]
    keys = sorted({k for m in metrics for k in m})
    table = Table(title=title)
    for column in ("id", "name", "status", "started", "duration", *keys):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "started", "status"),
                         justify="right" if column in keys or column == "duration" else "left")
    for r, m in zip(records, metrics):
        duration = f"{r.duration_seconds:.3f}s" if r.duration_seconds is not None else ""
        table.add_row(r.id[:8], r.name, _status(r.status.value), _when(r.start_time), duration,
                      *(_cell(m.get(k)) for k in keys))
    return table


def results_tables(records: Sequence[ExecutionRecord]) -> list[Table]:
    """One key/value table per execution that wrote results.json (``dws report results``).

    Example:
        >>> for t in results_tables(cat.list_executions()): Console().print(t)  # doctest: +SKIP
    """
    tables = []
    for r in records:
        if r.results is None:
            continue
        table = Table(title=f"Results of {r.name} ({r.id[:8]}, {_when(r.stop_time)})")
        table.add_column("key")
        table.add_column("value", overflow="fold")
        for key, value in sorted(_flat(r.results).items()):
            table.add_row(key, _cell(value))
        tables.append(table)
    return tables


def status_tables(counts: Mapping[str, int], running: Sequence[ExecutionRecord] = (),
                  failed: Sequence[ExecutionRecord] = ()) -> list[Table]:
    """Counts of executions by status, then the most recent running and failed ones.

    ``counts`` maps statuses to how many executions are in them
    (:func:`steplineage.store.reports.status_counts`).

    Example:
        >>> tables = status_tables({"completed": 3, "failed": 1})
        >>> [t.title for t in tables]
        ['Executions by status']
    """
    table = Table(title="Executions by status")
    table.add_column("status")
    table.add_column("count", justify="right")
    for status in sorted(counts, key=lambda k: (-counts[k], k)):
        table.add_row(_status(status), str(counts[status]))
    table.add_row(Text("total", style="bold"), str(sum(counts.values())))
    tables = [table]
    for records, title in ((running, "Running now"), (failed, "Recent failures")):
        if records:
            tables.append(executions_table(records, title=title))
    return tables


def stale_table(items: Sequence[StaleExecution], names: dict[str, str]) -> Table:
    """Stale executions: which input changed (used -> current version) and what to re-run.

    ``names`` maps execution ids to names for the re-run chain.

    Example:
        >>> Console().print(stale_table(cat.lineage.stale(), {}))  # doctest: +SKIP
    """
    table = Table(title="Stale executions")
    for column in ("step", "execution", "changed input", "used", "current", "re-run in order"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item.name, item.execution_id[:8], "\n".join(str(r.ref) for r in item.reasons),
            "\n".join(r.used_version[:12] for r in item.reasons),
            "\n".join(r.current_version[:12] for r in item.reasons),
            " -> ".join(f"{names.get(e, '?')} ({e[:8]})" for e in item.rerun))
    return table
