"""``LineageGraph.to_openlineage()`` and ``steplineage openlineage status|flush``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import steplineage as sl
from steplineage.cli import app
from steplineage.openlineage.ingest import ingest_events
from ol_helpers import emitting, read_jsonl, schema_problems


def test_a_graph_exports_valid_events_that_rebuild_it_elsewhere(catalog, data_dir, tmp_path):
    catalog.add_resource("raw", uri=f"file://{data_dir}", role="source-data")
    with catalog.create_execution(sl.ExecutionConfig(workflow="etl")) as parent:
        with parent.child("clean", inputs=[sl.ResourceRef("raw", "jan.csv")],
                          outputs=[sl.ResourceRef("raw", "clean.csv")]) as step:
            (data_dir / "clean.csv").write_text("id\n1\n")
    graph = catalog.lineage.upstream(f"execution:{step.id}")
    uris = {r.name: r.uri for r in catalog.list_resources()}
    events = graph.to_openlineage(resource_uris=uris)
    assert [e["eventType"] for e in events] == ["COMPLETE"]
    for event in events:
        assert schema_problems(event) == []
    (event,) = events
    assert event["inputs"][0]["name"] == f"{data_dir}/jan.csv"
    other = sl.Catalog(home=tmp_path / "other")
    other.add_resource("raw", uri=f"file://{data_dir}", role="source-data")
    assert ingest_events(other, events).accepted == 1
    copy = other.lineage.upstream(f"execution:{step.id}")
    assert {n.label for n in copy.of_kind("version")} == \
        {n.label for n in graph.of_kind("version")}

    def shape(g: sl.LineageGraph) -> set[tuple[str, str, str]]:
        label = {n.id: n.label for n in g.nodes}
        return {(label[e.source], e.relation, label[e.target]) for e in g.edges
                if e.relation != "associated"}  # agents (who ran it) are not in OpenLineage

    assert shape(copy) == shape(graph)
    other.close()


def test_cli_status_and_flush_of_the_outbox(sl_home: Path, tmp_path: Path, monkeypatch):
    log = tmp_path / "events.jsonl"
    broken = {"type": "file", "log_file_path": str(tmp_path / "missing" / "x.jsonl"),
              "append": True}
    with emitting(broken):  # a directory that does not exist: every send fails
        cat = sl.Catalog(home=sl_home)
    with cat.create_execution(sl.ExecutionConfig(workflow="cli")):
        pass
    runner = CliRunner()
    monkeypatch.setenv("STEPLINEAGE_OPENLINEAGE_TRANSPORT", json.dumps(broken))
    status = runner.invoke(app, ["openlineage", "status", "--home", str(sl_home)])
    assert status.exit_code == 0
    assert "3 event(s) waiting" in status.output
    failed = runner.invoke(app, ["openlineage", "flush", "--home", str(sl_home)])
    assert failed.exit_code == 1 and "send failed" in failed.output
    monkeypatch.setenv("STEPLINEAGE_OPENLINEAGE_TRANSPORT",
                       json.dumps({"type": "file", "log_file_path": str(log), "append": True}))
    sent = runner.invoke(app, ["openlineage", "flush", "--home", str(sl_home)])
    assert sent.exit_code == 0, sent.output
    assert "sent 3 event(s); 0 remain" in sent.output
    assert [e["eventType"] for e in read_jsonl(log)] == ["START", "RUNNING", "COMPLETE"]
    assert "empty" in runner.invoke(app, ["openlineage", "status",
                                          "--home", str(sl_home)]).output
    cat.close()
