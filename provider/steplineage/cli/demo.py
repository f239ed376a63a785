"""``steplineage demo``: a small real pipeline on the embedded catalog.

Three tracked steps under one parent execution, each in one of the shapes
steplineage offers:

1. ``prepare`` (``@track_pipeline_execution``, Watcher's shape): reads
   ``raw/orders.csv``, writes per-customer features to ``features/features.csv``
   and reports ETL row counts;
2. ``train`` (``create_execution`` context manager, DerivaML's shape): reads the
   features and saves a model file as a ``Model`` asset;
3. ``evaluate`` (``ExecutionConfig`` with input assets and a results location):
   downloads the model (checksum verified), scores it and writes results.json.

Example:
    $ steplineage demo --home /tmp/sl-demo
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

import steplineage as sl
from steplineage.cli._common import HomeOption, console

__all__ = ["demo", "run_demo"]


def demo(home: HomeOption = None,
         workdir: Optional[Path] = typer.Option(None, help="Where the demo's data files go "
                                                           "(default: <home>/demo-data).")) -> None:
    """Run a three-step tracked pipeline on the embedded catalog and print what it recorded."""
    run_demo(console, home=home, workdir=workdir)


def _write_orders(path: Path) -> None:
    rng = random.Random(7)  # deterministic data: re-running the demo reads the same version
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "customer", "amount"])
        for i in range(200):
            writer.writerow([i, f"c{rng.randint(1, 12):02d}", round(rng.uniform(5, 120), 2)])


def run_demo(out: Console, home: Path | None = None, workdir: Path | None = None) -> str:
    """Run the demo pipeline, print what was recorded, and return the parent execution id.

    Example:
        >>> run_demo(Console(), home=Path("/tmp/sl-demo"))  # doctest: +SKIP
        '5b8470d0-...'
    """
    from steplineage.cli.tables import edges_table, execution_panel, executions_table

    cat = sl.Catalog(home=home)
    data = (workdir or cat.settings.home.expanduser() / "demo-data").absolute()
    for sub, role in (("raw", "source-data"), ("features", "intermediate-data"),
                      ("results", "results")):
        (data / sub).mkdir(parents=True, exist_ok=True)
        cat.add_resource(sub, uri=data / sub, role=role)
    _write_orders(data / "raw" / "orders.csv")
    cat.create_asset_table("Model", "Trained models")
    cat.add_asset_type("Trained", "A model after training")
    workflow = cat.add_workflow("demo-pipeline", "script", source=__file__,
                                description="steplineage demo: prepare -> train -> evaluate")

    with cat.create_execution(sl.ExecutionConfig(workflow=workflow, name="demo pipeline",
                                                 description="make demo")) as pipeline:

        @sl.track_pipeline_execution(workflow="prepare", catalog=cat,
                                     parent_execution_id=pipeline.id,
                                     inputs=[sl.ResourceRef("raw", "orders.csv")],
                                     outputs=[sl.ResourceRef("features", "features.csv")])
        def prepare(min_amount: float) -> sl.ETLMetrics:
            totals: dict[str, list[float]] = {}
            with (data / "raw" / "orders.csv").open() as fh:
                for row in csv.DictReader(fh):
                    if float(row["amount"]) >= min_amount:
                        totals.setdefault(row["customer"], []).append(float(row["amount"]))
            with (data / "features" / "features.csv").open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["customer", "orders", "mean_amount"])
                for customer, amounts in sorted(totals.items()):
                    writer.writerow([customer, len(amounts),
                                     round(sum(amounts) / len(amounts), 2)])
            return sl.ETLMetrics(inserts=len(totals), total_rows=len(totals))

        prepared = prepare(min_amount=10.0)

        train_cfg = sl.ExecutionConfig(
            workflow="train", parent_execution_id=pipeline.id,
            inputs=[sl.ResourceRef("features", "features.csv")],
            parameters={"model": "mean-per-order", "learning_rate": 0.1})
        with cat.create_execution(train_cfg) as train:
            with (data / "features" / "features.csv").open() as fh:
                rows = list(csv.DictReader(fh))
            model = {"mean_amount": sum(float(r["mean_amount"]) for r in rows) / len(rows)}
            train.update_status(sl.Status.running, f"fitted on {len(rows)} customers")
            path = train.asset_file_path("Model", "model.json", asset_types=["Trained"],
                                         description="mean order amount model")
            path.write_text(json.dumps(model))
            train.log_metrics({"customers": len(rows)})
        model_asset = cat.list_edges(train.id, role="output")[0].asset_id
        assert model_asset is not None

        eval_cfg = sl.ExecutionConfig(
            workflow="evaluate", parent_execution_id=pipeline.id, assets=[model_asset],
            inputs=[sl.ResourceRef("features", "features.csv")],
            results=sl.ResourceRef("results", "latest"))
        with cat.create_execution(eval_cfg) as evaluate:
            model = json.loads(evaluate.asset_paths[model_asset].read_text())
            with (data / "features" / "features.csv").open() as fh:
                rows = list(csv.DictReader(fh))
            mae = sum(abs(float(r["mean_amount"]) - model["mean_amount"]) for r in rows) / len(rows)
            results_path = evaluate.write_results({"mae": round(mae, 3)})

    records = [cat.get_execution(pipeline.id), *reversed(
        cat.list_executions(parent_id=pipeline.id))]
    names = {r.id: r.name for r in records}
    assets = {a.id: a for a in cat.list_assets()}
    edges = [e for r in records for e in cat.list_edges(r.id)]
    out.print(f"[bold]steplineage demo[/bold] — catalog {cat.store.identity}")
    out.print(executions_table(records, title="Executions of this run"))
    out.print(edges_table(edges, names, assets))
    out.print(execution_panel(cat, evaluate.id))
    counts = ", ".join(f"{k}={v}" for k, v in
                       prepared.metrics.model_dump(exclude_none=True).items())
    out.print(f"prepare returned ETLMetrics({counts}); evaluate wrote {results_path}")
    cat.close()
    return pipeline.id
