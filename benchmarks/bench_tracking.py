"""Tracking cost per step: steplineage vs no tracking, MLflow, Data Workspaces, OpenLineage.

The step (the same on every side):

* the user's own work: write two small output files (``out-a.csv``, ``out-b.csv``,
  ~40 bytes each, new content every step), identical on every side, including
  "none";
* inputs: two small files (``raw:a.csv``, ``raw:b.csv``) that do not change, so
  steplineage hashes them in the first step and reads the hash cache afterwards;
* 5 parameters, 3 metrics, start and stop.

What each side records for it:

* **steplineage**: ``cat.create_execution(ExecutionConfig(workflow=..., inputs=[2
  ResourceRefs]))`` as a context manager (created → initializing → running →
  uploading → completed, with history rows), ``exe.log_params`` (5),
  ``exe.log_metrics`` (3), ``exe.add_output`` of both files (their sha256 are
  recorded as new versions when the step completes). Embedded SQLite
  (``Catalog(home=...)``) and PostgreSQL (a dedicated database).
* **MLflow** (SQLite backend, ``mlflow.set_tracking_uri("sqlite:///...")``):
  ``start_run``, ``log_params`` (5), ``log_metrics`` (3), ``log_input`` of both
  input files (a ``MetaDataset`` with a file source and a digest), ``end_run``.
  MLflow has no file-output lineage outside models, so it records no outputs.
* **Data Workspaces** ``LineageBuilder``: ``with_step_name(...).with_parameters(5)
  .with_input_path(a).with_input_path(b).as_results_step(out dir)`` then
  ``eval()`` as a context manager and ``write_results`` (3 metrics); its
  lineage store is a local-files workspace (``dws init``).
* **OpenLineage** (openlineage-python, file transport): a START and a COMPLETE
  ``RunEvent`` with 2 input and 2 output datasets, the parameters and metrics
  as run facets, appended to one file.
* **none**: only the user's work.

Sides run in ONE process, interleaved in rounds (the order shuffled each
round), so machine noise hits all alike. Each round gives a p50 and a p99 per
side; the report shows min/median/max of those over rounds and ratios against
steplineage on the embedded SQLite (median of the per-round ratios).

Usage:
    .venv/bin/python benchmarks/bench_tracking.py --backend sqlite --steps 500
    .venv-bench/bin/python benchmarks/bench_tracking.py --steps 300 --rounds 5   # all sides
    .venv-bench/bin/python benchmarks/bench_tracking.py --backend sqlite --profile
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (DB_PREFIX, Row, drop_pg_database, emit, percentile, pg_database,  # noqa: E402
                    profiled, ratio_text)

PARAMS = {"alpha": 0.01, "beta": 2, "epochs": 10, "optimizer": "adam", "seed": 42}
PG_DB = f"{DB_PREFIX}_tracking"


class Side:
    """One way of recording the step; ``step(i)`` does the user work plus the recording."""

    name = "none"

    def __init__(self, root: Path):
        self.root = root
        self.raw = root / "raw"
        self.out = root / "out"
        self.raw.mkdir(parents=True)
        self.out.mkdir()
        (self.raw / "a.csv").write_text("id,amount\n1,10\n2,20\n")
        (self.raw / "b.csv").write_text("id,label\n1,x\n2,y\n")

    def work(self, i: int) -> tuple[Path, Path]:
        """The user's own work, the same on every side."""
        a, b = self.out / "out-a.csv", self.out / "out-b.csv"
        a.write_text(f"id,score\n{i},{i * 0.5}\n")
        b.write_text(f"id,rank\n{i},{i % 7}\n")
        return a, b

    @staticmethod
    def metrics(i: int) -> dict[str, float]:
        return {"loss": 1.0 / (i + 1), "accuracy": 0.9, "rows": float(i)}

    def step(self, i: int) -> None:
        self.work(i)

    def close(self) -> None:
        pass


class Steplineage(Side):
    def __init__(self, root: Path, url: str | None = None):
        super().__init__(root)
        import steplineage as sl

        self.sl = sl
        self.name = "steplineage-" + ("postgresql" if url else "sqlite")
        self.cat = sl.Catalog(url, home=root / "home")
        self.cat.add_resource("raw", uri=self.raw, role="source-data")
        self.cat.add_resource("out", uri=self.out, role="intermediate-data")
        self.inputs = [sl.ResourceRef("raw", "a.csv"), sl.ResourceRef("raw", "b.csv")]

    def step(self, i: int) -> None:
        sl = self.sl
        with self.cat.create_execution(sl.ExecutionConfig(workflow="bench-step",
                                                          inputs=self.inputs)) as exe:
            exe.log_params(PARAMS)
            a, b = self.work(i)
            exe.add_output(a)
            exe.add_output(b)
            exe.log_metrics(self.metrics(i))

    def close(self) -> None:
        self.cat.close()


