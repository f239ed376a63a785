"""Model runs as CSV: a template to fill, an import, and a batch written back.

Columns: ``template, display_name, description, start_time, end_time``, then
``input:<slot>``, ``output:<slot>``, ``annotation:<key>`` and ``agent:<role>``
for the template's slots, annotations and agent roles. An empty cell means
"not given".

The files come from spreadsheets and other people, so reading is strict:
UTF-8 only (a BOM is fine), no NUL bytes, no cell over
:data:`MAX_CELL_CHARS`, every row as wide as the header, no column twice; each
problem raises :class:`~steplineage.errors.CsvFormatError` naming the row
(1 = the header) and column. Writing guards against formula injection: a cell
that starts with ``= + - @``, a tab or a carriage return is written with a
leading ``'`` (so a spreadsheet shows it as text), and a cell that starts with
``'`` gets one more. Importing strips one leading ``'``, so a batch written
back and imported again gives the same records.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> _ = cat.add_workflow_template(sl.WorkflowTemplate(name="m", required_annotations=["site"]))
    >>> sl.generate_csv_template(cat, "m").strip()
    'template,display_name,description,start_time,end_time,annotation:site'
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.errors import CsvFormatError
from steplineage.local.atomic import write_text
from steplineage.registry.model_runs import BatchResult, ModelRunRecord
from steplineage.registry.templates import WorkflowTemplate, get_workflow_template

if TYPE_CHECKING:
    from steplineage.registry.ports import RegistryCatalog

__all__ = ["MAX_CELL_CHARS", "generate_csv_template", "import_model_runs_csv",
           "regenerate_csv_from_batch"]

#: longest cell accepted (characters); longer is refused rather than stored
MAX_CELL_CHARS = 65_536
FIXED_COLUMNS = ("template", "display_name", "description", "start_time", "end_time")
_REQUIRED_COLUMNS = ("template", "display_name", "start_time", "end_time")
_GROUPS = {"input": "inputs", "output": "outputs", "annotation": "annotations", "agent": "agents"}
# OWASP's list of characters that make a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """``value`` made safe to open in a spreadsheet (see the module docstring)."""
    if value.startswith(_FORMULA_START) or value.startswith("'"):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The inverse of :func:`escape_cell`."""
    return value[1:] if value.startswith("'") else value


def template_columns(template: WorkflowTemplate) -> list[str]:
    """The CSV header for ``template``."""
    return [*FIXED_COLUMNS, *(f"input:{s.name}" for s in template.inputs),
            *(f"output:{s.name}" for s in template.outputs),
            *(f"annotation:{k}" for k in template.required_annotations
              + template.optional_annotations),
            *(f"agent:{r}" for r in template.agent_roles)]


def _render(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([escape_cell(row.get(c, "")) for c in columns])
    return out.getvalue()


def _resolve(catalog: RegistryCatalog, template: WorkflowTemplate | str) -> WorkflowTemplate:
    return get_workflow_template(catalog.store, template if isinstance(template, str)
                                 else template.name)


def generate_csv_template(catalog: RegistryCatalog, template: WorkflowTemplate | str,
                          path: str | Path | None = None) -> str:
    """The CSV header for a registered template's model runs; written to ``path`` if given.

    Example:
        >>> sl.generate_csv_template(cat, "flood-model", "runs.csv")  # doctest: +SKIP
        'template,display_name,description,start_time,end_time,input:rainfall,...'
    """
    text = _render(template_columns(_resolve(catalog, template)), [])
    if path is not None:
        write_text(path, text, durable=True)
    return text


def _record_cells(record: ModelRunRecord) -> dict[str, str]:
    cells = {"template": record.template, "display_name": record.display_name,
             "description": record.description, "start_time": record.start_time.isoformat(),
             "end_time": record.end_time.isoformat()}
    for prefix, attr in _GROUPS.items():
        cells.update({f"{prefix}:{k}": v for k, v in getattr(record, attr).items()})
    return cells


def regenerate_csv_from_batch(catalog: RegistryCatalog, batch_id: str,
                              path: str | Path | None = None) -> str:
    """A registered batch as CSV (current records, original row order); to ``path`` if given.

    Raises:
        NotFoundError: no such batch.

    Example:
        >>> sl.regenerate_csv_from_batch(cat, result.batch_id, "batch.csv")  # doctest: +SKIP
    """
    from steplineage.registry.registration import batch_records

    name, records = batch_records(catalog.store, batch_id)
    columns = template_columns(get_workflow_template(catalog.store, name))
    text = _render(columns, [_record_cells(r) for r in records])
    if path is not None:
        write_text(path, text, durable=True)
    return text


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)):
        raise CsvFormatError("the file is UTF-16/32; save it as UTF-8 (\"CSV UTF-8\" in "
                             "spreadsheet programs)", row=1)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise CsvFormatError(f"byte {exc.start} is not UTF-8 ({exc.reason}); save the file as "
                             "UTF-8 (\"CSV UTF-8\" in spreadsheet programs)", row=row) from None


