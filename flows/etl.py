"""ETL example: each source is extracted by a subflow (one mapped task run per day),
the sources are joined into revenue by region, and a load subflow publishes it.

Run it on the embedded default (SQLite catalog under ``$STEPLINEAGE_HOME``,
Prefect's temporary local server)::

    python flows/etl.py                 # data under $STEPLINEAGE_HOME/examples/etl
    python flows/etl.py --base /tmp/etl --days 2024-01-01 2024-01-02

What steplineage records: the ``etl`` flow run is the parent execution; the
``extract`` and ``load`` subflow runs and the ``transform`` task run are its
children; every ``extract_day`` task run is a child of its subflow. Files are
versioned by sha256, so ``transform``'s inputs are exactly the versions the
``extract_day`` runs wrote. The warehouse table is named by a ``file://`` URI,
which also makes it a Prefect asset. The flow run's Artifacts tab shows the
lineage graph and a table of executions.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections import defaultdict
from pathlib import Path

from prefect import unmapped

import steplineage as sl
from steplineage.tracking.guard import tracking_guard
from steplineage.prefect import tracked_flow, tracked_task

SOURCES = ("orders", "customers")
DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]


def default_base() -> str:
    """Where the example keeps its data unless told otherwise."""
    return str(sl.Settings().home.expanduser() / "examples" / "etl")


def prepare(base: str, days: list[str]) -> None:
    """Write sample source files (once) and register the example's resources."""
    root = Path(base)
    for day_no, day in enumerate(days):
        orders = root / "raw" / "orders" / f"{day}.csv"
        customers = root / "raw" / "customers" / f"{day}.csv"
        if not orders.exists():
            orders.parent.mkdir(parents=True, exist_ok=True)
            rows = ["order_id,customer_id,amount"]
            rows += [f"{day_no * 100 + i},{i % 5},{10 + (i * 7 + day_no) % 40}" for i in range(12)]
            rows.append("bad-row-without-amount")  # extract drops malformed rows
            orders.write_text("\n".join(rows) + "\n")
        if not customers.exists():
            customers.parent.mkdir(parents=True, exist_ok=True)
            regions = ["north", "south", "east", "west", "north"]
            customers.write_text("customer_id,region\n" + "".join(
                f"{i},{regions[(i + day_no) % 5]}\n" for i in range(5)))
    for sub in ("staging", "warehouse"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # The example must run even when the catalog is down, like the flows it tracks;
    # but resources registered elsewhere under the same names are a mistake to report.
    clash: list[sl.CatalogError] = []
    with tracking_guard("register the ETL example's resources", strict=False):
        with sl.Catalog() as cat:
            for name, sub, role in (("etl-raw", "raw", "source-data"),
                                    ("etl-staging", "staging", "intermediate-data"),
                                    ("etl-warehouse", "warehouse", "results")):
                try:
                    cat.add_resource(name, uri=root / sub, role=role)
                except sl.CatalogError as exc:
                    clash.append(exc)
    if clash:
        raise sl.ConfigurationError(f"{clash[0]}: this catalog already ran the example with "
                                    "another --base; use that one or another STEPLINEAGE_HOME")


@tracked_task(inputs=[sl.ResourceRef("etl-raw", "{source}/{day}.csv")],
              outputs=[sl.ResourceRef("etl-staging", "{source}/{day}.csv")])
def extract_day(base: str, source: str, day: str) -> int:
    """Copy one day of one source to staging, dropping rows with missing fields."""
    src = Path(base) / "raw" / source / f"{day}.csv"
    dst = Path(base) / "staging" / source / f"{day}.csv"
    with src.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for r in reader if len(r) == len(header) and all(r)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


@tracked_flow
def extract(base: str, source: str, days: list[str]) -> int:
    """Subflow: extract every day of one source in parallel (a mapped task)."""
    return sum(extract_day.map(unmapped(base), unmapped(source), days).result())


def _staged(params: dict) -> list[sl.ResourceRef]:
    return [sl.ResourceRef("etl-staging", f"{s}/{d}.csv") for s in SOURCES for d in params["days"]]


@tracked_task(inputs=_staged, outputs=[sl.ResourceRef("etl-staging", "revenue_by_region.csv")])
def transform(base: str, days: list[str]) -> dict[str, float]:
    """Join orders with customers and sum revenue per region and day."""
    staging = Path(base) / "staging"
    revenue: dict[tuple[str, str], float] = defaultdict(float)
    for day in days:
        with (staging / "customers" / f"{day}.csv").open(newline="") as f:
            region = {r["customer_id"]: r["region"] for r in csv.DictReader(f)}
        with (staging / "orders" / f"{day}.csv").open(newline="") as f:
            for order in csv.DictReader(f):
                revenue[(day, region.get(order["customer_id"], "unknown"))] += float(
                    order["amount"])
    with (staging / "revenue_by_region.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["day", "region", "revenue"])
        for (day, reg), total in sorted(revenue.items()):
            writer.writerow([day, reg, f"{total:.2f}"])
    totals: dict[str, float] = defaultdict(float)
    for (_, reg), total in revenue.items():
        totals[reg] += total
    return dict(sorted(totals.items()))


@tracked_task(inputs=[sl.ResourceRef("etl-staging", "revenue_by_region.csv")],
              outputs=["file://{base}/warehouse/revenue_by_region.csv"])
def load_table(base: str) -> int:
    """Publish the revenue table to the warehouse (a Prefect asset, by its file:// URI)."""
    src = Path(base) / "staging" / "revenue_by_region.csv"
    dst = Path(base) / "warehouse" / "revenue_by_region.csv"
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, dst)  # readers never see half a table
    return sum(1 for _ in dst.open()) - 1


@tracked_task(inputs=["file://{base}/warehouse/revenue_by_region.csv"],
              outputs=[sl.ResourceRef("etl-warehouse", "report.md")])
def write_report(base: str, totals: dict[str, float]) -> str:
    """A short human-readable report next to the table."""
    lines = ["# Revenue by region", "", "| region | revenue |", "| --- | --- |"]
    lines += [f"| {region} | {total:.2f} |" for region, total in totals.items()]
    path = Path(base) / "warehouse" / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@tracked_flow
def load(base: str, totals: dict[str, float]) -> str:
    """Subflow: load the table, then write the report that reads it."""
    load_table(base)
    return write_report(base, totals)


@tracked_flow(log_prints=True)
def etl(base: str | None = None, days: list[str] | None = None) -> dict[str, float]:
    """Extract two sources, transform, load; every step is tracked by steplineage."""
    base = base or default_base()
    days = days or DAYS
    prepare(base, days)
    rows = {source: extract(base, source, days) for source in SOURCES}
    print(f"extracted rows: {rows}")
    totals = transform(base, days)
    report = load(base, totals)
    print(f"report written to {report}")
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="data directory (default: under $STEPLINEAGE_HOME)")
    parser.add_argument("--days", nargs="+", default=DAYS)
    args = parser.parse_args()
    print(etl(base=args.base, days=args.days))


if __name__ == "__main__":
    main()
