"""Exports of a :class:`~steplineage.lineage.graph.LineageGraph`, one module per format.

* :mod:`~steplineage.export.dot` — Graphviz DOT text (no graphviz needed to write it);
* :mod:`~steplineage.export.html` — a self-contained HTML page that draws the graph
  offline (the renderer is ``static/lineage-graph.js``, shared with the web UI);
* :mod:`~steplineage.export.prov` — W3C PROV documents (PROV-JSON, PROV-N) via ``prov``;
* :mod:`~steplineage.export.report_html` / :mod:`~steplineage.export.report_docx` —
  a provenance report (:mod:`steplineage.provenance_report`) as HTML or Word.

Node-link JSON is :meth:`LineageGraph.to_node_link`. Nothing here is imported by
``import steplineage``; each ``LineageGraph.to_*`` method imports its module on call.

Example:
    >>> from steplineage.export.dot import to_dot
    >>> print(to_dot(graph))  # doctest: +SKIP
    digraph lineage { ...
"""