def read_csv_records(text: str) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """The header and ``(row number, record dict)`` for every non-blank row of ``text``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    records: list[tuple[int, dict[str, Any]]] = []
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if header is None:
                header = _header(row)
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank lines, e.g. at the end of the file
            if len(row) != len(header):
                raise CsvFormatError(f"has {len(row)} cells but the header has {len(header)}; "
                                     "every row needs one cell per column (empty is fine)",
                                     row=number)
            records.append((number, _record(header, row, number)))
    except csv.Error as exc:
        raise CsvFormatError(f"is not valid CSV ({exc}); check its quotes", row=number + 1) \
            from None
    if header is None:
        raise CsvFormatError("the file is empty; start from generate_csv_template(...)", row=1)
    return header, records


def _check_cell(value: str, row: int, column: str) -> None:
    if "\0" in value:
        raise CsvFormatError("contains a NUL byte; remove it", row=row, column=column)
    if len(value) > MAX_CELL_CHARS:
        raise CsvFormatError(f"holds {len(value)} characters, more than {MAX_CELL_CHARS}; "
                             "model-run cells are ids and short values", row=row, column=column)


def _header(row: list[str]) -> list[str]:
    header = [cell.strip() for cell in row]
    seen: set[str] = set()
    for name in header:
        _check_cell(name, 1, name[:40])
        if not name:
            raise CsvFormatError("has an empty column name", row=1)
        if name in seen:
            raise CsvFormatError("appears twice in the header; keep one", row=1, column=name)
        seen.add(name)
        prefix, sep, rest = name.partition(":")
        if name not in FIXED_COLUMNS and not (sep and prefix in _GROUPS and rest):
            raise CsvFormatError(f"is not a model-run column (expected {', '.join(FIXED_COLUMNS)} "
                                 "or input:/output:/annotation:/agent:<name>)", row=1,
                                 column=name)
    missing = [c for c in _REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise CsvFormatError(f"the header lacks column(s) {', '.join(missing)}; start from "
                             "generate_csv_template(...)", row=1)
    return header


def _record(header: list[str], row: list[str], number: int) -> dict[str, Any]:
    record: dict[str, Any] = {attr: {} for attr in _GROUPS.values()}
    for column, raw in zip(header, row):
        _check_cell(raw, number, column)
        value = unescape_cell(raw)
        prefix, sep, rest = column.partition(":")
        if sep:
            if value != "":
                record[_GROUPS[prefix]][rest] = value
        elif value != "" or column == "description":
            record[column] = value
    return record


def _check_header(template: WorkflowTemplate, header: list[str]) -> None:
    expected = template_columns(template)
    unknown = [c for c in header if c not in expected]
    if unknown:
        raise CsvFormatError(f"is not a column of template {template.name!r} (its columns: "
                             f"{', '.join(expected)})", row=1, column=unknown[0])
    required = [f"input:{s.name}" for s in template.inputs if s.required] + \
        [f"output:{s.name}" for s in template.outputs if s.required] + \
        [f"annotation:{k}" for k in template.required_annotations]
    for column in required:
        if column not in header:
            raise CsvFormatError(f"is required by template {template.name!r} but missing from "
                                 "the header", row=1, column=column)


def import_model_runs_csv(catalog: RegistryCatalog, path: str | Path) -> BatchResult:
    """Register every row of a model-run CSV as one batch (all rows or none).

    Raises:
        CsvFormatError: the file cannot be read (names row and column).
        ModelRunValidationError: rows that do not fit the template (every one, by row).

    Example:
        >>> result = sl.import_model_runs_csv(cat, "runs.csv")  # doctest: +SKIP
        >>> len(result.run_ids)  # doctest: +SKIP
        3
    """
    from steplineage.errors import ModelRunValidationError, NotFoundError
    from steplineage.registry.registration import register_batch

    header, rows = read_csv_records(_decode(Path(path).read_bytes()))
    if not rows:
        raise ModelRunValidationError(["the file has a header but no rows"], "CSV")
    names = {r.get("template") for _, r in rows if r.get("template")}
    if len(names) == 1:
        try:
            _check_header(get_workflow_template(catalog.store, names.pop()), header)
        except NotFoundError:
            pass  # reported for every row by the batch check
    return register_batch(catalog, [r for _, r in rows], [f"row {n}" for n, _ in rows])
