"""Lineage queries on a synthetic catalog of 1,000,000 edges, SQLite and PostgreSQL, vs networkx.

The catalog (see ``synthetic_catalog.py`` for its shape) is generated once per
generator version and size, and cached: ``.bench-cache/lineage-v<G>-<edges>.db``
for SQLite and the database ``steplineage_bench_lineage_v<G>_<edges>`` on the
benchmark PostgreSQL (127.0.0.1:5432, user postgres), with a marker file in
``.bench-cache/`` once it is complete.

Queries, through the public API of a ``sl.Catalog`` on each backend, each from
a sample of start nodes (output versions of the latest 5 % of executions for
upstream walks, of the earliest 5 % for downstream ones):

* ``cat.lineage.upstream(node, depth=10)`` and ``downstream(node, depth=10)``;
* full closure: ``upstream(node)`` with no depth, capped at the default node
  cap (10,000 nodes; the result says ``partial``);
* ``contributing_datasets(node)`` and ``affected_datasets(node)`` (full walks,
  default cap);
* ``cat.list_executions(dag_id=..., limit=100)``: the 100 latest of a DAG.

Per round, each query's p95 (and median) over its start nodes (30 for the
depth-10 walks and the DAG listing, 5 for the full walks, which reach the cap); the report
shows min/median/max over rounds. networkx: the same edges loaded from the
SQLite catalog into an in-memory ``DiGraph`` (load time reported), then the
same walks (``single_source_shortest_path_length`` with a cutoff on the
reversed/forward graph, ``nx.ancestors`` for the uncapped closure).

Usage:
    .venv/bin/python benchmarks/bench_lineage.py --edges 1000000 --rounds 3
    .venv/bin/python benchmarks/bench_lineage.py --edges 50000 --backend sqlite
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, DB_PREFIX, Row, emit, percentile, pg_database, private_home  # noqa: E402
from synthetic_catalog import GENERATOR_VERSION, generate  # noqa: E402

private_home("lineage")


def _stem(edges: int) -> str:
    return f"lineage-v{GENERATOR_VERSION}-{edges}"


def sqlite_catalog(edges: int) -> tuple[str, dict[str, Any]]:
    """URL of the cached SQLite catalog (generated when missing) and its start nodes."""
    from steplineage.store import engine as engines

    CACHE.mkdir(exist_ok=True)
    db, meta = CACHE / f"{_stem(edges)}.db", CACHE / f"{_stem(edges)}.json"
    url = f"sqlite:///{db}"
    if not (db.exists() and meta.exists()):
        for stale in CACHE.glob(f"{_stem(edges)}.db*"):
            stale.unlink()
        print(f"generating the SQLite catalog ({edges:,} edges) into {db}")
        eng = engines.create_catalog_engine(url)
        engines.upgrade(eng)
        info = generate(eng, edges)
        with eng.begin() as conn:  # fresh statistics, as a real catalog would have
            conn.exec_driver_sql("ANALYZE")
        eng.dispose()
        meta.write_text(json.dumps(info))
        print(f"generated in {info['seconds']:.0f} s")
    return url, json.loads(meta.read_text())


def pg_catalog(edges: int) -> str | None:
    """URL of the cached PostgreSQL catalog (generated when missing); None without a server."""
    from sqlalchemy import create_engine

    name = f"{DB_PREFIX}_lineage_v{GENERATOR_VERSION}_{edges}"
    done = CACHE / f"{_stem(edges)}.pg.done"
    url = pg_database(name, fresh=not done.exists())
    if url is None:
        return None
    if not done.exists():
        print(f"generating the PostgreSQL catalog ({edges:,} edges) into {name}")
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        info = generate(eng, edges)
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        eng.dispose()
        done.write_text(json.dumps({"seconds": info["seconds"]}))
        print(f"generated in {info['seconds']:.0f} s")
    return url


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def bench_backend(backend: str, url: str, nodes: dict[str, Any], rounds: int,
                  samples: int, closure_samples: int) -> list[Row]:
    """The lineage queries through a Catalog on one backend."""
    import steplineage as sl

    cat = sl.Catalog(url)
    rng = random.Random(10)
    late = [f"version:{v}" for v in nodes["late"]]
    early = [f"version:{v}" for v in nodes["early"]]
    lin = cat.lineage
    # full walks reach the node cap and take far longer: fewer start nodes keep the run short
    full_walk = ("upstream full closure (node cap 10,000)",
                 "contributing_datasets (full walk, capped)",
                 "affected_datasets (full walk, capped)")
    queries: dict[str, tuple[Callable[[str], Any], list[str], str]] = {
        "upstream depth 10": (lambda n: lin.upstream(n, depth=10), late,
                              "<= 50" if backend == "sqlite" else "<= 100"),
        "downstream depth 10": (lambda n: lin.downstream(n, depth=10), early,
                                "<= 50" if backend == "sqlite" else "<= 100"),
        "upstream full closure (node cap 10,000)": (lambda n: lin.upstream(n), late, "<= 150"),
        "contributing_datasets (full walk, capped)": (lin.contributing_datasets, late, ""),
        "affected_datasets (full walk, capped)": (lin.affected_datasets, early, ""),
        "latest 100 executions of a DAG": (
            lambda n: cat.list_executions(dag_id=n, limit=100),
            [f"dag_{d:02d}" for d in range(50)], "<= 50"),
    }
    stats: dict[str, dict[str, list[float]]] = {q: {"p95": [], "p50": [], "size": []}
                                                for q in queries}
    for fn, starts, _ in queries.values():  # warm caches and the connection pool
        fn(starts[0])
    for _ in range(rounds):
        for name, (fn, starts, _) in queries.items():
            times, sizes = [], []
            count = closure_samples if name in full_walk else samples
            for node in rng.sample(starts, min(count, len(starts))):
                took, result = timed(lambda: fn(node))
                times.append(took)
                sizes.append(len(result.nodes) if hasattr(result, "nodes") else len(result))
            stats[name]["p95"].append(percentile(times, 95))
            stats[name]["p50"].append(statistics.median(times))
            stats[name]["size"].append(statistics.median(sizes))
    cat.close()
    rows = []
    for name, (_, _, target) in queries.items():
        size = statistics.median(stats[name]["size"])
        count = closure_samples if name in full_walk else samples
        rows.append(Row(f"lineage-{backend}", f"{name}: p95 ({count} start nodes)", "ms",
                        stats[name]["p95"], target=target,
                        ratio=f"median {statistics.median(stats[name]['p50']):.1f} ms; "
                              f"~{size:,.0f} nodes/rows returned"))
    return rows


def bench_networkx(url: str, nodes: dict[str, Any], rounds: int, samples: int,
                   closure_samples: int, sqlite_rows: list[Row]) -> list[Row]:
    """The same walks on an in-memory networkx DiGraph of the same edges."""
    import networkx as nx
    from sqlalchemy import create_engine, text

    loads = []
    graph = nx.DiGraph()
    for _ in range(max(1, min(rounds, 2))):
        started = time.perf_counter()
        eng = create_engine(url)
        graph = nx.DiGraph()
        with eng.connect() as conn:
            rows = conn.execute(text(
                "SELECT execution_id, role, COALESCE(version_id, dataset_version_id) "
                "FROM lineage_edges"))
            # version -> execution for inputs, execution -> version for outputs (data flow)
            graph.add_edges_from(((("e", e), ("v", t)) if role == "output" else
                                  (("v", t), ("e", e))) for e, role, t in rows)
        eng.dispose()
        loads.append(time.perf_counter() - started)
    reverse = graph.reverse(copy=False)
    rng = random.Random(10)
    late = [("v", v) for v in nodes["late"]]
    early = [("v", v) for v in nodes["early"]]
    walks: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "upstream depth 10": (lambda n: nx.single_source_shortest_path_length(
            reverse, n, cutoff=10), late),
        "downstream depth 10": (lambda n: nx.single_source_shortest_path_length(
            graph, n, cutoff=10), early),
        "upstream full closure (no cap)": (lambda n: nx.ancestors(graph, n), late),
    }
    out = [Row("lineage-networkx", f"load {graph.number_of_edges():,} edges into a DiGraph",
               "s", loads, ratio=f"{graph.number_of_nodes():,} nodes held in memory")]
    by_label = {r.label.split(":")[0]: r for r in sqlite_rows if r.section == "lineage-sqlite"}
    ours_of = {"upstream full closure (no cap)": "upstream full closure (node cap 10,000)"}
    for name, (fn, starts) in walks.items():
        p95s = []
        count = closure_samples if "closure" in name else samples
        for _ in range(rounds):
            times = [timed(lambda: fn(n))[0]
                     for n in rng.sample(starts, min(count, len(starts)))]
            p95s.append(percentile(times, 95))
        ours = by_label.get(ours_of.get(name, name))
        ratio = ""
        if ours is not None and ours.values:
            ratio = (f"steplineage SQLite p95 / networkx p95 = "
                     f"{statistics.median(ours.values) / statistics.median(p95s):.1f}×")
        out.append(Row("lineage-networkx", f"{name}: p95 ({count} start nodes)", "ms", p95s,
                       ratio=ratio))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=30, help="start nodes per query per round")
    parser.add_argument("--closure-samples", type=int, default=5,
                        help="start nodes per round for the full (capped) walks")
    args = parser.parse_args(argv)
    url, nodes = sqlite_catalog(args.edges)
    rows: list[Row] = []
    if args.backend in ("sqlite", "both"):
        rows += bench_backend("sqlite", url, nodes, args.rounds, args.samples,
                              args.closure_samples)
    if args.backend in ("postgresql", "both"):
        pg = pg_catalog(args.edges)
        if pg is None:
            rows.append(Row("lineage-postgresql", "lineage queries", "ms", [],
                            note="PostgreSQL unreachable"))
        else:
            rows += bench_backend("postgresql", pg, nodes, args.rounds, args.samples,
                              args.closure_samples)
    rows += bench_networkx(url, nodes, args.rounds, args.samples, args.closure_samples, rows)
    emit(rows)


if __name__ == "__main__":
    main()
