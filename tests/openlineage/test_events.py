"""Emitted events are valid OpenLineage: every event type we send, checked against the
official JSON schema (vendored in spec/) and our own facets' published schemas, as written
by openlineage-python's file transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import steplineage as sl
from steplineage.openlineage.emitter import emitter_for
from ol_helpers import emitting, read_jsonl, schema_problems


def _run_pipeline(home: Path, data: Path) -> tuple[sl.Catalog, dict[str, str]]:
    """A parent with a child that reads, writes and uploads; a failing and an aborted step."""
    cat = sl.Catalog(home=home)
    cat.add_resource("raw", uri=f"file://{data}", role="source-data")
    out = home.parent / "out"
    out.mkdir()
    cat.add_resource("results", uri=f"file://{out}", role="results")
    cat.create_asset_table("Model", "Trained models")
    cat.add_asset_type("Trained", "A model after training")
    ids: dict[str, str] = {}
    with cat.create_execution(sl.ExecutionConfig(workflow="train")) as parent:
        ids["parent"] = parent.id
        cfg = dict(inputs=[sl.ResourceRef("raw", "jan.csv")],
                   outputs=[sl.ResourceRef("results", "summary.txt")])
        with parent.child("fit", **cfg) as child:
            ids["child"] = child.id
            child.update_status(sl.Status.running, "epoch 2/2")
            (out / "summary.txt").write_text("ok\n")
            child.asset_file_path("Model", "best.pt", asset_types=["Trained"]).write_bytes(b"w")
            child.log_metrics({"accuracy": 0.93, "rows": 2})
    with pytest.raises(ValueError):
        with cat.create_execution(sl.ExecutionConfig(workflow="train", name="broken")) as bad:
            ids["failed"] = bad.id
            raise ValueError("bad batch")
    with pytest.raises(KeyboardInterrupt):
        with cat.create_execution(sl.ExecutionConfig(workflow="train", name="stopped")) as stop:
            ids["aborted"] = stop.id
            raise KeyboardInterrupt
    result = emitter_for(cat.settings).flush(timeout=30)
    assert result.failed == 0 and result.remaining == 0
    return cat, ids


@pytest.fixture
def emitted(tmp_path: Path, sl_home: Path, data_dir: Path
            ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    log = tmp_path / "events.jsonl"
    with emitting({"type": "file", "log_file_path": str(log), "append": True}):
        cat, ids = _run_pipeline(sl_home, data_dir)
    cat.close()
    return read_jsonl(log), ids


def test_every_event_type_we_emit_validates_against_the_official_schema(emitted):
    events, _ = emitted
    assert {e["eventType"] for e in events} == {"START", "RUNNING", "COMPLETE", "FAIL", "ABORT"}
    for event in events:
        assert schema_problems(event) == [], event


def test_the_validator_rejects_what_the_spec_forbids(emitted):
    # The check above must be able to fail: break an event the ways producers get it wrong.
    event = emitted[0][0]
    broken = {**event, "eventType": "FINISHED", "run": {"runId": "run-1"}}
    problems = schema_problems(broken)
    assert any("FINISHED" in p for p in problems)
    assert any("run-1" in p for p in problems)
    child = next(e for e in emitted[0] if "parent" in e["run"]["facets"])
    no_job = {**child, "run": {**child["run"], "facets": {
        **child["run"]["facets"], "parent": {**child["run"]["facets"]["parent"], "job": {}}}}}
    assert any("namespace" in p for p in schema_problems(no_job))


def test_events_carry_hierarchy_checksums_metrics_and_errors(emitted):
    events, ids = emitted
    by_run: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_run.setdefault(e["run"]["runId"], []).append(e)
    child = by_run[ids["child"]]
    assert [e["eventType"] for e in child] == ["START", "RUNNING", "RUNNING", "COMPLETE"]
    parent_facet = child[0]["run"]["facets"]["parent"]
    assert parent_facet["run"]["runId"] == ids["parent"]
    assert parent_facet["job"]["name"] == "train"
    assert child[0]["job"]["name"] == "train.fit"
    done = child[-1]
    assert done["run"]["facets"]["steplineage_metrics"]["metrics"] == {"accuracy": 0.93,
                                                                       "rows": 2}
    (read,) = done["inputs"]
    assert read["namespace"] == "file" and read["name"].endswith("/data/jan.csv")
    assert len(read["facets"]["steplineage_checksums"]["sha256"]) == 64
    outputs = {o["name"].rsplit("/", 1)[-1]: o for o in done["outputs"]}
    assert outputs["summary.txt"]["facets"]["steplineage_checksums"]["length"] == 3
    model = next(o for o in done["outputs"] if "md5" in o["facets"]["steplineage_checksums"])
    assert model["facets"]["steplineage_checksums"]["length"] == 1
    (failed,) = [e for e in by_run[ids["failed"]] if e["eventType"] == "FAIL"]
    assert "bad batch" in failed["run"]["facets"]["errorMessage"]["message"]
    (aborted,) = [e for e in by_run[ids["aborted"]] if e["eventType"] == "ABORT"]
    assert aborted["run"]["facets"]["steplineage_execution"]["status"] == "aborted"
