"""What goes wrong: catalog outages, invalid parameters, cancelled runs, a SIGTERM-ed process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import UUID

import pytest
from prefect.states import Cancelled

import steplineage as sl
from steplineage.prefect import current_execution, flow_execution_id, tracked_flow, tracked_task


@tracked_task(retries=1, retry_delay_seconds=0)
def double(n: int) -> int:
    return 2 * n


@tracked_flow
def doubling(n: int) -> int:
    return double(n) + sum(double.map([1, 2]).result())


@tracked_flow(strict=True)
def doubling_strictly(n: int) -> int:
    return double(n)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def catalog_down(sl_home: Path, monkeypatch: pytest.MonkeyPatch) -> sl.Catalog:
    """Nothing listens where the catalog should be: every connection is refused."""
    url = f"postgresql+psycopg://steplineage@127.0.0.1:{_unused_port()}/catalog"
    monkeypatch.setenv("STEPLINEAGE_CATALOG_URL", url)
    monkeypatch.setenv("STEPLINEAGE_TIMEOUT_SECONDS", "2")
    return sl.Catalog(url, home=sl_home)


def test_catalog_outage_does_not_fail_the_flow_and_is_spooled(catalog_down: sl.Catalog) -> None:
    assert doubling(5) == 16
    # The runs were not lost: their records wait in the spool for the catalog to return.
    assert catalog_down.spool.pending(catalog_down.spool_key) > 0


def test_catalog_outage_fails_a_strict_flow(catalog_down: sl.Catalog) -> None:
    state = doubling_strictly(5, return_state=True)
    assert state.is_failed()
    with pytest.raises(sl.TrackingError, match="strict"):
        state.result()


def test_strict_from_the_environment_fails_the_flow(catalog_down: sl.Catalog,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPLINEAGE_STRICT", "true")
    with pytest.raises(sl.TrackingError):
        doubling(5)


def test_invalid_parameters_are_recorded_by_the_failure_hook(sl_home: Path) -> None:
    # Prefect rejects the call before the function runs; only the state hook sees it.
    state = doubling(n="not a number", return_state=True)
    assert state.is_failed()
    cat = sl.Catalog(home=sl_home)
    record = cat.get_execution(flow_execution_id(state.state_details.flow_run_id, 1))
    assert record.status is sl.Status.failed and record.name == "doubling"
    assert "Prefect state Failed" in record.status_message
    assert "invalid parameters" in record.status_message.lower()
    assert record.parameters == {"n": "not a number"}
    assert cat.list_executions(parent_id=record.id) == []


@tracked_flow
def cancelling() -> object:
    double(1)
    return Cancelled(message="the operator said stop")


def test_a_cancelled_run_is_aborted(sl_home: Path) -> None:
    state = cancelling(return_state=True)
    assert state.is_cancelled()
    cat = sl.Catalog(home=sl_home)
    record = cat.get_execution(flow_execution_id(state.state_details.flow_run_id, 1))
    assert record.status is sl.Status.aborted
    assert "the operator said stop" in record.status_message
    (child,) = cat.list_executions(parent_id=record.id)
    assert child.status is sl.Status.completed


SCRIPT = """
import sys
from steplineage.prefect import tracked_flow, tracked_task

@tracked_task
def wait_for_input() -> str:
    print("READY", flush=True)
    return sys.stdin.read()

@tracked_flow
def doomed() -> str:
    return wait_for_input()

doomed()
"""


def test_sigterm_crash_aborts_the_flow_and_its_running_task(
        sl_home: Path, tmp_path: Path, prefect_server: str, prefect_client) -> None:
    script = tmp_path / "doomed.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "STEPLINEAGE_HOME": str(sl_home),
           "PREFECT_HOME": str(tmp_path / "prefect-home")}
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks until the task is running
            if line.strip() == "READY":
                break
        else:
            pytest.fail(f"the flow never started: {proc.stderr.read() if proc.stderr else ''}")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0

    cat = sl.Catalog(home=sl_home)
    (flow,) = [r for r in cat.list_executions(limit=None) if r.name == "doomed"]
    (task,) = cat.list_executions(parent_id=flow.id)
    assert flow.status is sl.Status.aborted and task.status is sl.Status.aborted
    assert "TerminationSignal" in task.status_message
    assert flow.stop_time is not None and task.stop_time is not None
    # Killed outside a worker, Prefect may never hear the end of the run; the catalog did.
    flow_run = prefect_client.read_flow_run(UUID(flow.orchestrator.flow_run_id))
    assert not flow_run.state.is_completed()


@tracked_flow
def giving_up() -> object:
    from prefect.states import Failed

    return Failed(message="upstream feed is empty")


def test_a_returned_failed_state_is_failed(sl_home: Path) -> None:
    state = giving_up(return_state=True)
    assert state.is_failed()
    record = sl.Catalog(home=sl_home).get_execution(
        flow_execution_id(state.state_details.flow_run_id, 1))
    assert record.status is sl.Status.failed
    assert "upstream feed is empty" in record.status_message


@tracked_task
def outlived() -> str:
    from reaper import reap_now

    exe = current_execution()
    assert exe is not None and exe.parent_id is not None
    reap_now(exe.catalog, exe.id, exe.parent_id)
    exe.update_status(sl.Status.running, "still going")
    return "finished"


@tracked_flow(strict=True)
def reaped_meanwhile() -> str:
    return outlived()


def test_a_reaped_strict_run_finishes_and_keeps_its_end_in_the_history(sl_home: Path) -> None:
    """The reaper aborting live runs (their heartbeat was lost) never fails them."""
    state = reaped_meanwhile(return_state=True)
    assert state.is_completed() and state.result() == "finished"
    records = sl.Catalog(home=sl_home).list_executions(limit=None)
    assert sorted(r.name for r in records)[1] == "reaped-meanwhile" and len(records) == 2
    for record in records:
        assert record.status is sl.Status.aborted and record.status_message.startswith("reaped")
        assert [h.status.value for h in record.history if h.message.endswith(
            "[not applied: execution was already aborted]")][-1] == "completed"
