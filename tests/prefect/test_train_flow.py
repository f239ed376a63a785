"""The training example: attempts of a retried task, asset staging, cache hits recorded as reuse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import ModuleType
from uuid import UUID

import pytest

import steplineage as sl


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracking failures fail the run, so a silently untracked run cannot pass a test."""
    monkeypatch.setenv("STEPLINEAGE_STRICT", "true")


def _named(cat: sl.Catalog, prefix: str) -> list[sl.ExecutionRecord]:
    found = [r for r in cat.list_executions(limit=None)
             if r.name.startswith(prefix + "-") and r.orchestrator.task_run_id]
    return sorted(found, key=lambda r: (r.created_at, r.orchestrator.run_count or 0))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def train_catalog(request: pytest.FixtureRequest, sl_home: Path, strict: None,
                  monkeypatch: pytest.MonkeyPatch) -> sl.Catalog:
    """The catalog the example records into: embedded SQLite, or PostgreSQL via the env."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        monkeypatch.setenv("STEPLINEAGE_CATALOG_URL", url)
        return sl.Catalog(url, home=sl_home)
    return sl.Catalog(home=sl_home)


def test_failing_twice_then_succeeding_gives_three_attempts(
        train_example: ModuleType, train_catalog: sl.Catalog, tmp_path: Path,
        prefect_client) -> None:
    metrics = train_example.train_model(base=str(tmp_path), epochs=60, fail_first=2)
    assert metrics["r2"] > 0.9

    attempts = _named(train_catalog, "train")
    assert [a.orchestrator.run_count for a in attempts] == [1, 2, 3]
    assert [a.status.value for a in attempts] == ["failed", "failed", "completed"]
    assert len({a.orchestrator.task_run_id for a in attempts}) == 1
    assert len({a.id for a in attempts}) == 3
    for attempt in attempts[:2]:
        assert "TransientTrainingError: simulated node loss on attempt" in attempt.status_message
        assert [h.status.value for h in attempt.history][-1] == "failed"
        # A failed attempt's declared outputs never become valid versions.
        assert not any(e.valid for e in train_catalog.list_edges(attempt.id, role="output"))
    flow = _named_flow(train_catalog, "train-model")
    assert {a.parent_id for a in attempts} == {flow.id}
    # Prefect agrees: one task run, completed on its third run.
    task_run = prefect_client.read_task_run(UUID(attempts[0].orchestrator.task_run_id))
    assert task_run.run_count == 3 and task_run.state.is_completed()

    # The successful attempt staged the model out as an asset with its checksums.
    model_edges = [e for e in train_catalog.list_edges(attempts[2].id, role="output")
                   if e.asset_id]
    assert len(model_edges) == 1 and model_edges[0].valid
    asset = train_catalog.get_asset(model_edges[0].asset_id)
    assert (asset.asset_table, asset.filename, asset.asset_types) == ("Model", "linear.json",
                                                                      ["Trained"])
    assert asset.length > 0 and len(asset.md5) == 32


def _named_flow(cat: sl.Catalog, name: str) -> sl.ExecutionRecord:
    found = [r for r in cat.list_executions(limit=None) if r.name == name]
    assert len(found) == 1
    return found[0]


def test_evaluate_stages_the_model_asset_in(train_example: ModuleType, train_catalog: sl.Catalog,
                                            tmp_path: Path) -> None:
    metrics = train_example.train_model(base=str(tmp_path), epochs=60, fail_first=0)
    (evaluate,) = _named(train_catalog, "evaluate")
    (train,) = _named(train_catalog, "train")
    asset_id = next(e.asset_id for e in train_catalog.list_edges(train.id, role="output")
                    if e.asset_id)
    inputs = train_catalog.list_edges(evaluate.id, role="input")
    assert asset_id in {e.asset_id for e in inputs}
    assert "ml-features:train.csv" in {str(e.ref) for e in inputs if e.ref}
    asset = train_catalog.get_asset(asset_id)
    model_bytes = json.dumps(
        {"slope": train.metrics["final_slope"], "intercept": train.metrics["final_intercept"],
         "epochs": 60}, indent=2).encode()
    assert asset.sha256 == hashlib.sha256(model_bytes).hexdigest()
    assert {k: evaluate.metrics[k] for k in ("rmse", "r2")} == pytest.approx(metrics)
    assert evaluate.status is sl.Status.completed
    report = train_catalog.list_edges(evaluate.id, role="output")[0]
    assert report.valid and report.version_hash == hashlib.sha256(
        (tmp_path / "reports" / "metrics.json").read_bytes()).hexdigest()
    # features -> train -> model asset -> evaluate: the lineage reaches the features.
    features = next(e for e in train_catalog.list_edges(train.id, role="input") if e.ref)
    assert features.version_hash == next(
        e.version_hash for e in inputs if e.ref and str(e.ref) == "ml-features:train.csv")


def test_cache_hit_is_recorded_as_reuse_of_the_producer(
        train_example: ModuleType, train_catalog: sl.Catalog, tmp_path: Path) -> None:
    train_example.train_model(base=str(tmp_path), epochs=20, fail_first=0)
    train_example.train_model(base=str(tmp_path), epochs=20, fail_first=0)

    first, second = _named(train_catalog, "make_features")
    assert first.status is sl.Status.completed and "prefect_cache_key" in first.metrics
    assert second.status is sl.Status.completed
    assert second.metrics["reused_from_execution"] == first.id
    assert second.metrics["reused_cache_key"] == first.metrics["prefect_cache_key"]
    assert f"reused the cached result of execution {first.id}" in second.status_message
    assert [h.status.value for h in second.history] == ["created", "initializing", "running",
                                                        "completed"]
    flows = sorted((r for r in train_catalog.list_executions(limit=None)
                    if r.name == "train-model"), key=lambda r: r.created_at)
    assert [first.parent_id, second.parent_id] == [f.id for f in flows]
    # The reused run wrote nothing itself; the features version is still the producer's.
    assert not train_catalog.list_edges(second.id, role="output")
    (train_2,) = [t for t in _named(train_catalog, "train") if t.parent_id == flows[1].id]
    read = next(e for e in train_catalog.list_edges(train_2.id, role="input") if e.ref)
    written = next(e for e in train_catalog.list_edges(first.id, role="output") if e.ref)
    assert read.version_hash == written.version_hash
