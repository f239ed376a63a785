"""A provenance report as one standalone HTML page (every value escaped).

Example:
    >>> from steplineage.export.provenance import build_provenance_report
    >>> page = report_to_html(build_provenance_report(cat, exe.id))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steplineage.export.provenance import DataItem, ProvenanceReport, ValueItem

__all__ = ["report_to_html"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #111827; max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.meta { color: #6b7280; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border: 1px solid #d1d5db; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.mono, .facts td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
       word-break: break-all; }
.facts th { width: 190px; }
.empty { color: #6b7280; font-style: italic; }
.bad { color: #b91c1c; font-weight: 600; }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]],
           mono: Sequence[int] = (), css: str = "") -> str:
    if not rows:
        return '<p class="empty">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            klass = ' class="mono"' if i in mono else ""
            cells.append(f"<td{klass}>{escape('' if value is None else str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _data(items: Sequence[DataItem]) -> str:
    rows = [(d.role, d.step or "", d.kind, d.name, d.checksum, d.md5 or "",
             "" if d.length is None else d.length,
             "" if d.valid is None else ("yes" if d.valid else "NO")) for d in items]
    return _table(("role", "step", "kind", "name", "checksum (sha256)", "md5", "bytes", "valid"), rows,
                  mono=(4, 5))


def _values(items: Sequence[ValueItem]) -> str:
    return _table(("step", "key", "value"), [(v.step, v.key, v.value) for v in items],
                  mono=(2,))


def report_to_html(report: ProvenanceReport) -> str:
    """The report as a complete HTML document; no scripts, nothing fetched.

    Example:
        >>> Path("p.html").write_text(report_to_html(report))  # doctest: +SKIP
    """
    facts = "".join(f'<tr><th>{escape(k)}</th><td class="mono">{escape(v)}</td></tr>'
                    for k, v in report.facts)
    steps = _table(("relation", "name", "execution id", "status", "workflow", "started",
                    "duration (s)"),
                   [(s.relation, s.name, s.id, s.status, s.workflow,
                     s.started.isoformat(timespec="seconds") if s.started else "",
                     "" if s.duration_seconds is None else f"{s.duration_seconds:.3f}")
                    for s in report.steps], mono=(2,))
    agents = _table(("name", "kind", "steps"),
                    [(a.name, a.kind, ", ".join(a.steps)) for a in report.agents])
    inputs_title = "Inputs" if report.subject_kind == "execution" else "Upstream data"
    outputs_title = "Outputs" if report.subject_kind == "execution" else "Members"
    history = ("<h2>Status history</h2>" + _table(("at (UTC)", "status", "message"),
                                                   report.history)
               if report.subject_kind == "execution" else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="steplineage">
<title>{escape(report.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{escape(report.title)}</h1>
<p class="meta">Generated {escape(report.generated_at.isoformat(timespec="seconds"))} from
catalog {escape(report.catalog)}</p>
<h2>Summary</h2>
<table class="facts"><tbody>{facts}</tbody></table>
<h2>{inputs_title}</h2>
{_data(report.inputs)}
<h2>Steps</h2>
{steps}
<h2>{outputs_title}</h2>
{_data(report.outputs)}
<h2>Agents</h2>
{agents}
<h2>Parameters</h2>
{_values(report.parameters)}
<h2>Metrics</h2>
{_values(report.metrics)}
<h2>Results</h2>
{_values(report.results)}
{history}
</body>
</html>
"""
