"""A catalog that goes away: steps carry on, every record arrives after recovery, none twice.

The catalog is a real PostgreSQL reached through a TCP proxy that the test
switches off and on (refused and reset connections, as when the host is gone),
as a role with a password in the URL, as deployments connect: the spool must
key its writes by a name without the password and still replay them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import steplineage as sl
from toggle_proxy import ToggleProxy, proxied, row_counts

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy(pg_password_url: str) -> Iterator[tuple[ToggleProxy, str]]:
    p, url = proxied(pg_password_url)
    yield p, url
    p.down()


@pytest.fixture
def setup(proxy, sl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    p, url = proxy
    monkeypatch.setenv("STEPLINEAGE_TIMEOUT_SECONDS", "2")
    cat = sl.Catalog(url, home=sl_home)
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.csv").write_text("a\n1\n")
    cat.add_resource("data", uri=data, role="source-data")
    cat.create_asset_table("Model")
    cat.list_resources()  # the host's resource cache now knows "data"
    yield p, cat, data
    cat.close()


def _counts(cat: sl.Catalog) -> dict[str, int]:
    return row_counts(cat, ("executions", "status_history", "lineage_edges", "assets", "versions"))


def _step(cat: sl.Catalog, data: Path, name: str, before_exit=None,
          after_enter=None) -> sl.Execution:
    cfg = sl.ExecutionConfig(workflow=name, inputs=[sl.ResourceRef("data", "in.csv")],
                             outputs=[sl.ResourceRef("data", f"{name}.csv")],
                             parameters={"n": 1, "db_password": "hunter2"})
    with cat.create_execution(cfg) as exe:
        if after_enter is not None:
            after_enter()
        (data / f"{name}.csv").write_text(f"{name}\n")
        exe.asset_file_path("Model", f"{name}.bin").write_bytes(name.encode())
        exe.log_metrics({"rows": 1})
        exe.update_status(sl.Status.running, "working with hunter2")
        if before_exit is not None:
            before_exit()
    return exe


def _check_complete(cat: sl.Catalog, exe_id: str, name: str) -> None:
    rec = cat.get_execution(exe_id)
    assert rec.status is sl.Status.completed
    assert [h.status.value for h in rec.history] == [
        "created", "initializing", "running", "running", "uploading", "completed"]
    assert rec.metrics == {"rows": 1}
    assert rec.parameters == {"n": 1, "db_password": "***"}
    assert "hunter2" not in rec.history[3].message
    roles = sorted((e.role.value, str(e.ref) if e.ref else "asset", e.valid)
                   for e in cat.list_edges(exe_id))
    assert roles == [("input", "data:in.csv", True), ("output", "asset", True),
                     ("output", f"data:{name}.csv", True)]


def test_down_at_start_spools_and_replays_once(setup) -> None:
    proxy, cat, data = setup
    proxy.down()
    exe = _step(cat, data, "start")
    assert exe.offline and exe.status is sl.Status.completed
    assert "s3cret-pw" in cat.url and "s3cret-pw" not in cat.spool_key
    assert cat.spool.pending(cat.spool_key) > 0
    assert list(cat.spool.status()) == [cat.spool_key]
    for part in cat.spool.path.parent.glob("spool.db*"):  # the file and its WAL
        assert b"s3cret-pw" not in part.read_bytes()
    proxy.up()
    result = cat.flush_spool()
    assert result.failed == 0 and result.remaining == 0 and result.applied > 0
    _check_complete(cat, exe.id, "start")
    before = _counts(cat)
    assert cat.flush_spool().applied == 0
    assert _counts(cat) == before


@pytest.mark.parametrize("when", ["mid-step", "at stop"])
def test_down_mid_step_or_at_stop_and_next_step_replays(setup, when: str) -> None:
    proxy, cat, data = setup
    if when == "mid-step":
        exe = _step(cat, data, "mid", after_enter=proxy.down)
    else:
        exe = _step(cat, data, "mid", before_exit=proxy.down)
    assert exe.offline
    proxy.up()
    nxt = _step(cat, data, "next")  # the next tracked step flushes the spool first
    assert not nxt.offline and cat.spool.pending(cat.spool_key) == 0
    _check_complete(cat, exe.id, "mid")
    _check_complete(cat, nxt.id, "next")


def test_replay_is_idempotent_even_if_ops_were_half_applied(setup) -> None:
    proxy, cat, data = setup
    proxy.down()
    exe = _step(cat, data, "dup")
    proxy.up()
    # Apply every spooled op once by hand (as a flush that crashed before deleting them).
    from steplineage.store.apply import apply_op

    ops = cat.spool.peek(cat.spool_key)
    for op in ops:
        with cat.session() as s:
            apply_op(s, op, strict=False)
    once = _counts(cat)
    assert cat.flush_spool().applied == len(ops)
    assert _counts(cat) == once
    _check_complete(cat, exe.id, "dup")


def test_strict_mode_fails_the_step(setup, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, cat, data = setup
    cat.settings = cat.settings.model_copy(update={"strict": True})
    proxy.down()
    ran: list[bool] = []
    with pytest.raises(sl.TrackingError, match="strict"):
        with cat.create_execution(sl.ExecutionConfig(workflow="strict")):
            ran.append(True)
    assert ran == []
    assert cat.spool.pending() == 0


def test_spool_commands_show_and_flush(setup, sl_home: Path) -> None:
    import subprocess
    import sys

    proxy, cat, data = setup
    proxy.down()
    exe = _step(cat, data, "cli")
    waiting = cat.spool.pending(cat.spool_key)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "steplineage", *args, "--home", str(sl_home)],
                              capture_output=True, text=True, env={"COLUMNS": "250",
                                                                   "PATH": "/usr/bin:/bin"})

    status = cli("spool", "status")
    assert status.returncode == 0 and str(waiting) in status.stdout
    assert cat.spool_key.split("@")[0] in status.stdout  # the catalog, password hidden
    proxy.up()
    url = cat.engine.url.render_as_string(hide_password=False)
    flushed = cli("spool", "flush", "--url", url)
    assert flushed.returncode == 0, flushed.stderr
    assert f"replayed {waiting} operation(s); 0 remain" in flushed.stdout
    _check_complete(cat, exe.id, "cli")
    assert "empty" in cli("spool", "status").stdout
