"""A synthetic catalog of N lineage edges, written straight into the real schema.

Shape (``GENERATOR_VERSION`` names it; change the version when the shape or the
schema changes, and cached catalogs are rebuilt):

* executions come in time order, one second apart, spread over 50 DAGs
  (``dag_id`` ``dag_00``..``dag_49``, one workflow each), all completed;
* every execution has fan-in 2 and writes 2 outputs: 4 lineage edges. An input
  is one of a window of 2,000 recent versions (the window starts with source
  versions; each new output replaces a random one), so chains are long: a
  late node has hundreds of hops to the sources. For 2 % of executions the
  first input is a dataset version instead (10 of the 10,000 source versions
  as members);
* every output is a new version (a fresh hash) of one of 5,000 refs spread
  over 50 resources, so refs have many versions each.

1,000,000 edges = 250,000 executions, 510,000 versions. Rows go in with
SQLAlchemy Core bulk inserts (``insertmanyvalues``) after the Alembic
migrations, so the indexes are the ones real catalogs have.

Example:
    >>> from synthetic_catalog import plan
    >>> plan(1_000)["executions"]
    250
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

GENERATOR_VERSION = 2
DAGS = 50
RESOURCES = 50
REFS = 5_000
SOURCES = 10_000
WINDOW = 2_000
DATASET_SHARE = 0.02
DATASET_MEMBERS = 10
BATCH = 5_000
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def plan(edges: int) -> dict[str, int]:
    """How many rows of each kind a catalog of ``edges`` edges has."""
    executions = edges // 4
    return {"executions": executions, "edges": executions * 4,
            "versions": SOURCES + executions * 2}


def _ids(rng: random.Random) -> Iterator[str]:
    while True:
        yield str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ref(edge_id: str, target: tuple[str, str, str]) -> dict[str, str]:
    return {"id": edge_id, "version_id": target[0], "resource_id": target[1],
            "subpath": target[2]}


def generate(engine: Any, edges: int, seed: int = 8, log: Any = print) -> dict[str, Any]:
    """Fill an empty, migrated catalog at ``engine``; the same seed gives the same rows.

    Returns counts, the time taken and output version ids to start walks from:
    of the latest 5 % of executions (``late``), and of the earliest 5 % that some
    execution read (``early``).
    """
    from sqlalchemy import insert

    from steplineage.store import orm

    rng = random.Random(seed)
    ids = _ids(rng)
    n_exec = plan(edges)["executions"]
    started = time.perf_counter()
    resources = [{"id": next(ids), "name": f"res{r:02d}", "uri": f"s3://bench/res{r:02d}",
                  "role": "intermediate-data", "description": "", "created_at": START}
                 for r in range(RESOURCES)]
    workflows = [{"id": next(ids), "name": f"dag_{d:02d}", "workflow_type": "airflow-dag",
                  "version": "1", "url": None, "checksum": None, "description": "",
                  "active": True, "dirty": None, "created_at": START} for d in range(DAGS)]

    def version(ref: int, at: datetime) -> dict[str, Any]:
        return {"id": next(ids), "resource_id": resources[ref % RESOURCES]["id"],
                "subpath": f"part-{ref:05d}.parquet", "hash": f"{rng.getrandbits(256):064x}",
                "kind": "sha256", "length": 1024 + ref, "created_at": at}

    sources = [version(rng.randrange(REFS), START) for _ in range(SOURCES)]
    with engine.begin() as conn:
        conn.execute(insert(orm.Resource), resources)
        conn.execute(insert(orm.Workflow), workflows)
        conn.execute(insert(orm.Version), sources)
    # (version id, resource id, subpath): a ref edge names the ref as well as its version
    recent = [(v["id"], v["resource_id"], v["subpath"]) for v in sources[-WINDOW:]]
    early: list[str] = []  # output versions of the first / last 5 % of executions
    late: list[str] = []
    read: set[str] = set()  # early versions some execution read (downstream walks start there)
    dag_counts = [0] * DAGS
    n_datasets = 0
    executions: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    lineage: list[dict[str, Any]] = []
    datasets: list[dict[str, Any]] = []
    dataset_versions: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            for table, rows in ((orm.Dataset, datasets), (orm.DatasetVersion, dataset_versions),
                                (orm.DatasetMember, members), (orm.Execution, executions),
                                (orm.Version, versions), (orm.LineageEdge, lineage)):
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()

    for i in range(n_exec):
        at = START + timedelta(seconds=i)
        dag = i % DAGS
        dag_counts[dag] += 1
        exe_id = next(ids)
        executions.append({
            "id": exe_id, "name": f"task_{i % 20:02d}", "workflow_id": workflows[dag]["id"],
            "parent_id": None, "status": "completed", "status_message": "completed",
            "description": "", "created_at": at, "start_time": at,
            "stop_time": at + timedelta(milliseconds=500), "duration_seconds": 0.5,
            "heartbeat_at": None, "parameters": {}, "metrics": {}, "results": None,
            "watermark": None, "next_watermark": None, "host": "bench", "user": "bench",
            "working_dir": None, "orchestrator": "airflow", "dag_id": f"dag_{dag:02d}",
            "run_id": f"run_{i // DAGS}", "task_id": f"task_{i % 20:02d}", "map_index": -1,
            "try_number": 1, "flow_run_id": None, "task_run_id": None, "run_count": None})
        picks = rng.sample(recent, 2)
        if i < n_exec * 0.3:
            read.update(p[0] for p in picks)
        edge = {"execution_id": exe_id, "role": "input", "resource_id": None, "subpath": None,
                "version_id": None, "asset_id": None, "dataset_version_id": None,
                "valid": True, "created_at": at}
        if rng.random() < DATASET_SHARE:
            ds_id, dv_id = next(ids), next(ids)
            datasets.append({"id": ds_id, "name": f"dataset-{n_datasets:05d}",
                             "description": "", "created_at": at})
            dataset_versions.append({"id": dv_id, "dataset_id": ds_id, "version": 1,
                                     "description": "", "created_at": at})
            members.extend({"dataset_version_id": dv_id, "asset_id": None,
                            "version_id": rng.choice(sources)["id"]}
                           for _ in range(DATASET_MEMBERS))
            n_datasets += 1
            lineage.append(edge | {"id": next(ids), "dataset_version_id": dv_id})
        else:
            lineage.append(edge | _ref(next(ids), picks[0]))
        lineage.append(edge | _ref(next(ids), picks[1]))
        for _ in range(2):
            ref = rng.randrange(REFS)
            v = version(ref, at)
            versions.append(v)
            target = (v["id"], v["resource_id"], v["subpath"])
            lineage.append(edge | _ref(next(ids), target) | {"role": "output"})
            recent[rng.randrange(WINDOW)] = target  # the newest outputs replace random old ones
            if i < n_exec * 0.05:
                early.append(v["id"])
            elif i >= n_exec * 0.95:
                late.append(v["id"])
        if len(lineage) >= BATCH:
            flush()
            if i and i % 50_000 < DAGS:
                log(f"  {i:,}/{n_exec:,} executions ({time.perf_counter() - started:.0f} s)")
    flush()
    early = [v for v in early if v in read]
    return {"early": rng.sample(early, min(200, len(early))),
            "late": rng.sample(late, min(200, len(late))),
            "seconds": time.perf_counter() - started, "executions": n_exec,
            "edges": n_exec * 4, "datasets": n_datasets}
