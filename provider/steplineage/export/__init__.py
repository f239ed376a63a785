"""Exports of a :class:`~steplineage.lineage.graph.LineageGraph`, one module per format.

* :mod:`~steplineage.export.dot` — Graphviz DOT text (no graphviz needed to write it);
* :mod:`~steplineage.export.html` — a self-contained HTML page that draws the graph
  offline (the renderer is ``static/lineage-graph.js``, shared with the web UI);
* :mod:`~steplineage.export.prov` — W3C PROV documents (PROV-JSON, PROV-N) via ``prov``;
* :mod:`~steplineage.export.provenance` — a provenance report of one execution or
  dataset version, which :mod:`~steplineage.export.report_html` and
  :mod:`~steplineage.export.report_docx` render as HTML or Word.

Node-link JSON is :meth:`LineageGraph.to_node_link`. Nothing here is imported by
``import steplineage``; each ``LineageGraph.to_*`` method imports its module on call.

Example:
    >>> from steplineage.export.dot import to_dot
    >>> print(to_dot(graph))  # doctest: +SKIP
    digraph lineage { ...
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steplineage.lineage.impact import StaleExecution

__all__ = ["stale_node_ids"]


def stale_node_ids(items: Iterable[StaleExecution]) -> set[str]:
    """Node ids to highlight as stale: each stale execution, everything in its re-run
    chain, and the outputs computed from old inputs.

    Example:
        >>> graph.to_html(stale=stale_node_ids(cat.lineage.stale()))  # doctest: +SKIP
    """
    ids: set[str] = set()
    for item in items:
        ids.add(f"execution:{item.execution_id}")
        ids.update(f"execution:{e}" for e in item.rerun)
        ids.update(item.stale_outputs)
    return ids
