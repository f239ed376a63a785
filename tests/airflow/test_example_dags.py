"""The example DAGs in dags/, run with dag.test() on the embedded catalog."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

import steplineage as sl
from steplineage.airflow.adapter import dag_run_execution_id
from airflow_catalog_checks import dag_runs, edges, one_run, sha256_of, statuses

DONE = ["created", "initializing", "running", "uploading", "completed"]


def test_etl_links_steps_through_staged_files_and_redacts_secrets(
        run_dag, sl_home: Path, examples_dir: Path) -> None:
    dr = run_dag("steplineage_etl")
    assert dr.state == "success"
    cat = sl.Catalog(home=sl_home)
    run = one_run(cat, "steplineage_etl")

    # One parent per DAG run, with the id every task process derives on its own.
    assert run.parent.id == dag_run_execution_id("steplineage_etl", dr.run_id)
    assert run.parent.status is sl.Status.completed
    assert run.parent.orchestrator.run_id == dr.run_id
    assert sorted(c.name for c in run.children) == ["extract", "load", "transform"]
    for child in run.children:
        assert statuses(child) == DONE
        assert child.orchestrator.try_number == 1 and child.orchestrator.map_index is None
        assert child.duration_seconds is not None and child.duration_seconds >= 0

    extract, transform, load = (run.only(n) for n in ("extract", "transform", "load"))
    raw = examples_dir / "etl" / "staging" / "raw_orders.csv"
    clean = examples_dir / "etl" / "staging" / "clean_orders.csv"
    # extract -> transform -> load meet at the exact versions (content hashes) they shared.
    (raw_out,) = edges(cat, extract, "output")
    (raw_in,) = edges(cat, transform, "input")
    (clean_out,) = edges(cat, transform, "output")
    (clean_in,) = edges(cat, load, "input")
    assert raw_out.ref == raw_in.ref == sl.ResourceRef("etl_raw_orders")
    assert raw_out.version_hash == raw_in.version_hash == sha256_of(raw)
    assert clean_out.version_hash == clean_in.version_hash == sha256_of(clean)
    assert raw_out.valid and clean_out.valid

    assert transform.metrics["rows_in"] == 40
    assert transform.metrics["rows_out"] + transform.metrics["dropped"] == 40
    assert load.metrics["total_rows"] == transform.metrics["rows_out"]
    # Secret-looking parameters never reach the catalog; the others are kept.
    assert extract.parameters["api_token"] == "***"
    assert load.parameters["db_password"] == "***"
    assert extract.parameters["orders_per_day"] == "40"
    assert "demo-token-123" not in json.dumps([c.parameters for c in run.children])
    # Outputs declared as Assets still produce Airflow asset events (data-aware scheduling).
    assert _asset_events(dr.run_id) == {"etl_raw_orders", "etl_clean_orders", "etl_warehouse"}


def _asset_events(run_id: str) -> set[str]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return set(session.scalars(
            select(AssetModel.name).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)))


def test_ml_training_stages_verified_assets_and_writes_results(
        run_dag, sl_home: Path, examples_dir: Path) -> None:
    dr = run_dag("steplineage_ml_training")
    assert dr.state == "success"
    cat = sl.Catalog(home=sl_home)
    run = one_run(cat, "steplineage_ml_training")
    # register_vocabulary is a plain @task: not tracked (the listener is off).
    assert sorted(c.name for c in run.children) == [
        "collect_measurements", "evaluate", "prepare_data", "train"]
    assert run.parent.status is sl.Status.completed

    datasets = {a.filename: a for a in cat.list_assets("Dataset")}
    (model,) = cat.list_assets("Model")
    assert set(datasets) == {"train.csv", "test.csv"}
    assert datasets["train.csv"].asset_types == ["Training_Data"]
    assert model.asset_types == ["Trained_Model"]
    # Staged inputs are the uploaded assets (verified against these sha256 on download).
    prepare, train, evaluate = (run.only(n) for n in ("prepare_data", "train", "evaluate"))
    assert {e.asset_id for e in edges(cat, prepare, "output")} == {
        a.id for a in datasets.values()}
    assert {e.asset_id for e in edges(cat, train, "input")} == {a.id for a in datasets.values()}
    assert [e.asset_id for e in edges(cat, train, "output")] == [model.id]
    assert {e.asset_id for e in edges(cat, evaluate, "input")} == {
        model.id, *(a.id for a in datasets.values())}
    for asset in [model, *datasets.values()]:
        assert asset.url == cat.object_store.url_for(asset.sha256)
        assert sha256_of(_stored(asset)) == asset.sha256

    assert [h.message for h in train.history if h.message.startswith("epoch")] == [
        "epoch 15/60", "epoch 30/60", "epoch 45/60", "epoch 60/60"]
    assert train.parameters == {"learning_rate": 0.5, "epochs": 60}
    assert train.metrics["train_accuracy"] > 0.8

    results_file = examples_dir / "ml" / "results" / "results.json"
    results = json.loads(results_file.read_text())
    assert results["execution_id"] == evaluate.id
    assert results["metrics"] == evaluate.metrics and evaluate.results is not None
    (results_out,) = edges(cat, evaluate, "output")
    assert results_out.ref == sl.ResourceRef("ml_results") and results_out.valid
    # collect -> prepare share the measurements file version.
    collect = run.only("collect_measurements")
    assert edges(cat, collect, "output")[0].version_hash == edges(cat, prepare, "input")[
        0].version_hash == sha256_of(examples_dir / "ml" / "source" / "measurements.csv")


def test_staged_input_with_wrong_checksum_fails_the_task(
        run_dag, sl_home: Path, examples_dir: Path) -> None:
    """A corrupted object-store copy must fail the step, even though tracking is lenient."""
    assert run_dag("steplineage_ml_training").state == "success"
    cat = sl.Catalog(home=sl_home)
    (model,) = cat.list_assets("Model")
    stored = _stored(model)
    # Same size, other bytes: the retrained (identical) model is not uploaded again,
    # so evaluate stages the corrupted copy.
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[::-1])
    dr = run_dag("steplineage_ml_training")
    assert dr.state == "failed"
    evaluate = [c for c in one_run_latest(cat, dr.run_id).children if c.name == "evaluate"]
    assert [e.status for e in evaluate] == [sl.Status.failed]
    assert "checksum mismatch" in evaluate[0].status_message


def _stored(asset: sl.AssetRecord) -> Path:
    return Path(urlparse(asset.url).path)


def one_run_latest(cat: sl.Catalog, run_id: str):
    (run,) = [r for r in dag_runs(cat, "steplineage_ml_training")
              if r.parent.orchestrator.run_id == run_id]
    return run


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_etl_runs_untracked_when_the_catalog_is_down(
        run_dag, sl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracking never fails a pipeline that does not ask for it to (non-strict default)."""
    import os

    monkeypatch.setenv("AIRFLOW_CONN_STEPLINEAGE_DEFAULT", os.environ["AIRFLOW_CONN_SL_DOWN"])
    dr = run_dag("steplineage_etl")
    assert dr.state == "success"
    assert {ti.task_id: str(ti.state) for ti in dr.get_task_instances()} == {
        "extract": "success", "transform": "success", "load": "success"}
    # Nothing was written to the embedded catalog in its place.
    assert not (sl_home / "catalog.db").exists()