class MLflow(Side):
    name = "mlflow-sqlite"

    def __init__(self, root: Path):
        import mlflow  # before any file is made: ImportError skips the side
        from mlflow.data.http_dataset_source import HTTPDatasetSource
        from mlflow.data.meta_dataset import MetaDataset

        super().__init__(root)
        self.mlflow = mlflow
        uri = f"sqlite:///{root / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        assert mlflow.get_tracking_uri() == uri  # really the SQLite backend, not ./mlruns files
        mlflow.set_experiment("bench")
        # A file input as MLflow records one: a named dataset with a source and a digest.
        self.datasets = [MetaDataset(HTTPDatasetSource(f"file://{p}"), name=p.name,
                                     digest=str(p.stat().st_mtime_ns))
                         for p in (self.raw / "a.csv", self.raw / "b.csv")]

    def step(self, i: int) -> None:
        mlflow = self.mlflow
        with mlflow.start_run():
            mlflow.log_params(PARAMS)
            for ds in self.datasets:
                mlflow.log_input(ds, context="training")
            self.work(i)
            mlflow.log_metrics(self.metrics(i))

    def close(self) -> None:
        # MLflow keeps a cached SQLAlchemy store per URI; dispose so the file can go
        from mlflow.tracking._tracking_service.utils import _get_store

        engine = getattr(_get_store(), "engine", None)
        if engine is not None:
            engine.dispose()


class DataWorkspaces(Side):
    name = "dataworkspaces"

    def __init__(self, root: Path):
        import subprocess

        from dataworkspaces.lineage import LineageBuilder  # before any file: ImportError skips

        super().__init__(root)
        dws = Path(sys.executable).parent / "dws"
        ws = root / "ws"
        ws.mkdir()
        env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.org",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.org")
        run = lambda *a: subprocess.run([str(dws), "--batch", *a], cwd=ws, env=env,  # noqa: E731
                                        check=True, capture_output=True, text=True)
        run("init", "--hostname", "bench")
        run("add", "local-files", "--role", "source-data", "--name", "raw", str(self.raw))
        run("add", "local-files", "--role", "intermediate-data", "--name", "out", str(self.out))
        os.environ.update({k: env[k] for k in env if k.startswith("GIT_")})
        self.ws = ws
        self.builder = LineageBuilder

    def step(self, i: int) -> None:
        cwd = os.getcwd()
        os.chdir(self.ws)  # LineageBuilder finds its workspace from the cwd
        try:
            # with_step_name rather than as_script_step: the benchmark script itself is
            # not in a code resource of the workspace, which as_script_step requires
            builder = (self.builder().with_step_name("bench-step").with_parameters(PARAMS)
                       .with_input_path(str(self.raw / "a.csv"))
                       .with_input_path(str(self.raw / "b.csv"))
                       .as_results_step(str(self.out)))
            # write_results prints a line per step; keep the benchmark's output readable
            with builder.eval() as lineage, contextlib.redirect_stdout(io.StringIO()):
                self.work(i)
                lineage.write_results(self.metrics(i))
        finally:
            os.chdir(cwd)


class OpenLineage(Side):
    name = "openlineage-file"

    def __init__(self, root: Path):
        super().__init__(root)
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport.file import FileConfig, FileTransport

        self.client = OpenLineageClient(transport=FileTransport(FileConfig(
            log_file_path=str(root / "events.jsonl"), append=True)))
        self.facet = _values_facet()

    def step(self, i: int) -> None:
        import uuid

        from openlineage.client.event_v2 import (InputDataset, Job, OutputDataset, Run, RunEvent,
                                                 RunState)

        run_id = str(uuid.uuid4())
        job = Job(namespace="bench", name="bench-step")
        inputs = [InputDataset(namespace="file", name=str(self.raw / n)) for n in ("a.csv", "b.csv")]
        facets: dict[str, Any] = {"parameters": self.facet(values=PARAMS)}
        self.client.emit(RunEvent(eventType=RunState.START, eventTime=_now(),
                                  run=Run(runId=run_id, facets=facets), job=job,
                                  producer="steplineage-bench", inputs=inputs))
        a, b = self.work(i)
        outputs = [OutputDataset(namespace="file", name=str(p)) for p in (a, b)]
        facets = facets | {"metrics": self.facet(values=self.metrics(i))}
        self.client.emit(RunEvent(eventType=RunState.COMPLETE, eventTime=_now(),
                                  run=Run(runId=run_id, facets=facets), job=job,
                                  producer="steplineage-bench", inputs=inputs, outputs=outputs))


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat()


