"""The DAG the scheduler test runs with a real scheduler and LocalExecutor."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset, dag, task

from steplineage.airflow import track

DATA = Path(os.environ["STEPLINEAGE_EXAMPLES_DIR"]) / "scheduler"
NOTE = DATA / "note.txt"
FLAKY_MESSAGE = "flaky failure on the first try"


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def sl_test_scheduler() -> None:
    """Retries, a down catalog (lenient and strict), track(), and a listener-only task."""

    @task.steplineage(retries=1, retry_delay=timedelta(0),
                      outputs=[Asset(name="sched_flaky", uri=(DATA / "flaky.txt").as_uri())])
    def flaky(ti=None) -> str:
        if ti.try_number == 1:
            raise RuntimeError(FLAKY_MESSAGE)
        (DATA / "flaky.txt").write_text(f"try {ti.try_number}\n")
        return "ok"

    @task.steplineage(steplineage_conn_id="sl_down")
    def lenient() -> str:
        return "ran untracked"

    @task.steplineage(steplineage_conn_id="sl_down", strict=True)
    def strict() -> str:
        return "must not run"

    note = track(BashOperator(task_id="write_note",
                              bash_command=f"mkdir -p {DATA} && echo hello > {NOTE}"),
                 outputs=[Asset(name="sched_note", uri=NOTE.as_uri())])

    # Not a steplineage task: recorded by the listener ([steplineage] track_all_tasks).
    @task(inlets=[Asset(name="sched_note", uri=NOTE.as_uri())])
    def read_note() -> str:
        return NOTE.read_text()

    note >> read_note() >> flaky()
    lenient()
    strict()


sl_test_scheduler()
