"""A self-contained HTML page that draws a lineage graph offline.

The page carries everything it needs: the renderer (``static/lineage-graph.js``)
and its styles inline, the graph as JSON in a ``<script type="application/json">``
block. No CDN, no fetch: it opens from a file, an e-mail attachment or a CI artifact.

Escaping: the JSON block has ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so
no name can close the block; the renderer puts text on the page with
``textContent`` only; every other user-made string goes through
:func:`html.escape`. A Content-Security-Policy allows the one inline script by its
hash and no network at all, so even a missed escape could not run or fetch anything.

Example:
    >>> from steplineage.lineage.graph import LineageGraph, LineageNode
    >>> page = to_html(LineageGraph(nodes=[LineageNode(id="agent:a", kind="agent",
    ...                                               label="</script><b>")]))
    >>> "</script><b>" in page
    False
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Collection
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steplineage.lineage.graph import LineageGraph

__all__ = ["graph_payload", "json_for_script", "renderer_css", "renderer_js", "to_html"]

_KIND_NAMES = {"execution": "execution", "version": "ref version", "asset": "asset",
               "dataset_version": "dataset version", "agent": "agent"}


@lru_cache(maxsize=None)
def renderer_js() -> str:
    """The graph renderer's JavaScript (package data, shared with the web UI)."""
    text = (resources.files("steplineage.export") / "static" / "lineage-graph.js").read_text(
        encoding="utf-8")
    # We inline it into <script>; our own file must never contain its end tag.
    assert "</script" not in text.lower(), "lineage-graph.js must not contain </script"
    return text


@lru_cache(maxsize=None)
def renderer_css() -> str:
    """The graph renderer's styles (package data, shared with the web UI)."""
    text = (resources.files("steplineage.export") / "static" / "lineage-graph.css").read_text(
        encoding="utf-8")
    assert "</style" not in text.lower(), "lineage-graph.css must not contain </style"
    return text


def json_for_script(data: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where their ``\\uXXXX``
    forms mean the same, so the text parses to the same value and cannot close
    the element or open a comment.

    Example:
        >>> json_for_script({"name": "</script>"})
        '{"name": "\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def graph_payload(graph: LineageGraph, stale: Collection[str] = ()) -> dict[str, Any]:
    """The JSON the renderer takes: the graph plus the ids of stale nodes.

    Example:
        >>> graph_payload(graph, stale=["execution:..."])["stale"]  # doctest: +SKIP
        ['execution:...']
    """
    data = graph.model_dump(mode="json")
    present = {n.id for n in graph.nodes}
    data["stale"] = sorted(s for s in stale if s in present)
    return data


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def to_html(graph: LineageGraph, title: str | None = None, stale: Collection[str] = ()) -> str:
    """A complete HTML document showing ``graph``; works with no network.

    Args:
        graph: the graph to draw.
        title: page heading; default names the root and direction.
        stale: node ids to highlight as out of date.

    Example:
        >>> Path("lineage.html").write_text(to_html(cat.lineage.upstream(node)))  # doctest: +SKIP
    """
    by_id = {n.id: n for n in graph.nodes}
    if title is None:
        root = by_id.get(graph.root or "")
        title = (f"Lineage {graph.direction} of {root.label}" if root is not None
                 else "Lineage graph")
    counts: dict[str, int] = {}
    for n in graph.nodes:
        counts[n.kind] = counts.get(n.kind, 0) + 1
    summary = ", ".join(f"{c} {_KIND_NAMES[k]}{'s' if c != 1 else ''}"
                        for k, c in sorted(counts.items())) or "no nodes"
    summary += f"; {len(graph.edges)} edge{'s' if len(graph.edges) != 1 else ''}"
    partial = ('<p class="warn">Partial: the node cap stopped the walk; more lineage exists '
               "beyond what is shown.</p>" if graph.partial else "")
    script = renderer_js()
    csp = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src 'unsafe-inline'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    legend = "".join(f'<span class="key key-{k}">{html.escape(v)}</span>'
                     for k, v in _KIND_NAMES.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=False)}">
<meta name="generator" content="steplineage">
<title>{html.escape(title)}</title>
<style>
html, body {{ margin: 0; height: 100%; }}
body {{ display: flex; flex-direction: column; padding: 12px 16px; box-sizing: border-box;
       font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }}
header h1 {{ font-size: 18px; margin: 0 0 4px; }}
header p {{ margin: 0 0 6px; color: #374151; }}
.warn {{ color: #b45309; font-weight: 600; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 8px; font-size: 12px; }}
.key {{ padding: 1px 8px; border: 1.5px solid; border-radius: 4px; }}
.key-execution {{ background: #dbeafe; border-color: #1d4ed8; }}
.key-version {{ background: #dcfce7; border-color: #15803d; border-radius: 10px; }}
.key-asset {{ background: #fef3c7; border-color: #b45309; }}
.key-dataset_version {{ background: #ede9fe; border-color: #6d28d9; }}
.key-agent {{ background: #f3f4f6; border-color: #4b5563; }}
.key-failed {{ border-color: #dc2626; border-width: 3px; }}
.key-stale {{ border-color: #ea580c; border-style: dashed; border-width: 3px; }}
#graph {{ flex: 1 1 auto; min-height: 420px; }}
{renderer_css()}
</style>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}{html.escape(f"; root {graph.root}") if graph.root else ""}</p>
{partial}
<div class="legend">{legend}<span class="key key-failed">failed</span><span class="key key-stale">stale</span></div>
</header>
<div id="graph" data-steplineage-graph="lineage-data"></div>
<script type="application/json" id="lineage-data">{json_for_script(graph_payload(graph, stale))}</script>
<script>{script}</script>
</body>
</html>
"""
