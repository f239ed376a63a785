"""Footprint: how long ``import steplineage`` takes, and catalog bytes per execution.

* import: wall time of ``python -c "import steplineage"`` (a new interpreter
  each time, as every Airflow task process is), next to ``python -c pass``;
  the slowest imports from ``python -X importtime`` are listed in the note.
* bytes per execution: an embedded SQLite catalog, VACUUMed, before and after
  recording N executions without parameters (a context-managed execution:
  created → initializing → running → uploading → completed, five history
  rows, no inputs or outputs); the growth divided by N.

Usage:
    .venv/bin/python benchmarks/bench_footprint.py --imports 20 --executions 500
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, emit, private_home  # noqa: E402

WORK = private_home("footprint")


def _wall(code: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def slowest_imports(top: int = 5) -> str:
    """steplineage's own time and its ``top`` slowest direct imports under ``-X importtime``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import steplineage"],
                          check=True, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines()[1:]:
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2][1:].rstrip()))  # drop the separator space
    # the tree is printed children first; steplineage's direct imports are indented by
    # exactly two spaces and come right before the "steplineage" line
    end = next(i for i, (_, name) in enumerate(rows) if name.strip() == "steplineage")
    start = end
    while start > 0 and rows[start - 1][1].startswith("  "):
        start -= 1
    direct = [r for r in rows[start:end] if r[1].startswith("  ") and r[1][2] != " "]
    tops = sorted(direct, reverse=True)[:top]
    return (f"steplineage {rows[end][0] / 1000:.0f} ms cumulative, of which "
            + ", ".join(f"{name.strip()} {us / 1000:.0f} ms" for us, name in tops))


def _vacuumed_size(db: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()
    return db.stat().st_size


def bytes_per_execution(n: int, home: Path) -> float:
    import steplineage as sl

    cat = sl.Catalog(home=home)
    cfg = sl.ExecutionConfig(workflow="footprint")
    with cat.create_execution(cfg):  # the workflow row and first-use caches exist before
        pass
    cat.close()
    db = home / "catalog.db"
    before = _vacuumed_size(db)
    cat = sl.Catalog(home=home)
    for _ in range(n):
        with cat.create_execution(cfg):
            pass
    cat.close()
    return (_vacuumed_size(db) - before) / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imports", type=int, default=20, help="interpreters started per round")
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    _wall("import steplineage", 2)  # warm the OS file cache and .pyc files
    imports, bare = [], []
    for _ in range(args.rounds):
        imports.append(sorted(_wall("import steplineage", args.imports))[args.imports // 2])
        bare.append(sorted(_wall("pass", args.imports))[args.imports // 2])
    sizes = [bytes_per_execution(args.executions, WORK / f"home-{r}") for r in range(args.rounds)]
    emit([
        Row("footprint", 'python -c "import steplineage" (median per round)', "ms", imports,
            target="<= 150",
            ratio=f"python -c pass: {sorted(bare)[len(bare) // 2]:.0f} ms; slowest imports: "
                  + slowest_imports()),
        Row("footprint", f"SQLite catalog bytes per execution, no params ({args.executions} "
            "executions, VACUUMed)", "B", sizes, target="<= 1024"),
    ])


if __name__ == "__main__":
    main()
