"""The step tracker both orchestrator adapters use: guard, workflow, parameters, life cycle."""

from __future__ import annotations

import logging
import socket
import uuid
from pathlib import Path

import pytest

import steplineage as sl
from steplineage.settings import get_settings
from steplineage.tracking.step import MAX_PARAM_CHARS, StepRun, StepTracker, summarise_parameters


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_parameters_are_redacted_first_then_cut() -> None:
    params = {"rows": list(range(5000)), "api_token": "t" * 5000,
              "conn": {"password": "hunter2", "host": "db"}, "n": 3}
    out = summarise_parameters(params, ["token", "password"])
    assert out["api_token"] == "***"  # a secret is never summarised, it is gone
    assert out["conn"] == {"password": "***", "host": "db"}
    assert out["rows"].startswith("<list of 5000 items,") and out["rows"].endswith("not stored>")
    assert out["n"] == 3
    assert summarise_parameters({"s": "x" * MAX_PARAM_CHARS})["s"].startswith("<str, ")


def test_the_guard_logs_or_raises_and_lets_wrong_data_through(
        catalog: sl.Catalog, caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise RuntimeError("no luck")

    lenient = StepTracker(lambda: catalog, strict=False, task_id="load")
    with caplog.at_level(logging.WARNING, "steplineage"):
        assert lenient.call("record the task start", boom) is None
    assert "could not record the task start (task_id=load): RuntimeError: no luck" in caplog.text
    with pytest.raises(sl.TrackingError, match="strict=False"):
        StepTracker(lambda: catalog, strict=True).call("record the task start", boom)
    with pytest.raises(sl.LineageConsistencyError):
        with lenient.guard("stage the inputs"):
            raise sl.LineageConsistencyError("two versions of raw")


def test_a_step_begins_and_completes_and_a_final_record_is_left_alone(
        catalog: sl.Catalog) -> None:
    run = StepRun(name="load", workflow="etl", execution_id=str(uuid.uuid4()),
                  parameters={"day": "mon", "password": "pw"})
    tracker = StepTracker(lambda: catalog, strict=True, task_id="load")
    exe = tracker.begin("record the start", lambda cat: run)
    assert exe is not None and exe.status is sl.Status.running
    tracker.complete()
    record = catalog.get_execution(run.execution_id)
    assert record.status is sl.Status.completed
    assert record.parameters == {"day": "mon", "password": "***"}
    # The same run again (a process that came back): not rewritten, goes on untracked.
    again = StepTracker(lambda: catalog, strict=True)
    assert again.begin("record the start", lambda cat: run) is None
    assert catalog.get_execution(run.execution_id).history == record.history


def test_while_the_catalog_is_down_the_workflow_record_is_computed_offline(
        sl_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "etl.py"
    source.write_text("print('etl')\n")
    down = sl.Catalog(f"postgresql+psycopg://sl@127.0.0.1:{_unused_port()}/catalog",
                      settings=get_settings(home=sl_home, timeout_seconds=2))
    offline = StepTracker(lambda: down, strict=False).workflow(
        "etl", "airflow-dag", source=source, description="Airflow DAG etl")
    online = sl.Catalog(home=sl_home).add_workflow(
        "etl", "airflow-dag", source=source, description="Airflow DAG etl")
    assert offline == online  # same id: spooled writes replay onto the registered workflow
    with pytest.raises(sl.CatalogUnavailableError):
        StepTracker(lambda: down, strict=True).workflow("etl", "airflow-dag", source=source)


def test_workflows_are_cached_for_cache_seconds(sl_home: Path) -> None:
    remembering = sl.Catalog(settings=get_settings(home=sl_home, cache_seconds=3600))
    fresh = sl.Catalog(settings=get_settings(home=sl_home, cache_seconds=0))
    for cat in (remembering, fresh):
        assert cat.workflow_for_step("etl", "airflow-dag", exact=True).active
    sl.Catalog(home=sl_home).set_workflow_active("etl", False)
    assert remembering.workflow_for_step("etl", "airflow-dag", exact=True).active
    assert not fresh.workflow_for_step("etl", "airflow-dag", exact=True).active
    assert not fresh.workflow_for_step("etl").active  # the newest called "etl"
