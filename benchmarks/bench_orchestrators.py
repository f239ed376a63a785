"""What tracking adds to a 50-task Airflow DAG run and a 50-task Prefect flow run.

Workload (both orchestrators, tracked and untracked alike): a chain of N tasks;
task ``i`` reads the file task ``i-1`` wrote (task 0 reads a seed file), writes
its own small file and returns its length. The tracked variant is the same
function under ``@task.steplineage(inputs=[prev], outputs=[own])`` (Airflow)
or ``@tracked_task(inputs=[prev], outputs=[own])`` (Prefect), recording into an
embedded SQLite catalog; the untracked one uses plain ``@task``.

* Airflow 3.3: ``dag.test()`` of each DAG in a private, migrated AIRFLOW_HOME
  (SQLite metadata DB), tracked and untracked runs alternating.
* Prefect 3.7: the flow called in-process against a ``prefect_test_harness``
  server (heartbeat off, as in tests/prefect/conftest.py), alternating.

Each figure is the wall time of one whole run; "added" is tracked minus
untracked over untracked, per pair of runs (one tracked and one untracked run
next to each other), median over pairs. A second figure compares the fastest
run of each side, which sporadic stalls of the orchestrator cannot inflate.

Usage (main .venv: it has Airflow and Prefect):
    .venv/bin/python benchmarks/bench_orchestrators.py airflow --tasks 50 --rounds 3
    .venv/bin/python benchmarks/bench_orchestrators.py prefect --tasks 50 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, emit, private_home  # noqa: E402

WORK = private_home("orch")
DATA = WORK / "data"

DAG_FILE = textwrap.dedent('''
    """Benchmark DAGs: a chain of N tasks, tracked and untracked."""
    import os
    from datetime import datetime
    from pathlib import Path

    from airflow.sdk import dag, task

    N = int(os.environ["SL_BENCH_TASKS"])
    DATA = Path(os.environ["SL_BENCH_DATA"])


    def body(i):
        def step():
            text = (DATA / (f"t{i - 1:03d}.txt" if i else "seed.txt")).read_text()
            (DATA / f"t{i:03d}.txt").write_text(text[-50:] + f" step {i}\\n")
            return len(text)
        step.__name__ = step.__qualname__ = f"step_{i:03d}"
        return step


    def make(dag_id, tracked):
        @dag(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
        def chain():
            previous = None
            for i in range(N):
                src = DATA / (f"t{i - 1:03d}.txt" if i else "seed.txt")
                deco = (task.steplineage(task_id=f"t{i:03d}", inputs=[str(src)],
                                         outputs=[str(DATA / f"t{i:03d}.txt")])
                        if tracked else task(task_id=f"t{i:03d}"))
                current = deco(body(i))()
                if previous is not None:
                    previous >> current
                previous = current
        return chain()


    make("bench_untracked", False)
    make("bench_tracked", True)
''')


def _prepare_data() -> None:
    import steplineage as sl

    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "seed.txt").write_text("seed\n")
    cat = sl.Catalog()
    cat.add_resource("bench", uri=DATA, role="intermediate-data")
    cat.close()


def bench_airflow(tasks: int, rounds: int) -> list[Row]:
    home = WORK / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "bench_dags.py").write_text(DAG_FILE)
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
           "SL_BENCH_TASKS": str(tasks), "SL_BENCH_DATA": str(DATA)}
    os.environ.update(env)
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                   env=os.environ, check=True, capture_output=True, timeout=600)
    _prepare_data()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(home / "dags"))
    if bag.import_errors:
        raise SystemExit(f"benchmark DAGs failed to import: {bag.import_errors}")

    def run(dag_id: str) -> float:
        started = time.perf_counter()
        dr = bag.get_dag(dag_id).test()
        took = time.perf_counter() - started
        if str(dr.state) != "success":
            raise SystemExit(f"{dag_id} ended {dr.state}; the benchmark needs successful runs")
        return took

    run("bench_untracked"), run("bench_tracked")  # warm-up: imports, first catalog writes
    return _pairs("airflow", f"{tasks}-task DAG, dag.test()", run, "bench_tracked",
                  "bench_untracked", rounds,
                  tasks)


def bench_prefect(tasks: int, rounds: int) -> list[Row]:
    os.environ.update({"PREFECT_HOME": str(WORK / "prefect"),
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "PREFECT_LOGGING_TO_API_ENABLED": "false",
                       "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(WORK / "prefect-results")})
    _prepare_data()
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from steplineage.prefect import tracked_flow, tracked_task

    def body(i: int) -> int:
        text = (DATA / (f"t{i - 1:03d}.txt" if i else "seed.txt")).read_text()
        (DATA / f"t{i:03d}.txt").write_text(text[-50:] + f" step {i}\n")
        return len(text)

    # no caching on either side: every run does the work (and records it)
    plain = [task(name=f"t{i:03d}", cache_policy=NO_CACHE)(_named(i, body))
             for i in range(tasks)]
    tracked = [tracked_task(name=f"t{i:03d}", cache_policy=NO_CACHE,
                            inputs=[str(DATA / (f"t{i - 1:03d}.txt" if i else "seed.txt"))],
                            outputs=[str(DATA / f"t{i:03d}.txt")])(_named(i, body))
               for i in range(tasks)]

    def chain(steps: list) -> int:
        return sum(step() for step in steps)

    untracked_flow = flow(name="bench-untracked")(_named(-1, lambda _i: chain(plain)))
    tracked_flow_ = tracked_flow(name="bench-tracked")(_named(-1, lambda _i: chain(tracked)))
    flows = {"tracked": tracked_flow_, "untracked": untracked_flow}

    def run(which: str) -> float:
        started = time.perf_counter()
        flows[which]()
        return time.perf_counter() - started

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
            prefect_test_harness(server_startup_timeout=120):
        run("untracked"), run("tracked")  # warm-up
        return _pairs("prefect", f"{tasks}-task flow", run, "tracked", "untracked", rounds,
                      tasks)


def _named(i: int, body):
    """A named function for Prefect/steplineage (lambdas get poor task and workflow names)."""
    def step() -> int:
        return body(i)
    step.__name__ = step.__qualname__ = f"bench_step_{i:03d}" if i >= 0 else "bench_chain"
    return step


def _check_recorded(tasks: int, runs: int) -> None:
    """Fail loudly if the tracked runs did not really record their tasks."""
    import steplineage as sl

    cat = sl.Catalog()
    found = sum(1 for e in cat.list_executions(limit=None) if e.name.startswith(("t", "bench_step")))
    cat.close()
    if found < tasks * runs:
        raise SystemExit(f"the tracked runs recorded {found} task executions, expected at least "
                         f"{tasks * runs}: tracking is not on, so the figures would be meaningless")


def _pairs(section: str, what: str, run, tracked: str, untracked: str, rounds: int,
           tasks: int) -> list[Row]:
    plain, tracked_s, added = [], [], []
    for r in range(rounds):
        # alternate which goes first, so a slow moment does not always hit one side
        order = (untracked, tracked) if r % 2 == 0 else (tracked, untracked)
        took = {name: run(name) for name in order}
        plain.append(took[untracked])
        tracked_s.append(took[tracked])
        added.append((took[tracked] - took[untracked]) / took[untracked] * 100)
    _check_recorded(tasks, rounds + 1)  # + the warm-up run
    return [
        Row(section, f"{what}: untracked wall time", "s", plain),
        Row(section, f"{what}: tracked wall time", "s", tracked_s,
            ratio=f"tracked/untracked {statistics.median(t / p for t, p in zip(tracked_s, plain)):.2f}×"),
        Row(section, f"{what}: time added by tracking", "%", added, target="<= 5",
            ratio="per pair of neighbouring runs"),
        # Sporadic stalls of the orchestrator itself (e.g. the Prefect client sleeping
        # before a retry) land on either side; the fastest runs show tracking's own cost.
        Row(section, f"{what}: time added, fastest tracked vs fastest untracked run", "%",
            [(min(tracked_s) - min(plain)) / min(plain) * 100],
            ratio=f"{(min(tracked_s) - min(plain)) / tasks * 1000:.0f} ms per task"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("orchestrator", choices=["airflow", "prefect"])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bench = bench_airflow if args.orchestrator == "airflow" else bench_prefect
    emit(bench(args.tasks, args.rounds))


if __name__ == "__main__":
    main()
