"""What a tracked flow run shows in the Prefect UI: lineage summary, executions, a link.

The open-source Prefect UI has no lineage view, so each tracked flow run
publishes three artifacts on its Artifacts tab:

* ``steplineage-lineage-<flow>`` (markdown): a mermaid graph of the run's
  executions and the data versions they read and wrote, then tables of inputs
  and outputs with their sha256 checksums;
* ``steplineage-executions-<flow>`` (table): every execution of the run with
  status, attempt, start, duration and id;
* ``steplineage-ui-<flow>`` (link), when ``STEPLINEAGE_UI_URL`` is set: the
  flow run's execution in the standalone lineage UI.

Everything user-made (names, paths, messages) is escaped before it goes into
markdown or mermaid.

Example:
    >>> summary = RunSummary.collect(cat, execution_id)  # doctest: +SKIP
    >>> print(summary.markdown())  # doctest: +SKIP
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steplineage.models import EdgeRole, ExecutionRecord, LineageEdgeRecord

if TYPE_CHECKING:
    from uuid import UUID

    from steplineage.catalog.catalog import Catalog

__all__ = ["RunSummary", "apublish_artifacts", "artifact_keys", "publish_artifacts"]

# Bigger runs are cut in the graph (the tables and the catalog keep everything).
MAX_GRAPH_EXECUTIONS = 60
_STATUS_MARK = {"completed": "✓", "failed": "✗", "aborted": "⊘", "skipped": "↷"}
_STATUS_STYLE = {
    "completed": "stroke:#2e7d32,stroke-width:2px",
    "failed": "stroke:#c62828,stroke-width:2px,fill:#fdecea",
    "aborted": "stroke:#ef6c00,stroke-width:2px,fill:#fff3e0",
    "skipped": "stroke:#9e9e9e,stroke-dasharray:4",
    "running": "stroke:#1565c0", "uploading": "stroke:#1565c0",
    "created": "stroke:#9e9e9e", "initializing": "stroke:#9e9e9e",
}


def artifact_keys(flow_name: str) -> dict[str, str]:
    """Artifact keys for a flow (Prefect allows lowercase letters, digits and dashes).

    Example:
        >>> artifact_keys("ETL nightly")["lineage"]
        'steplineage-lineage-etl-nightly'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", flow_name.lower()).strip("-")[:60] or "flow"
    return {kind: f"steplineage-{kind}-{slug}" for kind in ("lineage", "executions", "ui")}


