"""The spool across releases: a spool file written by release 0.1.0 replays with this code.

``tests/fixtures/spool-0.1.0.db`` holds the ten operations of one complete step
(created, statuses, edges, metrics, outputs with an asset) that release 0.1.0
(commit edbf27b) spooled while its PostgreSQL catalog, reached with a password in
the URL, was down (see tests/fixtures/README.md).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import steplineage as sl
from steplineage.store.store import catalog_identity

FIXTURE = Path(__file__).parents[1] / "fixtures" / "spool-0.1.0.db"
# The catalog the old release spooled for (the proxy's port and the database are gone).
OLD_URL = "postgresql+psycopg://sl_fixture:fixture-pw@127.0.0.1:53763/sl_fixture_4c0aa2b4"
EXECUTION = "37e786fc-a0c5-450d-867f-d7f4ef3ad3ba"


def _old_spool_for(cat: sl.Catalog) -> None:
    """Put the old release's spool file in ``cat``'s home, as if spooled for ``cat``."""
    path = cat.spool.path
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as conn:
        (key,) = {k for (k,) in conn.execute("SELECT catalog_url FROM ops")}
        # The old release named the catalog as this release does, password masked.
        assert key == catalog_identity(OLD_URL) and "fixture-pw" not in key
        conn.execute("UPDATE ops SET catalog_url = ?", (cat.spool_key,))
    conn.close()


def test_a_spool_file_of_the_previous_release_replays(catalog: sl.Catalog,
                                                       tmp_path: Path) -> None:
    catalog.add_resource("data", uri=tmp_path, role="source-data")
    catalog.create_asset_table("Model")
    _old_spool_for(catalog)

    assert catalog.spool.status()[catalog.spool_key]["operations"] == 10
    result = catalog.flush_spool()
    assert (result.applied, result.failed, result.remaining) == (10, 0, 0)

    rec = catalog.get_execution(EXECUTION)
    assert rec.status is sl.Status.completed and rec.metrics == {"rows": 1}
    assert [h.status.value for h in rec.history] == [
        "created", "initializing", "running", "running", "uploading", "completed"]
    edges = sorted((e.role.value, str(e.ref) if e.ref else "asset", e.valid, e.version_hash)
                   for e in catalog.list_edges(EXECUTION))
    assert edges == [
        ("input", "data:in.csv", True,
         "309b0e45a73d3fc5325e2b6ed0a01ef8b9cde6b05a5633c1f893f970d52bfddc"),
        ("output", "asset", True, None),
        ("output", "data:out.csv", True,
         "54034ac5c6e9ea95734ec2b729fd6d62abf64af34a9f9ce5d466cb788191a73d")]
    assert [a.filename for a in catalog.list_assets("Model")] == ["model.bin"]
    # The old table was taken over, not left behind to be replayed twice.
    with sqlite3.connect(catalog.spool.path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "ops" not in tables
    assert catalog.flush_spool().applied == 0
