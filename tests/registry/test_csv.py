"""Model runs as CSV: template, import, write-back; hostile files are refused by row and column."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steplineage as sl
from steplineage.registry.csv_io import MAX_CELL_CHARS
from tests.registry.registry_setup import Setup, flood_record, flood_setup

HEADER = ("template,display_name,description,start_time,end_time,input:rainfall,input:dem,"
          "input:model,input:calibration,output:depths,annotation:region,annotation:note,"
          "agent:modeller,agent:organisation,agent:runner")


@pytest.fixture
def setup(catalog: sl.Catalog, tmp_path: Path) -> Setup:
    return flood_setup(catalog, tmp_path)


def _csv(rows: list[list[str]], header: str = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue()


def _row(setup: Setup, n: int, **cells: str) -> list[str]:
    values = {"template": "flood-model", "display_name": f"run {n}", "description": "",
              "start_time": "2024-03-01T10:00:00+00:00", "end_time": "2024-03-01T11:00:00+00:00",
              "input:rainfall": "rainfall", "input:dem": "dem:tile.tif",
              "input:model": setup.model_asset, "input:calibration": "",
              "output:depths": f"results:depths/{n}.nc", "annotation:region": "north",
              "annotation:note": "", "agent:modeller": "Ada Lovelace", "agent:organisation": "",
              "agent:runner": ""}
    values.update(cells)
    return [values[c] for c in HEADER.split(",")]


def _count(cat: sl.Catalog) -> int:
    return len(cat.list_executions(workflow="flood-model", limit=None))


def test_template_header_lists_slots_annotations_and_roles(catalog: sl.Catalog, setup: Setup,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    text = sl.generate_csv_template(catalog, "flood-model", out)
    assert text == HEADER + "\r\n" and out.read_bytes().decode() == text
    assert catalog.generate_csv_template(setup.template) == text


def test_round_trip_is_lossless(catalog: sl.Catalog, setup: Setup, tmp_path: Path) -> None:
    rows = [_row(setup, 1, **{"annotation:note": "=HYPERLINK(\"http://x\")",
                              "description": "multi\nline, \"quoted\""}),
            _row(setup, 2, **{"input:calibration": "dem:cal.csv", "agent:runner": "hpc-batch",
                              "annotation:note": "-3 dB", "input:rainfall": "rainfall@2"}),
            _row(setup, 3, **{"annotation:note": "'already quoted", "display_name": "@sum(1)"})]
    first = tmp_path / "first.csv"
    first.write_text(_csv(rows), encoding="utf-8", newline="")
    result = sl.import_model_runs_csv(catalog, first)
    assert len(result.run_ids) == 3
    imported = [catalog.get_model_run(r).record for r in result.run_ids]
    assert imported[0].annotations["note"] == "=HYPERLINK(\"http://x\")"
    assert imported[2].annotations["note"] == "'already quoted"[1:]  # one leading ' is the escape
    written = sl.regenerate_csv_from_batch(catalog, result.batch_id, tmp_path / "back.csv")
    # Dangerous cells come back escaped, so a spreadsheet shows them as text.
    back_rows = list(csv.reader(io.StringIO(written, newline="")))
    assert back_rows[1][HEADER.split(",").index("annotation:note")] == "'=HYPERLINK(\"http://x\")"
    assert back_rows[2][HEADER.split(",").index("annotation:note")] == "'-3 dB"
    assert back_rows[3][1] == "'@sum(1)"
    # Importing what was written back registers the very same records, and writes the same CSV.
    again = sl.import_model_runs_csv(catalog, tmp_path / "back.csv")
    assert [catalog.get_model_run(r).record for r in again.run_ids] == imported
    assert sl.regenerate_csv_from_batch(catalog, again.batch_id) == written


def test_ten_thousand_row_import(catalog: sl.Catalog, setup: Setup, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(_csv([_row(setup, n, **{"annotation:note": f"cell {n}"})
                          for n in range(10_000)]), encoding="utf-8", newline="")
    result = catalog.import_model_runs_csv(path)
    assert len(result.run_ids) == 10_000 and _count(catalog) == 10_000
    last = catalog.get_model_run(result.run_ids[-1])
    assert (last.batch_row, last.record.annotations["note"]) == (10_000, "cell 9999")
    assert len(catalog.list_edges(result.run_ids[-1])) == 4
    assert catalog.regenerate_csv_from_batch(result.batch_id) == path.read_bytes().decode()


def test_bad_rows_are_reported_by_csv_row_number(catalog: sl.Catalog, setup: Setup,
                                                 tmp_path: Path) -> None:
    rows = [_row(setup, 1), _row(setup, 2, **{"input:rainfall": "snow"}), _row(setup, 3),
            _row(setup, 4, **{"annotation:region": ""}),
            _row(setup, 5, **{"end_time": "yesterday"})]
    path = tmp_path / "bad.csv"
    path.write_text(_csv(rows), encoding="utf-8", newline="")
    with pytest.raises(sl.ModelRunValidationError) as err:
        sl.import_model_runs_csv(catalog, path)
    # row 1 is the header: the second run is row 3
    assert [p.split(":")[0] for p in err.value.problems] == ["row 3", "row 5", "row 6"]
    assert _count(catalog) == 0


@pytest.mark.parametrize(("content", "row", "column", "message"), [
    (lambda ok: ok.encode("utf-16"), 1, None, "UTF-16"),
    (lambda ok: ok.encode() + b"flood-model,caf\xe9\r\n", 3, None, "not UTF-8"),
    (lambda ok: ok.replace("run 1", "run\x001").encode(), 2, "display_name", "NUL"),
    (lambda ok: ok.encode() + b"flood-model,short\r\n", 3, None, "has 2 cells"),
    (lambda ok: ok.replace("template,", "template,display_name,", 1).encode(), 1,
     "display_name", "appears twice"),
    (lambda ok: ok.replace("annotation:note", "annotation:colour").encode(), 1,
     "annotation:colour", "not a column of template"),
    (lambda ok: ok.replace("annotation:note", "notes").encode(), 1, "notes",
     "not a model-run column"),
    (lambda ok: ok.replace(",output:depths", ",output:other").encode(), 1, "output:other",
     "not a column"),
    (lambda ok: ok.replace("run 1", "x" * (MAX_CELL_CHARS + 1)).encode(), 2, "display_name",
     "more than"),
    (lambda ok: ok.replace("run 1", "y" * 200_000).encode(), 2, None, "not valid CSV"),
    (lambda ok: ok.encode() + b'flood-model,"unclosed\r\n', 3, None, "not valid CSV"),
    (lambda ok: b"", 1, None, "empty"),
])
def test_hostile_files_are_refused_with_row_and_column(catalog: sl.Catalog, setup: Setup,
                                                       tmp_path: Path, content, row, column,
                                                       message) -> None:
    ok = _csv([_row(setup, 1)])
    path = tmp_path / "hostile.csv"
    path.write_bytes(content(ok))
    with pytest.raises(sl.CsvFormatError, match=message) as err:
        sl.import_model_runs_csv(catalog, path)
    assert (err.value.row, err.value.column) == (row, column)
    assert _count(catalog) == 0


def test_a_utf8_bom_and_trailing_blank_lines_are_fine(catalog: sl.Catalog, setup: Setup,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(codecs.BOM_UTF8 + _csv([_row(setup, 1)]).encode() + b"\r\n\r\n")
    assert len(sl.import_model_runs_csv(catalog, path).run_ids) == 1


_CELL = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=400) | st.lists(st.lists(_CELL, max_size=18), max_size=4).map(
    lambda rows: _csv(rows).encode()))
def test_any_bytes_either_import_or_raise_our_error(catalog: sl.Catalog, setup: Setup,
                                                    tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    before = _count(catalog)
    try:
        result = sl.import_model_runs_csv(catalog, path)
    except sl.SteplineageError:
        assert _count(catalog) == before  # nothing half-written
    else:
        assert _count(catalog) == before + len(result.run_ids)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(note=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                    min_size=1, max_size=40),
       name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                    min_size=1, max_size=40).filter(lambda s: s.strip() != ""))
def test_any_text_survives_the_round_trip(catalog: sl.Catalog, setup: Setup, tmp_path: Path,
                                          note: str, name: str) -> None:
    record = sl.ModelRunRecord(**flood_record(setup, display_name=name,
                                              annotations={"region": "north", "note": note}))
    result = catalog.register_batch_model_runs([record])
    path = tmp_path / "rt.csv"
    written = catalog.regenerate_csv_from_batch(result.batch_id, path)
    for cell in next(csv.reader(io.StringIO(written.split("\r\n", 1)[1], newline=""))):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    again = catalog.import_model_runs_csv(path)
    assert catalog.get_model_run(again.run_ids[0]).record == record
