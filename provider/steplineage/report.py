"""Terminal views of the catalog (rich tables and panels).

Example:
    >>> from rich.console import Console
    >>> Console().print(executions_table(cat.list_executions()))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from steplineage.models import AssetRecord, ExecutionRecord, LineageEdgeRecord

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["edges_table", "execution_panel", "executions_table"]

_STATUS_STYLE = {"completed": "green", "failed": "red", "aborted": "red", "skipped": "yellow",
                 "running": "cyan", "uploading": "cyan", "initializing": "cyan",
                 "created": "white"}


def _status(value: str) -> Text:
    return Text(value, style=_STATUS_STYLE.get(value, ""))


def executions_table(records: Sequence[ExecutionRecord], title: str = "Executions") -> Table:
    """One row per execution: id, name, status, duration, parent, metrics."""
    table = Table(title=title)
    for column in ("id", "name", "status", "duration", "parent", "message", "metrics"):
        table.add_column(column, overflow="fold")
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
    """Everything about one execution: header, status history, parameters, metrics, edges."""
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
