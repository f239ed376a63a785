"""ETL example: extract -> transform -> load with files, every step tracked by steplineage.

* ``extract`` pulls one day of orders from a (simulated) orders API and writes
  ``staging/raw_orders.csv``; the API token is a parameter and is redacted.
* ``transform`` drops invalid rows and writes ``staging/clean_orders.csv``.
* ``load`` upserts the clean rows into a SQLite warehouse file.

Each file is an Airflow Asset: Airflow emits asset events for it as usual, and
steplineage records which version (sha256) each step read and wrote, so the
catalog links load <- transform <- extract through the staged files.

Data lives under ``$STEPLINEAGE_EXAMPLES_DIR/etl`` (default
``$STEPLINEAGE_HOME/examples/etl``); the catalog is the embedded default unless
the ``steplineage_default`` connection says otherwise.

Run it once without a scheduler::

    python dags/steplineage_etl.py
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
from datetime import datetime
from pathlib import Path

from airflow.sdk import Asset, dag, task

import steplineage as sl
from steplineage.settings import get_settings

BASE = Path(os.environ.get("STEPLINEAGE_EXAMPLES_DIR") or get_settings().home / "examples") / "etl"
RAW = Asset(name="etl_raw_orders", uri=(BASE / "staging" / "raw_orders.csv").as_uri())
CLEAN = Asset(name="etl_clean_orders", uri=(BASE / "staging" / "clean_orders.csv").as_uri())
WAREHOUSE = Asset(name="etl_warehouse", uri=(BASE / "warehouse" / "orders.db").as_uri())
FIELDS = ["order_id", "day", "customer", "amount"]


def _path(asset: Asset) -> Path:
    return Path(asset.uri.removeprefix("file://"))


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    # Write to a temporary name and rename: readers never see half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
     tags=["steplineage", "example"], params={"orders_per_day": 40})
def steplineage_etl() -> None:
    """Extract orders, clean them, load them into a warehouse; lineage in steplineage."""

    @task.steplineage(outputs=[RAW])
    def extract(day: str, orders_per_day: int, api_token: str) -> int:
        """Pull one day of orders from the orders API (simulated, deterministic per day)."""
        rng = random.Random(day)
        rows: list[dict[str, object]] = []
        for i in range(int(orders_per_day)):
            amount = round(rng.uniform(-5, 120), 2)  # the API sends some refunds/garbage
            customer = rng.choice(["acme", "globex", "initech", "umbrella", ""])
            rows.append({"order_id": f"{day}-{i:04d}", "day": day, "customer": customer,
                         "amount": amount})
        _write_csv(_path(RAW), rows)
        return len(rows)

    @task.steplineage(inputs=[RAW], outputs=[CLEAN])
    def transform(exe: sl.Execution | None) -> dict[str, int]:
        """Keep orders with a customer and a positive amount."""
        with _path(RAW).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        clean = [r for r in rows if r["customer"] and float(r["amount"]) > 0]
        _write_csv(_path(CLEAN), clean)
        counts = {"rows_in": len(rows), "rows_out": len(clean),
                  "dropped": len(rows) - len(clean)}
        if exe is not None:  # None: the catalog was unreachable and the task runs untracked
            exe.log_metrics(counts)
        return counts

    @task.steplineage(inputs=[CLEAN], outputs=[WAREHOUSE])
    def load(db_password: str, exe: sl.Execution | None) -> dict[str, int]:
        """Upsert the clean orders into the warehouse (SQLite here, any DB in real life)."""
        with _path(CLEAN).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        db = _path(WAREHOUSE)
        db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, "
                         "day TEXT, customer TEXT, amount REAL)")
            before = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            conn.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                             [(r["order_id"], r["day"], r["customer"], float(r["amount"]))
                              for r in rows])
            total = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        conn.close()
        metrics = sl.ETLMetrics(inserts=total - before, updates=len(rows) - (total - before),
                                total_rows=total)
        if exe is not None:
            exe.log_metrics(metrics.model_dump(exclude_none=True))
        return metrics.model_dump(exclude_none=True)

    raw = extract(day="{{ dag_run.run_after | ds }}", orders_per_day="{{ params.orders_per_day }}",
                  api_token="{{ var.value.get('orders_api_token', 'demo-token-123') }}")
    clean = transform()
    loaded = load(db_password="{{ var.value.get('warehouse_password', 'not-a-real-pw') }}")
    raw >> clean >> loaded


etl_dag = steplineage_etl()

if __name__ == "__main__":
    etl_dag.test()
