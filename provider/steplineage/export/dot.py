"""Graphviz DOT for a lineage graph, written by hand with DOT's quoting rules.

Every id and label is a double-quoted DOT string: backslashes and quotes are
escaped and line breaks become ``\\n``, so no user-made name can end a string
early or inject attributes. Kinds get shapes and colours; failed executions are
red and stale nodes (pass their ids) dashed orange, as in the HTML graph.

Example:
    >>> from steplineage.lineage.graph import LineageGraph, LineageNode
    >>> g = LineageGraph(nodes=[LineageNode(id="agent:a", kind="agent", label='say "hi"')])
    >>> 'label="say \\\\"hi\\\\"' in to_dot(g)
    True
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steplineage.lineage.graph import LineageGraph, LineageNode

__all__ = ["KIND_STYLE", "dot_quote", "short_hash", "to_dot"]

#: kind -> (shape, fill colour, border colour); the HTML renderer uses the same palette.
KIND_STYLE: dict[str, tuple[str, str, str]] = {
    "execution": ("box", "#dbeafe", "#1d4ed8"),
    "version": ("ellipse", "#dcfce7", "#15803d"),
    "asset": ("note", "#fef3c7", "#b45309"),
    "dataset_version": ("folder", "#ede9fe", "#6d28d9"),
    "agent": ("house", "#f3f4f6", "#4b5563"),
}
_EDGE_STYLE = {"used": "solid", "generated": "solid", "code": "dashed", "member": "dotted",
               "associated": "dotted"}
_FAILED = {"failed", "aborted"}


def dot_quote(value: object) -> str:
    """``value`` as a double-quoted DOT string (escapes ``\\``, ``"`` and line breaks).

    Example:
        >>> dot_quote('a"b')
        '"a\\\\"b"'
    """
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    # Graphviz reads \n in a label as a centred line break; raw newlines would be kept
    # verbatim, and \r alone would confuse line-based tools reading the file.
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return f'"{text}"'


def _node_label(node: LineageNode) -> str:
    second = node.kind.replace("_", " ")
    status = node.attrs.get("status")
    if node.kind == "execution" and status:
        second = f"{second} · {status}"
    elif node.kind in ("version", "asset"):
        digest = str(node.attrs.get("hash") or node.attrs.get("sha256") or "")
        if digest:
            second = f"{second} · {short_hash(digest)}"
    return f"{node.label}\n{second}"


def short_hash(digest: str) -> str:
    """The first 12 hex digits, or ``placeholder <8 digits>`` for a placeholder version.

    Example:
        >>> short_hash("placeholder:0f077264f1f83112")
        'placeholder 0f077264'
    """
    if digest.startswith("placeholder:"):
        return "placeholder " + digest[len("placeholder:"):][:8]
    return digest[:12]


def to_dot(graph: LineageGraph, stale: Collection[str] = (), name: str = "lineage") -> str:
    """The graph as a DOT ``digraph``, left to right in the direction data flows.

    Args:
        graph: the graph to draw.
        stale: node ids to highlight as out of date (e.g. from ``cat.lineage.stale()``).
        name: the digraph's name.

    Example:
        >>> text = to_dot(cat.lineage.upstream("execution:..."))  # doctest: +SKIP
        >>> Path("lineage.dot").write_text(text)  # then: dot -Tsvg lineage.dot  # doctest: +SKIP
    """
    stale_ids = set(stale)
    lines = [f"digraph {dot_quote(name)} {{",
             "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10, style="filled"];',
             '  edge [fontname="Helvetica", fontsize=8, color="#6b7280"];']
    if graph.root is not None:
        lines.append(f"  // root {dot_quote(graph.root)}, direction {graph.direction}"
                     + (", partial (capped)" if graph.partial else ""))
    for node in graph.nodes:
        shape, fill, border = KIND_STYLE[node.kind]
        attrs = {"label": _node_label(node), "shape": shape, "fillcolor": fill, "color": border,
                 "tooltip": node.id}
        styles = ["filled"]
        if node.kind == "execution" and node.attrs.get("status") in _FAILED:
            attrs["color"], attrs["penwidth"] = "#dc2626", "2.5"
        if node.id in stale_ids:
            styles.append("dashed")
            attrs["color"], attrs["penwidth"] = "#ea580c", "2.5"
        if node.id == graph.root:
            styles.append("bold")
        attrs["style"] = ",".join(styles)
        body = ", ".join(f"{k}={dot_quote(v)}" for k, v in attrs.items())
        lines.append(f"  {dot_quote(node.id)} [{body}];")
    for edge in graph.edges:
        lines.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)} "
                     f"[label={dot_quote(edge.relation)}, "
                     f"style={dot_quote(_EDGE_STYLE[edge.relation])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
