"""An Airflow DAG run while the catalog is down: the tasks succeed, their records are spooled,
and they arrive once (and only once) when the catalog is back.

The catalog is a real PostgreSQL behind a TCP proxy the test switches off and on, reached
through an Airflow connection with a login and a password, as deployments configure it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from airflow_catalog_checks import dag_runs, edges, sha256_of, statuses
from sqlalchemy.engine import make_url

import steplineage as sl
from toggle_proxy import proxied, row_counts

pytestmark = [pytest.mark.postgres, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

DONE = ["created", "initializing", "running", "uploading", "completed"]


def _counts(cat: sl.Catalog) -> dict[str, int]:
    return row_counts(cat, ("executions", "status_history", "lineage_edges", "versions"))


def test_dag_run_during_an_outage_is_spooled_and_replayed_once(
        run_dag, sl_home: Path, examples_dir: Path, pg_url: str, pg_password_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, url = proxied(pg_password_url)
    password = make_url(url).password
    # The connection's password goes into the catalog URL the tasks use.
    monkeypatch.setenv("AIRFLOW_CONN_STEPLINEAGE_DEFAULT", json.dumps(
        {"conn_type": "steplineage", "password": password, "extra": {
            "catalog_url": make_url(url).set(password=None).render_as_string(),
            "timeout_seconds": 2}}))
    direct = sl.Catalog(pg_url, home=sl_home)
    try:
        # A first run while the catalog is up registers the DAG's resources on this host.
        day1 = datetime(2024, 3, 1, tzinfo=timezone.utc)
        assert run_dag("sl_test_outage", logical_date=day1, run_after=day1).state == "success"
        before = _counts(direct)

        proxy.down()
        day2 = datetime(2024, 3, 2, tzinfo=timezone.utc)
        dr = run_dag("sl_test_outage", logical_date=day2, run_after=day2)
        # The outage did not fail the pipeline, and nothing reached the catalog yet.
        assert dr.state == "success"
        assert _counts(direct) == before
        # The spool is keyed by the catalog the tasks used (the proxy's), password hidden.
        offline = sl.Catalog(url, home=sl_home)
        assert offline.spool.pending(offline.spool_key) > 0
        assert password not in str(offline.spool.status())

        proxy.up()
        result = offline.flush_spool()
        assert result.failed == 0 and result.remaining == 0 and result.applied > 0
        # The outage's run arrived whole: parent, three tasks, statuses, edges and versions.
        (run,) = [r for r in dag_runs(direct, "sl_test_outage")
                  if r.parent.orchestrator.run_id == dr.run_id]
        assert run.parent.status is sl.Status.completed
        assert sorted(c.name for c in run.children) == ["produce", "refine"]
        for child in run.children:
            assert statuses(child) == DONE, child.name
        produce, refine = run.only("produce"), run.only("refine")
        (raw_out,) = edges(direct, produce, "output")
        (raw_in,) = edges(direct, refine, "input")
        (clean_out,) = edges(direct, refine, "output")
        outage = examples_dir / "tests" / "outage"
        # The versions are those of this run's files (the first run wrote other content).
        assert dr.run_id in (outage / "raw.txt").read_text()
        assert raw_out.version_hash == raw_in.version_hash == sha256_of(outage / "raw.txt")
        assert clean_out.version_hash == sha256_of(outage / "clean.txt")
        assert raw_out.valid and clean_out.valid
        assert produce.parameters["api_token"] == "***"

        # A second flush (or the next task's automatic one) writes nothing twice.
        after = _counts(direct)
        assert offline.flush_spool().applied == 0
        assert _counts(direct) == after
        offline.close()
    finally:
        direct.close()
        proxy.down()
