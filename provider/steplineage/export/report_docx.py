"""A provenance report as a Word document (python-docx), like Provena's generate_report.

Example:
    >>> from steplineage.export.provenance import build_provenance_report
    >>> write_report_docx(build_provenance_report(cat, exe.id), Path("p.docx"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.local.atomic import atomic_path

if TYPE_CHECKING:
    from steplineage.export.provenance import DataItem, ProvenanceReport, ValueItem

__all__ = ["write_report_docx"]


def _table(doc: Any, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    if not rows:
        doc.add_paragraph("none").runs[0].italic = True
        return
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers):
        cell.text = header
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = "" if value is None else str(value)


def _data(doc: Any, items: Sequence[DataItem]) -> None:
    _table(doc, ("role", "step", "kind", "name", "checksum (sha256)", "md5", "bytes", "valid"),
           [(d.role, d.step or "", d.kind, d.name, d.checksum, d.md5 or "",
             "" if d.length is None else d.length,
             "" if d.valid is None else ("yes" if d.valid else "NO")) for d in items])


def _values(doc: Any, items: Sequence[ValueItem]) -> None:
    _table(doc, ("step", "key", "value"), [(v.step, v.key, v.value) for v in items])


def write_report_docx(report: ProvenanceReport, path: Path) -> Path:
    """Write ``report`` to ``path`` (.docx), atomically; returns ``path``.

    Example:
        >>> write_report_docx(report, Path("provenance.docx"))  # doctest: +SKIP
    """
    from docx import Document

    doc = Document()
    doc.core_properties.title = report.title
    doc.core_properties.subject = f"{report.subject_kind}:{report.subject_id}"
    doc.core_properties.author = "steplineage"
    doc.add_heading(report.title, level=0)
    doc.add_paragraph(f"Generated {report.generated_at.isoformat(timespec='seconds')} from "
                      f"catalog {report.catalog}")
    doc.add_heading("Summary", level=1)
    _table(doc, ("fact", "value"), report.facts)
    doc.add_heading("Inputs" if report.subject_kind == "execution" else "Upstream data", level=1)
    _data(doc, report.inputs)
    doc.add_heading("Steps", level=1)
    _table(doc, ("relation", "name", "execution id", "status", "workflow", "started",
                 "duration (s)"),
           [(s.relation, s.name, s.id, s.status, s.workflow,
             s.started.isoformat(timespec="seconds") if s.started else "",
             "" if s.duration_seconds is None else f"{s.duration_seconds:.3f}")
            for s in report.steps])
    doc.add_heading("Outputs" if report.subject_kind == "execution" else "Members", level=1)
    _data(doc, report.outputs)
    doc.add_heading("Agents", level=1)
    _table(doc, ("name", "kind", "steps"), [(a.name, a.kind, ", ".join(a.steps))
                                            for a in report.agents])
    for heading, values in (("Parameters", report.parameters), ("Metrics", report.metrics),
                            ("Results", report.results)):
        doc.add_heading(heading, level=1)
        _values(doc, values)
    if report.subject_kind == "execution":
        doc.add_heading("Status history", level=1)
        _table(doc, ("at (UTC)", "status", "message"), report.history)

    path = Path(path)
    with atomic_path(path, durable=True) as tmp:  # a reader never sees half a document
        doc.save(str(tmp))
    return path
