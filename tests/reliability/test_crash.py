"""A step process killed with SIGKILL: the reaper marks it aborted, nothing half-registered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import steplineage as sl

CHILD = textwrap.dedent("""
    import sys, steplineage as sl
    cat = sl.Catalog()
    cfg = sl.ExecutionConfig(workflow="doomed", outputs=[sys.argv[1] + "/partial.csv"])
    with cat.create_execution(cfg) as exe:
        open(sys.argv[1] + "/partial.csv", "w").write("half")
        exe.asset_file_path("Model", "partial.bin").write_bytes(b"half a model")
        print(exe.id, flush=True)
        sys.stdin.read()  # wait to be killed
""")


def test_sigkill_mid_run_is_reaped_as_aborted(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    out = tmp_path / "out"
    out.mkdir()
    # The reaper must know the heartbeat interval: it refuses thresholds under two beats.
    monkeypatch.setenv("STEPLINEAGE_HEARTBEAT_SECONDS", "0.2")
    cat = sl.Catalog(home=home)
    cat.add_resource("out", uri=out, role="results")
    cat.create_asset_table("Model")
    env = {**os.environ, "STEPLINEAGE_HOME": str(home), "STEPLINEAGE_HEARTBEAT_SECONDS": "0.2"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        exe_id = child.stdout.readline().strip()
        assert exe_id, "child did not start its execution"
        first_beat = cat.get_execution(exe_id)
        deadline = time.monotonic() + 30
        beats: set = set()
        while len(beats) < 3 and time.monotonic() < deadline:  # the heartbeat is alive
            with cat.engine.connect() as conn:
                beats.add(conn.exec_driver_sql(
                    "SELECT heartbeat_at FROM executions WHERE id = ?", (exe_id,)).scalar())
            time.sleep(0.05)  # poll interval, bounded by the deadline
        assert len(beats) >= 3
        assert first_beat.status is sl.Status.running
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert cat.reap(stale_after_seconds=3600) == []  # a fresh beat is not stale
    reaped: list[str] = []
    deadline = time.monotonic() + 30
    while exe_id not in reaped and time.monotonic() < deadline:
        reaped = cat.reap(stale_after_seconds=1.0)
        time.sleep(0.1)  # poll interval, bounded by the deadline
    assert reaped == [exe_id]
    rec = cat.get_execution(exe_id)
    assert rec.status is sl.Status.aborted and "reaped: no heartbeat" in rec.status_message
    outputs = cat.list_edges(exe_id, role="output")
    assert [(str(e.ref), e.valid, e.version_hash) for e in outputs] == [
        ("out:partial.csv", False, None)]
    assert cat.list_assets("Model") == []
    objects = home / "objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))
    assert cat.lineage.stale() == []


def test_starting_a_step_reaps_dead_executions_lazily(tmp_path: Path,
                                                      monkeypatch) -> None:
    from datetime import timedelta

    from steplineage.store import orm
    from steplineage.tracking.heartbeat import _last_lazy_reap

    cat = sl.Catalog(home=tmp_path / "home")
    dead = cat.create_execution(sl.ExecutionConfig(workflow="dead"))
    dead.execution_start()
    dead._stop_heartbeat()  # the process "dies": no more beats
    with cat.session() as s:  # ...and its last beat was long ago
        s.get(orm.Execution, dead.id).heartbeat_at = orm.utcnow() - timedelta(hours=1)
    _last_lazy_reap.clear()
    with cat.create_execution(sl.ExecutionConfig(workflow="alive")):
        pass
    rec = cat.get_execution(dead.id)
    assert rec.status is sl.Status.aborted and "reaped" in rec.status_message


def test_spool_refuses_past_its_bound_with_a_warning(tmp_path: Path, caplog) -> None:
    from datetime import datetime, timezone

    from steplineage.ops import StatusChanged
    from steplineage.local.spool import Spool

    spool = Spool(tmp_path / "spool.db", max_ops=2)
    op = StatusChanged(execution_id="e", seq=1, status=sl.Status.running,
                       at=datetime.now(timezone.utc))
    assert spool.append("db", op) and spool.append("db", op)
    assert spool.append("db", op) is False
    assert spool.pending("db") == 2
    assert "is full" in caplog.text and "DROPPED" in caplog.text


def test_reap_refuses_thresholds_under_two_heartbeats(tmp_path: Path) -> None:
    """Issue 15, bug 3: a threshold under two heartbeats would abort live steps."""
    cat = sl.Catalog(home=tmp_path / "home")  # default heartbeat: 30 s
    with cat.create_execution(sl.ExecutionConfig(workflow="alive")) as exe:
        for too_small in (0, -1, 59.9):
            with pytest.raises(sl.ConfigurationError, match="must be at least 60s"):
                cat.reap(stale_after_seconds=too_small)
        assert cat.reap(stale_after_seconds=60) == []
    assert cat.get_execution(exe.id).status is sl.Status.completed
