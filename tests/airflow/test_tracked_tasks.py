"""Tracked tasks under dag.test(): retries, a catalog that is down, skips, generic operators."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from airflow_catalog_checks import dag_runs, edges, one_run, sha256_of, statuses

import steplineage as sl


def _ti_states(dr) -> dict[str, str]:
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"):
            str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}


def test_retry_gives_two_attempts_first_failed_with_its_message(run_dag, sl_home: Path,
                                                              examples_dir: Path) -> None:
    dr = run_dag("sl_test_retry")
    assert dr.state == "success"
    run = one_run(sl.Catalog(home=sl_home), "sl_test_retry")
    first, second = run.tries("flaky")
    assert [first.orchestrator.try_number, second.orchestrator.try_number] == [1, 2]
    assert first.id != second.id and first.parent_id == second.parent_id == run.parent.id
    assert first.status is sl.Status.failed
    assert "RuntimeError: flaky failure on the first try" in first.status_message
    assert statuses(first) == ["created", "initializing", "running", "failed"]
    assert second.status is sl.Status.completed
    cat = sl.Catalog(home=sl_home)
    # The failed try's output never became a valid version; the retry's did.
    (bad,) = edges(cat, first, "output")
    (good,) = edges(cat, second, "output")
    assert not bad.valid and bad.version_hash is None
    assert good.valid and good.version_hash == sha256_of(
        examples_dir / "tests" / "retry.txt")
    assert run.parent.status is sl.Status.completed


def test_catalog_down_lenient_task_succeeds_strict_task_fails(
        run_dag, sl_home: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    dr = run_dag("sl_test_down")
    assert _ti_states(dr) == {"lenient": "success", "strict": "failed"}
    assert dr.state == "failed"
    task_logs = capfd.readouterr().out
    assert "TrackingError: steplineage could not record the task start" in task_logs
    assert "task_id=strict" in task_logs and "Connection refused" in task_logs
    # The lenient task's records wait in the spool for that catalog to come back.
    assert "catalog unreachable while trying to record a new execution" in caplog.text
    down_url = json.loads(os.environ["AIRFLOW_CONN_SL_DOWN"])["extra"]["catalog_url"]
    down = sl.Catalog(down_url, home=sl_home)
    assert down.spool.pending(down.spool_key) > 0
    # Nothing went to the embedded catalog instead: the tasks named another connection.
    assert sl.Catalog(home=sl_home).list_executions(dag_id="sl_test_down") == []


def test_never_run_and_self_skipped_tasks_are_recorded_as_skipped(run_dag,
                                                                  sl_home: Path) -> None:
    dr = run_dag("sl_test_skips")
    assert _ti_states(dr) == {"boom": "failed", "after_boom": "upstream_failed",
                              "maybe": "skipped", "after_maybe": "skipped"}
    run = one_run(sl.Catalog(home=sl_home), "sl_test_skips")
    assert run.parent.status is sl.Status.failed
    assert "DAG run failed" in run.parent.status_message
    boom, after_boom, maybe, after_maybe = (
        run.only(n) for n in ("boom", "after_boom", "maybe", "after_maybe"))
    assert boom.status is sl.Status.failed and "ValueError: boom on purpose" in \
        boom.status_message
    assert maybe.status is sl.Status.skipped
    assert statuses(maybe)[-2:] == ["running", "skipped"]
    assert "nothing new today" in maybe.status_message
    for never in (after_boom, after_maybe):
        assert never.status is sl.Status.skipped
        assert never.orchestrator.try_number == 0
        assert "running" not in statuses(never)
    assert "upstream_failed" in after_boom.status_message
    assert "Airflow state skipped" in after_maybe.status_message


def test_tracked_bash_python_and_mapped_tasks(run_dag, sl_home: Path,
                                              examples_dir: Path) -> None:
    dr = run_dag("sl_test_generic")
    assert dr.state == "success"
    cat = sl.Catalog(home=sl_home)
    run = one_run(cat, "sl_test_generic")
    # plain_copy is a plain @task and the listener is off: not recorded.
    assert sorted(c.name for c in run.children) == [
        "part[0]", "part[1]", "summarise", "write_report"]
    write, summarise = run.only("write_report"), run.only("summarise")
    report = examples_dir / "tests" / "generic" / "report.txt"
    (written,) = edges(cat, write, "output")
    (read,) = edges(cat, summarise, "input")
    assert written.ref == read.ref and written.version_hash == read.version_hash == sha256_of(
        report)
    assert write.parameters["bash_command"].endswith(f"> {report}")
    # The callable got the live execution.
    assert summarise.metrics == {"chars": len(report.read_text())}
    # Masked by Airflow (a connection password) and by key name.
    assert summarise.parameters["dsn"] == "***"
    assert summarise.parameters["api_key"] == "***"
    assert "pw-s3cr3t-value" not in json.dumps([c.parameters for c in run.children])
    parts = [run.only("part[0]"), run.only("part[1]")]
    assert [p.orchestrator.map_index for p in parts] == [0, 1]
    assert [p.parameters["n"] for p in parts] == [2, 3]
    assert [edges(cat, p, "output")[0].ref.name for p in parts] == ["part-0.txt", "part-1.txt"]
    # The execution id of each try is in XCom for downstream tasks.
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(
            run_id=dr.run_id, dag_ids=dr.dag_id, task_ids="summarise",
            key="steplineage_execution_id")).first()
        assert row is not None and XComModel.deserialize_value(row) == summarise.id


def test_listener_records_plain_tasks_when_enabled(run_dag, sl_home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__STEPLINEAGE__TRACK_ALL_TASKS", "True")
    assert run_dag("sl_test_generic").state == "success"
    cat = sl.Catalog(home=sl_home)
    run = one_run(cat, "sl_test_generic")
    copy = run.only("plain_copy")
    assert statuses(copy) == ["created", "initializing", "running", "uploading", "completed"]
    # inlets/outlets Assets became refs; the inlet meets write_report's output version.
    (inlet,) = edges(cat, copy, "input")
    (outlet,) = edges(cat, copy, "output")
    assert inlet.version_hash == edges(cat, run.only("write_report"), "output")[0].version_hash
    assert outlet.ref == sl.ResourceRef("generic_copy") and outlet.valid
    # Tracked operators are recorded once, by themselves, not again by the listener.
    assert len(run.tries("summarise")) == 1
    assert len(dag_runs(cat, "sl_test_generic")) == 1


def test_clearing_a_finished_run_records_new_tries_under_the_same_parent(
        run_dag, sl_home: Path) -> None:
    """Re-running tasks of a DAG run (Airflow's "clear") is a new attempt, not a conflict."""
    from datetime import datetime, timezone

    when = datetime(2024, 5, 1, tzinfo=timezone.utc)
    first = run_dag("steplineage_etl", logical_date=when, run_after=when)
    again = run_dag("steplineage_etl", logical_date=when, run_after=when)
    assert first.run_id == again.run_id and again.state == "success"
    run = one_run(sl.Catalog(home=sl_home), "steplineage_etl")
    for name in ("extract", "transform", "load"):
        tries = run.tries(name)
        # dag.test() recreates cleared task instances, so try numbers may start again at 1;
        # Airflow's per-try task-instance id still tells the two attempts apart.
        assert len({t.id for t in tries}) == 2
        assert [t.status for t in tries] == [sl.Status.completed, sl.Status.completed]


def test_a_reaped_strict_task_finishes_and_keeps_its_end_in_the_history(run_dag,
                                                                        sl_home: Path) -> None:
    dr = run_dag("sl_test_reaped")
    assert _ti_states(dr) == {"outlived": "success"} and dr.state == "success"
    run = one_run(sl.Catalog(home=sl_home), "sl_test_reaped")
    task = run.only("outlived")
    assert task.status is sl.Status.aborted and task.status_message.startswith("reaped")
    assert [h.status.value for h in task.history if h.message.endswith(
        "[not applied: execution was already aborted]")] == ["running", "uploading", "completed"]
    # The DAG run's record was live as well: reaped too, and the end of the run leaves it so.
    assert run.parent.status is sl.Status.aborted


def test_a_long_running_scheduler_sees_a_workflow_switched_inactive(
        airflow_db: Path, sl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler records DAG-run ends in one process for weeks: it must see the switch."""
    from steplineage.airflow.adapter import UnrunTask, record_dag_run_end
    from steplineage.airflow.hooks import close_catalogs

    monkeypatch.setenv("STEPLINEAGE_CACHE_SECONDS", "0")  # the horizon, passed at once

    def end_of_run(run_id: str) -> sl.ExecutionRecord:
        parent = record_dag_run_end("nightly", run_id, succeeded=True, message="success",
                                    unrun=[UnrunTask("load", None, 0, "skipped")])
        assert parent is not None
        return sl.Catalog(home=sl_home).get_execution(parent)

    try:
        assert end_of_run("r1").status is sl.Status.completed
        sl.Catalog(home=sl_home).set_workflow_active("nightly", False)
        second = end_of_run("r2")
    finally:
        close_catalogs()
    assert second.status is sl.Status.skipped
    assert "workflow 'nightly' is inactive" in second.status_message