def _md(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return html.escape(str(text)).replace("|", "\\|").replace("`", "&#96;").replace("\n", " ")


def _mermaid(text: object) -> str:
    """Text safe inside a quoted mermaid label."""
    return (html.escape(str(text)).replace('"', "#quot;").replace("[", "#91;")
            .replace("]", "#93;").replace("\n", " "))


def _short(digest: str | None) -> str:
    if not digest:
        return "—"
    return digest if digest.startswith("placeholder:") else digest[:12]


@dataclass(frozen=True)
class DataNode:
    """One thing read or written: a ref at a version, or an asset."""

    label: str
    checksum: str | None
    kind: str  # "ref" or "asset"


@dataclass
class RunSummary:
    """A flow run's executions (the root first, then breadth-first) and their edges."""

    root: ExecutionRecord
    executions: list[ExecutionRecord]
    edges: dict[str, list[LineageEdgeRecord]]
    assets: dict[str, DataNode]

    @classmethod
    def collect(cls, cat: Catalog, execution_id: str) -> RunSummary:
        """Read an execution and all its descendants, with their lineage edges, from the catalog.

        Example:
            >>> RunSummary.collect(cat, exe.id).root.name  # doctest: +SKIP
            'etl'
        """
        root = cat.get_execution(execution_id)
        ordered = [root]
        todo = [root.id]
        while todo:
            children = sorted(cat.list_executions(parent_id=todo.pop(0), limit=None),
                              key=lambda r: (r.created_at, r.name))
            ordered.extend(children)
            todo.extend(c.id for c in children)
        edges = {r.id: cat.list_edges(execution_id=r.id) for r in ordered}
        assets: dict[str, DataNode] = {}
        for edge in (e for es in edges.values() for e in es):
            if edge.asset_id and edge.asset_id not in assets:
                asset = cat.get_asset(edge.asset_id)
                assets[edge.asset_id] = DataNode(f"{asset.asset_table}/{asset.filename}",
                                                 asset.sha256, "asset")
        return cls(root, ordered, edges, assets)

    def _data(self, edge: LineageEdgeRecord) -> DataNode | None:
        if edge.asset_id:
            return self.assets[edge.asset_id]
        if edge.ref is not None:
            return DataNode(str(edge.ref), edge.version_hash, "ref")
        return None  # dataset versions are listed in the catalog, not drawn here

    def data_rows(self, role: EdgeRole) -> list[tuple[DataNode, list[str], bool]]:
        """(data, names of executions, valid) for every distinct thing read or written."""
        rows: dict[tuple[str, str | None], tuple[DataNode, list[str], bool]] = {}
        names = {r.id: r.name for r in self.executions}
        for exe_id, edges in self.edges.items():
            for edge in edges:
                node = self._data(edge)
                if edge.role is not role or node is None:
                    continue
                key = (node.label, node.checksum)
                found = rows.setdefault(key, (node, [], edge.valid))
                found[1].append(names[exe_id])
                rows[key] = (node, found[1], found[2] and edge.valid)
        return sorted(rows.values(), key=lambda r: r[0].label)

    def mermaid(self) -> str:
        """A mermaid flowchart: executions (boxes), data (cylinders), parent links dotted."""
        shown = self.executions[:MAX_GRAPH_EXECUTIONS]
        ids = {r.id: f"x{i}" for i, r in enumerate(shown)}
        lines = ["flowchart LR"]
        for r in shown:
            mark = _STATUS_MARK.get(r.status.value, "…")
            attempt = (f" · attempt {r.orchestrator.run_count}"
                       if (r.orchestrator.run_count or 1) > 1 else "")
            lines.append(f'  {ids[r.id]}["{_mermaid(r.name)} {mark}{attempt}"]:::{r.status.value}')
        data_ids: dict[tuple[str, str | None], str] = {}
        links: list[str] = []
        for r in shown:
            if r.parent_id in ids:
                links.append(f"  {ids[r.parent_id]} -.- {ids[r.id]}")
            for edge in self.edges[r.id]:
                node = self._data(edge)
                if node is None or edge.role is EdgeRole.code:
                    continue
                key = (node.label, node.checksum)
                if key not in data_ids:
                    data_ids[key] = f"d{len(data_ids)}"
                    lines.append(f'  {data_ids[key]}[("{_mermaid(node.label)}<br/>'
                                 f'{_mermaid(_short(node.checksum))}")]')
                if edge.role is EdgeRole.input:
                    links.append(f"  {data_ids[key]} --> {ids[r.id]}")
                elif edge.valid:
                    links.append(f"  {ids[r.id]} --> {data_ids[key]}")
                else:
                    links.append(f"  {ids[r.id]} -. not valid .-> {data_ids[key]}")
        lines.extend(dict.fromkeys(links))  # one arrow per pair, in order
        used = {r.status.value for r in shown}
        lines += [f"  classDef {status} {style}" for status, style in _STATUS_STYLE.items()
                  if status in used]
        return "\n".join(lines)

    def markdown(self, ui_url: str | None = None) -> str:
        """The lineage summary artifact: heading, mermaid graph, inputs and outputs tables."""
        root = self.root
        parts = [
            f"## Lineage of flow run {_md(root.orchestrator.run_id or root.name)} "
            f"({_md(root.name)})",
            "",
            f"Execution `{root.id}` is **{root.status.value}**"
            + (f" after {root.duration_seconds:.2f} s" if root.duration_seconds is not None
               else "")
            + f" · {len(self.executions)} execution(s) recorded by steplineage.",
        ]
        if ui_url:
            parts.append(f"\n[Open in the steplineage UI]({execution_url(ui_url, root.id)})")
        parts += ["", "```mermaid", self.mermaid(), "```"]
        if len(self.executions) > MAX_GRAPH_EXECUTIONS:
            parts.append(f"\n_The graph shows the first {MAX_GRAPH_EXECUTIONS} of "
                         f"{len(self.executions)} executions; the table artifact lists all._")
        for title, role in (("Inputs", EdgeRole.input), ("Outputs", EdgeRole.output)):
            rows = self.data_rows(role)
            parts += ["", f"### {title}", ""]
            if not rows:
                parts.append("_none recorded_")
                continue
            verb = "read by" if role is EdgeRole.input else "written by"
            parts += [f"| data | kind | sha256 | {verb} |" + (" valid |" if role is
                                                              EdgeRole.output else ""),
                      "| --- | --- | --- | --- |" + (" --- |" if role is EdgeRole.output
                                                     else "")]
            for node, names, valid in rows:
                cells = [_md(node.label), node.kind, f"`{_md(node.checksum or '—')}`",
                         _md(", ".join(dict.fromkeys(names)))]
                if role is EdgeRole.output:
                    cells.append("yes" if valid else "no (step did not complete)")
                parts.append("| " + " | ".join(cells) + " |")
        return "\n".join(parts) + "\n"

    def table(self) -> list[dict[str, Any]]:
        """One row per execution, for the table artifact."""
        names = {r.id: r.name for r in self.executions}
        return [{
            "execution": r.name,
            "status": r.status.value,
            "attempt": r.orchestrator.run_count,
            "parent": names.get(r.parent_id or "", ""),
            "started": r.start_time.isoformat(timespec="seconds") if r.start_time else "",
            "duration_s": round(r.duration_seconds, 3) if r.duration_seconds is not None
            else None,
            "message": r.status_message,
            "id": r.id,
        } for r in self.executions]


def execution_url(ui_url: str, execution_id: str) -> str:
    """Where the standalone lineage UI shows one execution.

    Example:
        >>> execution_url("http://lineage:8000/", "abc")
        'http://lineage:8000/executions/abc'
    """
    return f"{ui_url.rstrip('/')}/executions/{execution_id}"


def _payloads(cat: Catalog, execution_id: str, flow_name: str,
              ui_url: str | None) -> dict[str, dict[str, Any]]:
    summary = RunSummary.collect(cat, execution_id)
    keys = artifact_keys(flow_name)
    payloads: dict[str, dict[str, Any]] = {
        "lineage": {"markdown": summary.markdown(ui_url), "key": keys["lineage"],
                    "description": "steplineage: executions of this flow run and the data "
                                   "they read and wrote, with checksums"},
        "executions": {"table": summary.table(), "key": keys["executions"],
                       "description": "steplineage: every execution of this flow run"},
    }
    if ui_url:
        payloads["ui"] = {"link": execution_url(ui_url, execution_id),
                          "link_text": "Open lineage in steplineage", "key": keys["ui"],
                          "description": "steplineage: this flow run in the lineage UI"}
    return payloads


def publish_artifacts(cat: Catalog, execution_id: str, flow_name: str,
                      ui_url: str | None) -> dict[str, UUID]:
    """Create the lineage, executions and (if ``ui_url``) link artifacts of a flow run.

    Call it inside the flow run so Prefect attaches them to it (in an async
    flow, await :func:`apublish_artifacts`). Returns the artifact ids by kind.

    Example:
        >>> publish_artifacts(cat, exe.id, "etl", "http://lineage:8000")  # doctest: +SKIP
        {'lineage': UUID('...'), 'executions': UUID('...'), 'ui': UUID('...')}
    """
    from prefect.artifacts import (create_link_artifact, create_markdown_artifact,
                                   create_table_artifact)

    make = {"lineage": create_markdown_artifact, "executions": create_table_artifact,
            "ui": create_link_artifact}
    return {kind: make[kind](**payload, _sync=True)  # type: ignore[operator]
            for kind, payload in _payloads(cat, execution_id, flow_name, ui_url).items()}


async def apublish_artifacts(cat: Catalog, execution_id: str, flow_name: str,
                             ui_url: str | None) -> dict[str, UUID]:
    """:func:`publish_artifacts` for async flows.

    Example:
        >>> await apublish_artifacts(cat, exe.id, "etl", None)  # doctest: +SKIP
        {'lineage': UUID('...'), 'executions': UUID('...')}
    """
    from prefect.artifacts import (acreate_link_artifact, acreate_markdown_artifact,
                                   acreate_table_artifact)

    make = {"lineage": acreate_markdown_artifact, "executions": acreate_table_artifact,
            "ui": acreate_link_artifact}
    return {kind: await make[kind](**payload)  # type: ignore[operator]
            for kind, payload in _payloads(cat, execution_id, flow_name, ui_url).items()}
