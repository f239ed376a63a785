"""``cat.health()`` and ``steplineage health``: catalog, schema, object store, spool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import steplineage as sl
from steplineage.store import engine as engines
from tests.ports import free_port


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "steplineage", *args], capture_output=True,
                          text=True, env={"STEPLINEAGE_HOME": str(home), "COLUMNS": "200",
                                          "PATH": "/usr/bin:/bin"})


def test_a_healthy_catalog(catalog: sl.Catalog, sl_home: Path) -> None:
    report = catalog.health()
    assert report.ok and [c.name for c in report.checks] == [
        "catalog", "schema", "object_store", "spool"]
    assert report.check("schema").data == {"current": engines.head_revision(),
                                           "expected": engines.head_revision()}
    assert report.check("spool").data["pending"] == 0
    url = catalog.engine.url.render_as_string(hide_password=False)
    shown = _cli("health", "--url", url, "--json", home=sl_home)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["ok"] is True


def test_an_unreachable_catalog_with_spooled_writes(sl_home: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    cat = sl.Catalog(url, home=sl_home)
    with cat.create_execution(sl.ExecutionConfig(workflow="offline")) as exe:
        exe.log_metrics({"rows": 1})  # spooled: the catalog is down
    report = cat.health()
    assert not report.ok
    assert not report.check("catalog").ok and "unreachable" in report.check("catalog").detail
    assert report.check("schema").detail == "not checked: catalog unreachable"
    assert report.check("object_store").ok
    spool = report.check("spool")
    assert not spool.ok and spool.data["pending"] > 0 and "spool flush" in spool.detail
    shown = _cli("health", "--url", url, home=sl_home)
    assert shown.returncode == 1
    assert "FAIL" in shown.stdout and "unreachable" in shown.stdout


def test_an_old_schema_is_reported_not_upgraded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    eng = engines.create_catalog_engine(f"sqlite:///{home}/catalog.db") if home.mkdir() is None \
        else None
    assert eng is not None
    engines.upgrade(eng, "0002")
    eng.dispose()
    cat = sl.Catalog(home=home, auto_migrate=False)
    schema = cat.health().check("schema")
    assert not schema.ok and "steplineage db upgrade" in schema.detail
    assert schema.data["current"] == "0002"