def _values_facet() -> Any:
    """A custom run facet holding a dict (parameters, metrics), as OpenLineage allows."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class ValuesRunFacet(RunFacet):
        values: dict[str, Any] = attr.field(factory=dict)

    return ValuesRunFacet


SKIPPED: dict[str, str] = {}  # comparator -> why it did not run


def make_sides(root: Path, backends: list[str], comparators: list[str]) -> list[Side]:
    """Build every side that can run here; a missing package skips its side (reported)."""
    sides: list[Side] = [Side(root / "none")]
    for backend in backends:
        if backend == "sqlite":
            sides.append(Steplineage(root / "sl-sqlite"))
        else:
            url = pg_database(PG_DB, fresh=True)
            if url is not None:
                sides.append(Steplineage(root / "sl-pg", url))
    makers = {"mlflow": MLflow, "dataworkspaces": DataWorkspaces, "openlineage": OpenLineage}
    for name in comparators:
        try:
            sides.append(makers[name](root / name))
        except ImportError as exc:
            SKIPPED[name] = f"{exc} (it runs in .venv-bench; `make bench` builds it)"
            print(f"skipping {name}: {SKIPPED[name]}")
    return sides


def measure(sides: list[Side], steps: int, rounds: int, warmup: int) -> dict[str, dict]:
    """Per side: per-round p50 and p99 (ms) of the step time."""
    for side in sides:  # first steps hash inputs, create workflows, warm caches
        for i in range(warmup):
            side.step(i)
    results: dict[str, dict] = {s.name: {"p50": [], "p99": [], "mean": []} for s in sides}
    order = list(sides)
    rng = random.Random(8)
    for _ in range(rounds):
        rng.shuffle(order)
        for side in order:
            times = []
            for i in range(steps):
                started = time.perf_counter()
                side.step(i)
                times.append((time.perf_counter() - started) * 1000)
            results[side.name]["p50"].append(percentile(times, 50))
            results[side.name]["p99"].append(percentile(times, 99))
            results[side.name]["mean"].append(sum(times) / len(times))
    return results


def rows(results: dict[str, dict], steps: int) -> list[Row]:
    """Rows for the report: absolute p50/p99 per side, ratios against steplineage."""
    out: list[Row] = []
    base = results.get("steplineage-sqlite")
    none = results.get("none")
    for name, r in results.items():
        p50_target = p99_target = ""
        if name == "steplineage-sqlite":
            p50_target, p99_target = "<= 2", "<= 10"
        ratio = ""
        if name.startswith("steplineage") and none is not None:
            added = [a - b for a, b in zip(r["p50"], none["p50"], strict=False)]
            ratio = f"adds {statistics.median(added):.2f} ms to an untracked step"
        elif base is not None and name != "none":
            # how many times cheaper steplineage (SQLite) is than this side (p50, per round)
            ratio = ratio_text(base["p50"], r["p50"], "steplineage-sqlite")
        out.append(Row("tracking", f"{name}: p50 per step ({steps} steps/round)", "ms",
                       r["p50"], target=p50_target, ratio=ratio))
        out.append(Row("tracking", f"{name}: p99 per step", "ms", r["p99"], target=p99_target))
    for name, why in SKIPPED.items():
        out.append(Row("tracking", f"{name}: p50 per step", "ms", [], note=why))
    if base is not None and "mlflow-sqlite" in results:
        mlf = results["mlflow-sqlite"]["p50"]
        out.append(Row("tracking", "MLflow p50 / steplineage-sqlite p50", "×",
                       [b / a for a, b in zip(base["p50"], mlf, strict=False)], target=">= 10",
                       ratio="same process, interleaved rounds"))
    elif base is not None:
        out.append(Row("tracking", "MLflow p50 / steplineage-sqlite p50", "×", [],
                       target=">= 10", note="MLflow did not run here (see its row)"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--steps", type=int, default=300, help="steps per side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--compare", default="mlflow,dataworkspaces,openlineage",
                        help="comparators, comma-separated ('' for none)")
    parser.add_argument("--profile", action="store_true",
                        help="pyinstrument profile of steplineage's steps into .bench-cache/")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    root = Path(tempfile.mkdtemp(prefix="sl-bench-tracking-"))
    os.environ["STEPLINEAGE_HOME"] = str(root / "home")
    try:
        if args.profile:
            sides = [s for s in make_sides(root, backends, []) if s.name != "none"]
            for side in sides:
                for i in range(args.warmup):
                    side.step(i)
                with profiled(f"tracking-{side.name}", True):
                    for i in range(args.steps):
                        side.step(i)
                side.close()
            return
        sides = make_sides(root, backends, [c for c in args.compare.split(",") if c])
        results = measure(sides, args.steps, args.rounds, args.warmup)
        for side in sides:
            side.close()
        emit(rows(results, args.steps))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if "postgresql" in backends:
            drop_pg_database(PG_DB)


if __name__ == "__main__":
    main()
