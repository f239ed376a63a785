"""Training example: features (cached), a flaky training task with retries that
stages its model as a catalog asset, and an evaluation that stages the model back in.

Run it on the embedded default (SQLite catalog under ``$STEPLINEAGE_HOME``,
Prefect's temporary local server)::

    python flows/train.py                       # the first training attempt fails, the retry succeeds
    python flows/train.py --fail-first 0 --epochs 200

What steplineage records: every attempt of ``train`` is an execution (the
failed ones with their error, all sharing the Prefect task run id); the model
file becomes an asset of table ``Model`` with its md5/sha256; ``evaluate``
downloads that asset into its working dir, verifying the checksum, before it
runs. Run the flow twice with the same arguments and ``make_features`` is a
Prefect cache hit, recorded as *reused* with a link to the execution that
computed the features.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from typing import Any

from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.runtime import task_run

import steplineage as sl
from steplineage.tracking.guard import tracking_guard
from steplineage.prefect import current_execution, tracked_flow, tracked_task


class TransientTrainingError(RuntimeError):
    """Stands in for a lost GPU node or a pre-empted spot instance."""


def default_base() -> str:
    """Where the example keeps its data unless told otherwise."""
    return str(sl.Settings().home.expanduser() / "examples" / "train")


def prepare(base: str) -> None:
    """Directories, resources and the asset vocabulary the example uses."""
    for sub in ("features", "reports"):
        (Path(base) / sub).mkdir(parents=True, exist_ok=True)
    # The example must run even when the catalog is down, like the flows it tracks;
    # but resources registered elsewhere under the same names are a mistake to report.
    clash: list[sl.CatalogError] = []
    with tracking_guard("register the training example's resources", strict=False):
        with sl.Catalog() as cat:
            for name, sub, role in (("ml-features", "features", "intermediate-data"),
                                    ("ml-reports", "reports", "results")):
                try:
                    cat.add_resource(name, uri=Path(base) / sub, role=role)
                except sl.CatalogError as exc:
                    clash.append(exc)
            cat.create_asset_table("Model", "Trained models")
            cat.add_asset_type("Trained", "A model after training")
    if clash:
        raise sl.ConfigurationError(f"{clash[0]}: this catalog already ran the example with "
                                    "another --base; use that one or another STEPLINEAGE_HOME")


@tracked_task(outputs=[sl.ResourceRef("ml-features", "train.csv")],
              cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def make_features(base: str, rows: int = 200, seed: int = 7) -> str:
    """Synthetic data y = 3x + 1 + noise (deterministic for a seed; cached by inputs)."""
    rng = random.Random(seed)
    path = Path(base) / "features" / "train.csv"
    with path.open("w") as f:
        f.write("x,y\n")
        for _ in range(rows):
            x = rng.uniform(0, 10)
            f.write(f"{x:.6f},{3 * x + 1 + rng.gauss(0, 0.5):.6f}\n")
    return str(path)


def _read_xy(path: Path) -> tuple[list[float], list[float]]:
    lines = path.read_text().splitlines()[1:]
    pairs = [tuple(map(float, line.split(","))) for line in lines]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@tracked_task(inputs=[sl.ResourceRef("ml-features", "train.csv")], retries=2,
              retry_delay_seconds=0)
def train(base: str, epochs: int = 100, learning_rate: float = 0.01,
          fail_first: int = 0) -> dict[str, Any]:
    """Fit y = a·x + b by gradient descent; the first ``fail_first`` attempts fail on purpose."""
    if task_run.run_count <= fail_first:
        raise TransientTrainingError(f"simulated node loss on attempt {task_run.run_count}")
    xs, ys = _read_xy(Path(base) / "features" / "train.csv")
    a = b = 0.0
    for _ in range(epochs):
        grad_a = sum((a * x + b - y) * x for x, y in zip(xs, ys)) * 2 / len(xs)
        grad_b = sum((a * x + b - y) for x, y in zip(xs, ys)) * 2 / len(xs)
        a, b = a - learning_rate * grad_a, b - learning_rate * grad_b
    model = {"slope": a, "intercept": b, "epochs": epochs}
    exe = current_execution()
    if exe is None:  # the catalog is unreachable; the flow goes on without the asset
        return {"model": model, "asset_id": None}
    path = exe.asset_file_path("Model", "linear.json", asset_types=["Trained"],
                               description=f"linear model after {epochs} epochs")
    path.write_text(json.dumps(model, indent=2))
    exe.log_metrics({"final_slope": a, "final_intercept": b})
    # Upload now so the asset id can be handed to evaluate; the automatic upload when
    # the task returns then has nothing left to do.
    assets = exe.upload_execution_outputs()
    return {"model": model, "asset_id": assets["Model"][0].id}


def _model_asset(params: dict[str, Any]) -> list[str]:
    asset_id = params["trained"]["asset_id"]
    return [asset_id] if asset_id else []


@tracked_task(inputs=[sl.ResourceRef("ml-features", "train.csv")], assets=_model_asset,
              outputs=[sl.ResourceRef("ml-reports", "metrics.json")])
def evaluate(base: str, trained: dict[str, Any]) -> dict[str, float]:
    """Score the model on the features; the model file is staged in from the catalog."""
    model = trained["model"]
    exe = current_execution()
    if exe is not None and trained["asset_id"]:
        # The staged copy was checksum-verified against the catalog before we got here.
        model = json.loads(exe.asset_paths[trained["asset_id"]].read_text())
    xs, ys = _read_xy(Path(base) / "features" / "train.csv")
    errors = [model["slope"] * x + model["intercept"] - y for x, y in zip(xs, ys)]
    mean_y = sum(ys) / len(ys)
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    r2 = 1 - sum(e * e for e in errors) / sum((y - mean_y) ** 2 for y in ys)
    metrics = {"rmse": rmse, "r2": r2}
    (Path(base) / "reports" / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if exe is not None:
        exe.log_metrics(metrics)
    return metrics


@tracked_flow(log_prints=True)
def train_model(base: str | None = None, epochs: int = 100, learning_rate: float = 0.01,
                fail_first: int = 1, rows: int = 200, seed: int = 7) -> dict[str, float]:
    """Features → train (with retries) → evaluate, every step tracked by steplineage."""
    base = base or default_base()
    prepare(base)
    make_features(base, rows=rows, seed=seed)
    trained = train(base, epochs=epochs, learning_rate=learning_rate, fail_first=fail_first)
    metrics = evaluate(base, trained)
    print(f"model {trained['model']} scored {metrics}")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="data directory (default: under $STEPLINEAGE_HOME)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--fail-first", type=int, default=1,
                        help="training attempts that fail on purpose (retries=2)")
    args = parser.parse_args()
    print(train_model(base=args.base, epochs=args.epochs, fail_first=args.fail_first))


if __name__ == "__main__":
    main()
