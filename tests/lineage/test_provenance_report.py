"""Provenance reports (HTML and .docx) of an execution and of a dataset version."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import docx
import pytest

import steplineage as sl
from steplineage.export.provenance import build_provenance_report, write_provenance_report

EVIL = "<script>alert('x')</script>"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _docx_text(path: Path) -> str:
    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


@pytest.fixture
def pipeline(catalog: sl.Catalog, data_dir: Path) -> dict[str, str]:
    """prepare reads jan.csv and writes clean.csv; train reads it and saves a Model asset."""
    cat = catalog
    cat.add_resource("data", uri=data_dir, role="source-data")
    cat.create_asset_table("Model")
    with cat.create_execution(sl.ExecutionConfig(
            workflow="prepare", inputs=[data_dir / "jan.csv"], outputs=[data_dir / "clean.csv"],
            parameters={"min_amount": 5})) as prepare:
        (data_dir / "clean.csv").write_text("id,amount\n1,10\n")
        prepare.log_metrics({"rows": 1})
    model_bytes = b'{"weights": [1, 2, 3]}'
    with cat.create_execution(sl.ExecutionConfig(
            workflow="train", inputs=[data_dir / "clean.csv"], description=f"nightly {EVIL}",
            parameters={"lr": 0.1, "note": EVIL, "nested": {"depth": 3}})) as train:
        train.asset_file_path("Model", "model.json").write_bytes(model_bytes)
        train.log_metrics({"accuracy": 0.93})
        train.write_results({"auc": 0.88})
    cat.link_agent(train.id, "ml-team")
    [model] = cat.list_assets("Model")
    return {"prepare": prepare.id, "train": train.id, "model": model.id,
            "jan": _sha256((data_dir / "jan.csv").read_bytes()),
            "clean": _sha256((data_dir / "clean.csv").read_bytes()),
            "model_sha256": _sha256(model_bytes), "model_md5": hashlib.md5(model_bytes).hexdigest()}


def test_execution_report_content(catalog: sl.Catalog, pipeline: dict[str, str]) -> None:
    report = build_provenance_report(catalog, pipeline["train"])
    assert report.subject_kind == "execution" and report.subject_id == pipeline["train"]
    assert [(i.role, i.name, i.checksum) for i in report.inputs] == \
        [("input", "data:clean.csv", pipeline["clean"])]
    [out] = report.outputs
    assert (out.name, out.checksum, out.md5, out.valid) == \
        ("Model/model.json", pipeline["model_sha256"], pipeline["model_md5"], True)
    assert [(s.relation, s.name) for s in report.steps] == [("this", "train"),
                                                             ("producer", "prepare")]
    assert {a.name: a.steps for a in report.agents}["ml-team"] == ["train"]
    assert {(v.key, v.value) for v in report.parameters} == \
        {("lr", "0.1"), ("note", EVIL), ("nested.depth", "3")}
    # write_results records its values as metrics too
    assert {(v.key, v.value) for v in report.metrics} == {("accuracy", "0.93"), ("auc", "0.88")}
    assert ("metrics.auc", "0.88") in {(v.key, v.value) for v in report.results}
    assert dict(report.facts)["Status"].startswith("completed")
    assert [h[1] for h in report.history][-1] == "completed"


def test_docx_opens_and_holds_checksums_parameters_and_metrics(
        catalog: sl.Catalog, pipeline: dict[str, str], tmp_path: Path) -> None:
    path = write_provenance_report(catalog, f"execution:{pipeline['train']}",
                                   tmp_path / "out" / "train.docx")
    assert path.exists() and list(path.parent.iterdir()) == [path]  # no temp file left
    text = _docx_text(path)
    for expected in (pipeline["clean"], pipeline["model_sha256"], pipeline["model_md5"],
                     pipeline["train"], pipeline["prepare"], "Provenance of execution train",
                     "accuracy", "0.93", "nested.depth", "ml-team", EVIL):
        assert expected in text, expected
    doc = docx.Document(str(path))
    assert doc.core_properties.title == "Provenance of execution train"
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == ["Summary", "Inputs", "Steps", "Outputs", "Agents", "Parameters",
                        "Metrics", "Results", "Status history"]


def test_html_report_escapes_everything(catalog: sl.Catalog, pipeline: dict[str, str],
                                        tmp_path: Path) -> None:
    path = write_provenance_report(catalog, pipeline["train"], tmp_path / "train.html")
    page = path.read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert pipeline["clean"] in page and pipeline["model_sha256"] in page
    assert re.search(r"<h2>Inputs</h2>\s*<table>", page)


def test_dataset_version_report(catalog: sl.Catalog, pipeline: dict[str, str],
                                tmp_path: Path) -> None:
    catalog.create_dataset("release")
    catalog.add_dataset_version("release", [pipeline["model"]])
    catalog.add_dataset_version("release", [pipeline["model"], sl.ResourceRef("data",
                                                                               "clean.csv")])
    v1 = build_provenance_report(catalog, "release@1")
    latest = build_provenance_report(catalog, "release")
    assert v1.title == "Provenance of dataset release v1"
    assert latest.title == "Provenance of dataset release v2"
    assert [(m.role, m.name, m.checksum) for m in v1.outputs] == \
        [("member", "Model/model.json", pipeline["model_sha256"])]
    assert {m.name for m in latest.outputs} == {"Model/model.json", "data:clean.csv"}
    assert {(i.name, i.checksum) for i in v1.inputs} == {("data:clean.csv", pipeline["clean"]),
                                                         ("data:jan.csv", pipeline["jan"])}
    assert [(s.relation, s.name) for s in v1.steps] == [("producer", "train"),
                                                        ("upstream", "prepare")]
    assert {v.key for v in v1.parameters} == {"lr", "note", "nested.depth", "min_amount"}
    path = latest.write_docx(tmp_path / "release.docx")
    text = _docx_text(path)
    assert pipeline["model_sha256"] in text and pipeline["clean"] in text
    assert "Members" in text and "Upstream data" in text
    same = build_provenance_report(catalog, f"dataset_version:{latest.subject_id}")
    assert same.subject_id == latest.subject_id


def test_unknown_subjects_are_not_found(catalog: sl.Catalog) -> None:
    with pytest.raises(sl.NotFoundError, match="nothing to report on"):
        build_provenance_report(catalog, "no-such-thing")
    catalog.create_dataset("empty")
    with pytest.raises(sl.NotFoundError, match="no version"):
        build_provenance_report(catalog, "empty@3")
