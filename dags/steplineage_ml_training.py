"""ML training example: asset staging, a trained model and results, tracked by steplineage.

* ``register_vocabulary`` creates the asset tables and types (idempotent), with
  :class:`~steplineage.airflow.SteplineageHook`.
* ``collect_measurements`` writes the raw measurements file (an Airflow Asset).
* ``prepare_data`` splits it into ``train.csv`` and ``test.csv``, uploaded as
  ``Dataset`` assets (checksummed, content-addressed).
* ``train`` gets those assets staged (downloaded and verified) into its working
  dir, fits a logistic regression, reports progress and metrics, and uploads
  ``model.json`` as a ``Model`` asset.
* ``evaluate`` stages the model and the test split, scores it and writes
  ``results.json`` into the results directory (an Asset: Airflow emits an event).

Assets pass between tasks by id through XCom (``staged_assets``). Data lives
under ``$STEPLINEAGE_EXAMPLES_DIR/ml`` (default ``$STEPLINEAGE_HOME/examples/ml``).

Run it once without a scheduler::

    python dags/steplineage_ml_training.py
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
from datetime import datetime
from pathlib import Path

from airflow.sdk import Asset, dag, task

import steplineage as sl
from steplineage.airflow import SteplineageHook, staged_assets
from steplineage.settings import get_settings

BASE = Path(os.environ.get("STEPLINEAGE_EXAMPLES_DIR") or get_settings().home / "examples") / "ml"
MEASUREMENTS = Asset(name="ml_measurements",
                     uri=(BASE / "source" / "measurements.csv").as_uri())
RESULTS = Asset(name="ml_results", uri=(BASE / "results").as_uri())


def _rows(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["x1", "x2", "label"])
        writer.writeheader()
        writer.writerows(rows)


def _predict(model: dict[str, float], row: dict[str, float]) -> float:
    z = model["b"] + model["w1"] * row["x1"] + model["w2"] * row["x2"]
    return 1.0 / (1.0 + math.exp(-z))


def _accuracy(model: dict[str, float], rows: list[dict[str, float]]) -> float:
    hits = sum((_predict(model, r) >= 0.5) == (r["label"] == 1.0) for r in rows)
    return hits / len(rows) if rows else 0.0


def _staged(exe: sl.Execution, filename: str) -> Path:
    """The local path of a staged input asset, by file name."""
    for path in exe.asset_paths.values():
        if path.name == filename:
            return path
    raise FileNotFoundError(f"no staged asset named {filename!r}; staged: "
                            f"{sorted(p.name for p in exe.asset_paths.values())}")


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
     tags=["steplineage", "example", "ml"])
def steplineage_ml_training() -> None:
    """Collect, split, train and evaluate; every file versioned in steplineage."""

    @task
    def register_vocabulary() -> None:
        """Asset tables and types the pipeline uses (safe to run every time)."""
        cat = SteplineageHook().get_catalog()
        cat.create_asset_table("Dataset", "Training and test splits")
        cat.create_asset_table("Model", "Trained models")
        for term, text in [("Training_Data", "Rows a model is fitted on"),
                           ("Test_Data", "Rows held out for evaluation"),
                           ("Trained_Model", "Model parameters after training")]:
            cat.add_asset_type(term, text)

    @task.steplineage(outputs=[MEASUREMENTS])
    def collect_measurements(n_samples: int, seed: int) -> int:
        """Two noisy clusters of 2-D points (stands in for an instrument export)."""
        rng = random.Random(seed)
        rows = []
        for _ in range(n_samples):
            label = rng.random() < 0.5
            cx = 1.5 if label else -1.5
            rows.append({"x1": round(rng.gauss(cx, 1.0), 4), "x2": round(rng.gauss(-cx, 1.0), 4),
                         "label": 1.0 if label else 0.0})
        path = Path(MEASUREMENTS.uri.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_rows(path, rows)
        return len(rows)

    # The next steps pass their data as catalog assets, so they cannot run untracked:
    # strict=True makes an unreachable catalog fail them with a clear TrackingError.
    @task.steplineage(inputs=[MEASUREMENTS], strict=True)
    def prepare_data(test_fraction: float, exe: sl.Execution) -> dict[str, int]:
        """Split the measurements; both splits become Dataset assets on success."""
        rows = _rows(Path(MEASUREMENTS.uri.removeprefix("file://")))
        random.Random(7).shuffle(rows)
        cut = int(len(rows) * (1 - test_fraction))
        _write_rows(exe.asset_file_path("Dataset", "train.csv", asset_types=["Training_Data"]),
                    rows[:cut])
        _write_rows(exe.asset_file_path("Dataset", "test.csv", asset_types=["Test_Data"]),
                    rows[cut:])
        return {"train_rows": cut, "test_rows": len(rows) - cut}

    @task.steplineage(strict=True)
    def train(learning_rate: float, epochs: int, exe: sl.Execution) -> dict[str, float]:
        """Logistic regression by gradient descent on the staged training split."""
        rows = _rows(_staged(exe, "train.csv"))
        model = {"b": 0.0, "w1": 0.0, "w2": 0.0}
        for epoch in range(1, epochs + 1):
            grad = {"b": 0.0, "w1": 0.0, "w2": 0.0}
            for r in rows:
                err = _predict(model, r) - r["label"]
                grad["b"] += err
                grad["w1"] += err * r["x1"]
                grad["w2"] += err * r["x2"]
            for k in model:
                model[k] -= learning_rate * grad[k] / len(rows)
            if epoch % max(1, epochs // 4) == 0:
                exe.update_status(sl.Status.running, f"epoch {epoch}/{epochs}")
        metrics = {"train_accuracy": round(_accuracy(model, rows), 4)}
        exe.log_metrics(metrics)
        exe.asset_file_path("Model", "model.json", asset_types=["Trained_Model"],
                            description="logistic regression weights").write_text(
            json.dumps(model, indent=2))
        return metrics

    @task.steplineage(results=RESULTS, strict=True)
    def evaluate(exe: sl.Execution) -> dict[str, float]:
        """Score the staged model on the staged test split; write results.json."""
        model = json.loads(_staged(exe, "model.json").read_text())
        rows = _rows(_staged(exe, "test.csv"))
        metrics = {"test_accuracy": round(_accuracy(model, rows), 4), "test_rows": len(rows)}
        exe.write_results(metrics)
        return metrics

    collected = collect_measurements(n_samples=200, seed=42)
    prepared = prepare_data(test_fraction=0.25)
    trained = train.override(assets=staged_assets(prepared))(learning_rate=0.5, epochs=60)
    scored = evaluate.override(assets=[staged_assets(trained), staged_assets(prepared)])()
    register_vocabulary() >> collected >> prepared
    trained >> scored


ml_dag = steplineage_ml_training()

if __name__ == "__main__":
    ml_dag.test()
