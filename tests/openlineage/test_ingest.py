"""Accepting OpenLineage events: mapping to executions, refs and versions; re-delivery;
out-of-order delivery; malformed events. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import steplineage as sl
from steplineage.cli import app
from steplineage.openlineage.ingest import ingest_events, read_event_file
from ol_helpers import new_run, run_event


def _statuses(cat: sl.Catalog, exe_id: str) -> list[str]:
    return [h.status.value for h in cat.get_execution(exe_id).history]


def test_a_run_becomes_an_execution_with_its_parent_inputs_and_outputs(catalog):
    dag, task = new_run(), new_run()
    events = [run_event("START", dag, "daily", 0),
              run_event("START", task, "daily.clean", 1, parent=(dag, "daily"),
                        inputs=("/lake/raw.csv",), outputs=("/lake/clean.csv",)),
              run_event("COMPLETE", task, "daily.clean", 3, parent=(dag, "daily"),
                        inputs=("/lake/raw.csv",), outputs=("/lake/clean.csv",)),
              run_event("COMPLETE", dag, "daily", 4)]
    result = ingest_events(catalog, events)
    assert (result.accepted, result.duplicates, result.rejected) == (4, 0, [])
    exe = catalog.get_execution(task)
    assert (exe.name, exe.status, exe.parent_id) == ("clean", sl.Status.completed, dag)
    assert exe.duration_seconds == 120.0
    assert _statuses(catalog, task) == ["created", "running", "completed"]
    graph = catalog.lineage.upstream(f"execution:{task}", depth=1)
    assert {n.label for n in graph.of_kind("version")} == {"file:lake/raw.csv"}
    down = catalog.lineage.downstream(f"execution:{task}", depth=1)
    assert {n.label for n in down.of_kind("version")} == {"file:lake/clean.csv"}
    assert [e.name for e in catalog.list_executions(workflow="daily")] != []


def test_datasets_land_in_a_registered_resource_that_covers_them(catalog, tmp_path):
    catalog.add_resource("lake", uri="file:///lake", role="source-data")
    run = new_run()
    ingest_events(catalog, [run_event("COMPLETE", run, "load", 1, inputs=("/lake/2024/a.csv",))])
    (node,) = catalog.lineage.upstream(f"execution:{run}", depth=1).of_kind("version")
    assert (node.attrs["resource"], node.attrs["subpath"]) == ("lake", "2024/a.csv")


def test_a_writer_and_a_later_reader_meet_in_the_graph(catalog):
    writer, reader = new_run(), new_run()
    ingest_events(catalog, [
        run_event("COMPLETE", writer, "extract", 1, outputs=("/lake/t.parquet",)),
        run_event("COMPLETE", reader, "report", 2, inputs=("/lake/t.parquet",))])
    up = catalog.lineage.upstream(f"execution:{reader}")
    assert f"execution:{writer}" in {n.id for n in up.nodes}


def test_redelivery_changes_nothing(catalog):
    run = new_run()
    events = [run_event("START", run, "j", 1, inputs=("/a",)),
              run_event("COMPLETE", run, "j", 2, inputs=("/a",), outputs=("/b",))]
    ingest_events(catalog, events)
    before = catalog.get_execution(run)
    again = ingest_events(catalog, events + events)
    assert (again.accepted, again.duplicates, again.executions_created) == (4, 4, 0)
    after = catalog.get_execution(run)
    assert _statuses(catalog, run) == ["created", "running", "completed"]
    assert after.history == before.history
    assert len(catalog.list_edges(run)) == 2


def test_complete_before_start_does_not_crash_and_keeps_the_real_start_time(catalog):
    run = new_run()
    ingest_events(catalog, [run_event("COMPLETE", run, "late", 9, outputs=("/out",))])
    assert catalog.get_execution(run).status is sl.Status.completed
    ingest_events(catalog, [run_event("START", run, "late", 2)])
    exe = catalog.get_execution(run)
    assert exe.status is sl.Status.completed
    assert exe.duration_seconds == 7 * 60
    assert _statuses(catalog, run) == ["created", "running", "completed", "running"]
    assert "not applied" in exe.history[-1].message


def test_fail_and_abort_map_to_final_statuses_and_outputs_stay_invalid(catalog):
    failed, aborted = new_run(), new_run()
    error = {"errorMessage": {"_producer": "https://example.com", "_schemaURL":
                              "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
                              "message": "division by zero", "programmingLanguage": "python"}}
    ingest_events(catalog, [
        run_event("START", failed, "f", 1, outputs=("/o1",)),
        run_event("FAIL", failed, "f", 2, outputs=("/o1",), facets=error),
        run_event("ABORT", aborted, "a", 1)])
    exe = catalog.get_execution(failed)
    assert (exe.status, exe.status_message) == (sl.Status.failed, "division by zero")
    assert [e.valid for e in catalog.list_edges(failed)] == [False]
    assert catalog.get_execution(aborted).status is sl.Status.aborted


def test_malformed_events_are_rejected_by_position_and_valid_ones_kept(catalog):
    good = new_run()
    events = [run_event("START", good, "ok", 1),
              {**run_event("START", new_run(), "x", 1), "eventType": "FINISHED"},
              {**run_event("START", new_run(), "x", 1), "run": {"runId": "not-a-uuid"}},
              {**run_event("START", new_run(), "x", 1), "eventTime": "yesterday"},
              "{not json",
              {**run_event("START", new_run(), "x", 1), "job": {"namespace": "n"}}]
    result = ingest_events(catalog, events)
    assert result.accepted == 1
    problems = {r.index: r.problem for r in result.rejected}
    assert "FINISHED" in problems[1] and "eventType" in problems[1]
    assert problems[2] == "run.runId: 'not-a-uuid' is not a UUID"
    assert problems[3].startswith("eventTime:")
    assert problems[4].startswith("not JSON")
    assert problems[5] == "job.name: is missing"
    assert catalog.get_execution(good).status is sl.Status.running


def test_airflow_provider_facets_give_dag_run_and_task_ids(catalog):
    dag_run, ti = new_run(), new_run()
    airflow = {"airflow": {"_producer": "https://example.com", "_schemaURL": "https://x.org/s",
                           "dag": {"dag_id": "etl"}, "dagRun": {"run_id": "manual__1"},
                           "task": {"task_id": "load"},
                           "taskInstance": {"try_number": 1, "map_index": None},
                           "taskUuid": ti}}
    ingest_events(catalog, [run_event("START", ti, "etl.load", 1, parent=(dag_run, "etl"),
                                      facets=airflow, inputs=("/in",))])
    exe = catalog.get_execution(ti)
    ident = exe.orchestrator
    assert (ident.dag_id, ident.run_id, ident.task_id, ident.try_number) == \
        ("etl", "manual__1", "load", 1)
    parent = catalog.get_execution(dag_run)
    assert (parent.orchestrator.dag_id, parent.orchestrator.run_id) == ("etl", "manual__1")


def test_event_files_json_lines_arrays_and_pretty_printed(tmp_path):
    a, b = run_event("START", new_run(), "j", 1), run_event("START", new_run(), "j", 2)
    assert read_event_file("\n".join(json.dumps(e) for e in (a, b))) == [a, b]
    assert read_event_file(json.dumps([a, b])) == [a, b]
    assert read_event_file(json.dumps(a, indent=2) + "\n" + json.dumps(b, indent=2)) == [a, b]


def test_cli_ingest_reports_counts_and_rejections(catalog, tmp_path: Path):
    run = new_run()
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(run_event("START", run, "cli", 1)) + "\n")
    (folder / "b.json").write_text(json.dumps([run_event("COMPLETE", run, "cli", 2),
                                               {"eventType": "START"}]))
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(folder), "--url", catalog.url,
                                 "--home", str(catalog.settings.home)])
    assert result.exit_code == 1, result.output
    assert "3 event(s) in 2 file(s): 2 recorded" in result.output
    assert "eventTime: is missing" in result.output
    assert catalog.get_execution(run).status is sl.Status.completed


def test_our_own_events_sent_back_change_nothing(catalog, tmp_path, data_dir):
    from steplineage.openlineage.emitter import emitter_for
    from ol_helpers import emitting, read_jsonl

    log = tmp_path / "own.jsonl"
    with emitting({"type": "file", "log_file_path": str(log), "append": True}):
        source = sl.Catalog(catalog.url, home=catalog.settings.home)
    wf = source.add_workflow("train", workflow_type="script", version="1.2", url="git@x:y.git")
    with source.create_execution(sl.ExecutionConfig(workflow=wf)) as parent:
        with parent.child("fit") as child:
            pass
    assert emitter_for(source.settings).flush(timeout=30).remaining == 0
    before = {e.id: (e.name, e.workflow_id, e.parent_id, [h.status for h in e.history])
              for e in catalog.list_executions(limit=10)}
    result = ingest_events(catalog, read_jsonl(log))
    assert result.accepted == result.duplicates == len(read_jsonl(log))
    after = {e.id: (e.name, e.workflow_id, e.parent_id, [h.status for h in e.history])
             for e in catalog.list_executions(limit=10)}
    assert after == before and child.id in after
    source.close()


def test_concurrent_deliveries_of_the_same_events_record_them_once(catalog):
    from concurrent.futures import ThreadPoolExecutor

    runs = [new_run() for _ in range(50)]
    events = [ev for i, run in enumerate(runs) for ev in (
        run_event("START", run, f"job{i % 5}", 1, inputs=("/lake/in.csv",)),
        run_event("COMPLETE", run, f"job{i % 5}", 2, inputs=("/lake/in.csv",),
                  outputs=(f"/lake/out{i}.csv",)))]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ingest_events(catalog, events, batch_size=25),
                                range(4)))
    assert all(r.accepted == len(events) and not r.rejected for r in results)
    assert sum(r.executions_created for r in results) == len(runs)
    for run in runs[:5]:
        assert _statuses(catalog, run) == ["created", "running", "completed"]
        assert len(catalog.list_edges(run)) == 2
