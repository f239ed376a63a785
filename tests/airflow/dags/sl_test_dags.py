"""DAGs the Airflow tests run (with dag.test() and through a real scheduler).

Files go under ``$STEPLINEAGE_EXAMPLES_DIR/tests``; the tests point that and
``STEPLINEAGE_HOME`` at temporary directories before these DAGs are parsed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowSkipException

import steplineage as sl
from steplineage.airflow import TrackedPythonOperator, track
from steplineage.settings import get_settings

EXAMPLES = os.environ.get("STEPLINEAGE_EXAMPLES_DIR") or get_settings().home / "examples"
DATA = Path(EXAMPLES) / "tests"
START = datetime(2024, 1, 1)
FLAKY_MESSAGE = "flaky failure on the first try"
# A connection to a PostgreSQL port nobody listens on (the tests define it).
DOWN_CONN = "sl_down"


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_retry() -> None:
    """A task that fails once, then succeeds on its retry."""

    @task.steplineage(retries=1, retry_delay=timedelta(0),
                      outputs=[Asset(name="retry_out", uri=(DATA / "retry.txt").as_uri())])
    def flaky(ti=None) -> str:
        if ti.try_number == 1:
            raise RuntimeError(FLAKY_MESSAGE)
        (DATA / "retry.txt").parent.mkdir(parents=True, exist_ok=True)
        (DATA / "retry.txt").write_text(f"ok on try {ti.try_number}\n")
        return "ok"

    flaky()


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_down() -> None:
    """The catalog is unreachable: lenient tasks run untracked, strict ones fail."""

    @task.steplineage(steplineage_conn_id=DOWN_CONN)
    def lenient() -> str:
        return "ran untracked"

    @task.steplineage(steplineage_conn_id=DOWN_CONN, strict=True)
    def strict() -> str:
        return "must not run"

    lenient()
    strict()


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_skips() -> None:
    """Tasks that never run, or skip themselves, are recorded as skipped."""

    @task.steplineage
    def boom() -> None:
        raise ValueError("boom on purpose")

    @task.steplineage
    def after_boom() -> None:
        raise AssertionError("never runs: upstream failed")

    @task.steplineage
    def maybe() -> None:
        raise AirflowSkipException("nothing new today")

    @task.steplineage
    def after_maybe() -> None:
        raise AssertionError("never runs: upstream skipped")

    boom() >> after_boom()
    maybe() >> after_maybe()


REPORT = DATA / "generic" / "report.txt"


def _summarise(path: str, dsn: str, api_key: str, sl_execution: sl.Execution) -> int:
    text = Path(path).read_text()
    sl_execution.log_metrics({"chars": len(text)})
    return len(text)


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_generic() -> None:
    """track() on a BashOperator, TrackedPythonOperator, a mapped task, a listener-only task."""
    write = track(BashOperator(task_id="write_report",
                               bash_command=f"mkdir -p {REPORT.parent} && "
                                            f"echo 'rows: 3' > {REPORT}"),
                  outputs=[str(REPORT)])
    summarise = TrackedPythonOperator(
        task_id="summarise", python_callable=_summarise, inputs=[str(REPORT)],
        op_kwargs={"path": str(REPORT), "dsn": "{{ conn.sl_warehouse.password }}",
                   "api_key": "k-123456"})

    @task.steplineage(outputs=[str(DATA / "generic" / "part-{{ ti.map_index }}.txt")])
    def part(n: int, ti=None) -> int:
        out = DATA / "generic" / f"part-{ti.map_index}.txt"
        out.write_text(str(n * n))
        return n * n

    @task(inlets=[Asset(name="generic_report", uri=REPORT.as_uri())],
          outlets=[Asset(name="generic_copy", uri=(DATA / "generic" / "copy.txt").as_uri())])
    def plain_copy() -> None:
        (DATA / "generic" / "copy.txt").write_text(REPORT.read_text())

    write >> summarise >> part.expand(n=[2, 3])
    write >> plain_copy()


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_reaped() -> None:
    """A strict task whose record (and its DAG run's) the reaper aborts while it runs."""

    @task.steplineage(strict=True)
    def outlived(exe: sl.Execution) -> str:
        from reaper import reap_now  # tests/reaper.py: the tests run this DAG in-process

        reap_now(exe.catalog, exe.id, exe.parent_id)
        exe.update_status(sl.Status.running, "still going")
        return "finished"

    outlived()


sl_test_retry()
sl_test_down()
sl_test_skips()
sl_test_generic()
sl_test_reaped()


OUTAGE = DATA / "outage"


@dag(schedule=None, start_date=START, catchup=False)
def sl_test_outage() -> None:
    """Two tracked steps linked through a file (the tests take the catalog away meanwhile)."""
    raw, clean = OUTAGE / "raw.txt", OUTAGE / "clean.txt"

    @task.steplineage(outputs=[str(raw)])
    def produce(api_token: str, run_id=None) -> None:
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(f"rows of {run_id}\n")

    @task.steplineage(inputs=[str(raw)], outputs=[str(clean)])
    def refine() -> None:
        clean.write_text(raw.read_text().upper())

    produce(api_token="s3cr3t-token") >> refine()


sl_test_outage()
