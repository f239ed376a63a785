"""The ``steplineage`` command as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import steplineage as sl


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "steplineage", *args], capture_output=True,
                          text=True, env={"STEPLINEAGE_HOME": str(home), "COLUMNS": "200",
                                          "PATH": "/usr/bin:/bin"})


def test_demo_runs_three_steps_and_prints_lineage(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = _cli("demo", home=home)
    assert result.returncode == 0, result.stderr
    for text in ("prepare", "train", "evaluate", "ref raw:orders.csv", "asset Model/model.json",
                 "ref results:latest", "completed"):
        assert text in result.stdout
    cat = sl.Catalog(home=home)
    [pipeline] = cat.list_executions(workflow="demo-pipeline")
    steps = cat.list_executions(parent_id=pipeline.id)
    assert sorted(s.name for s in steps) == ["evaluate", "prepare", "train"]
    assert all(s.status is sl.Status.completed for s in steps)
    train = next(s for s in steps if s.name == "train")
    evaluate = next(s for s in steps if s.name == "evaluate")
    [model_out] = cat.list_edges(train.id, role="output")
    assert model_out.asset_id in {e.asset_id for e in cat.list_edges(evaluate.id, role="input")}
    assert (home / "demo-data" / "results" / "latest" / "results.json").exists()
    # A second run reads the same input version and records a second pipeline.
    assert _cli("demo", home=home).returncode == 0
    assert len(cat.list_executions(workflow="demo-pipeline")) == 2


def test_show_and_list_executions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cat = sl.Catalog(home=home)
    with cat.create_execution(sl.ExecutionConfig(workflow="w", parameters={"k": 1})) as exe:
        exe.update_status(sl.Status.running, "halfway there")
    shown = _cli("show", "execution", exe.id, home=home)
    assert shown.returncode == 0 and "halfway there" in shown.stdout and '"k": 1' in shown.stdout
    listed = _cli("executions", home=home)
    assert exe.id[:8] in listed.stdout


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    result = _cli("show", "execution", "missing", home=tmp_path / "h")
    assert result.returncode == 2
    assert "no execution with id 'missing'" in result.stderr
    assert "Traceback" not in result.stderr
    bad = _cli("db", "upgrade", "--url", "mysql://u@h/db", home=tmp_path / "h")
    assert bad.returncode == 2 and "supports sqlite and postgresql" in bad.stderr


def test_reap_refuses_a_threshold_that_would_abort_live_steps(tmp_path: Path) -> None:
    """Issue 15, bug 3: `reap --older-than 0` used to abort a step that was still beating."""
    home = tmp_path / "home"
    cat = sl.Catalog(home=home)
    with cat.create_execution(sl.ExecutionConfig(workflow="alive")) as exe:
        # default heartbeat 30 s: only executions silent for 60 s or more can be told dead
        for older_than in ("0", "-5", "59.9"):
            result = _cli("reap", "--older-than", older_than, home=home)
            assert result.returncode == 2, (older_than, result.stdout, result.stderr)
            assert "at least 60s" in result.stderr and "Traceback" not in result.stderr
        assert cat.get_execution(exe.id).status is sl.Status.running
    assert cat.get_execution(exe.id).status is sl.Status.completed
    done = _cli("reap", "--older-than", "60", home=home)
    assert done.returncode == 0 and "0 execution(s) reaped" in done.stdout, done.stderr


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    first = _cli("db", "upgrade", "--url", url, home=tmp_path / "h")
    assert first.returncode == 0 and "schema empty -> " in first.stdout, first.stderr
    head = first.stdout.split()[-1]
    assert _cli("db", "current", "--url", url, home=tmp_path / "h").stdout.strip() == \
        f"current: {head}; head: {head}"
