"""The catalog itself: URLs, migrations, concurrency, workflows, resources."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import steplineage as sl
from steplineage.store import engine as engines
from steplineage.store.orm import Base


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "postgresql://u@h",
                                 "oracle+cx://x"])
def test_malformed_or_unsupported_urls_are_refused(url: str, sl_home: Path) -> None:
    with pytest.raises(sl.CatalogURLError, match="catalog URL"):
        sl.Catalog(url)
    assert not sl_home.exists()  # nothing created for a bad URL


def test_postgres_urls_get_psycopg3() -> None:
    assert engines.normalise_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"


def test_embedded_default_lives_in_home_with_wal(sl_home: Path) -> None:
    cat = sl.Catalog()
    assert cat.url == f"sqlite:///{sl_home / 'catalog.db'}"
    with cat.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert cat.settings.resolved_object_store() == f"file://{sl_home / 'objects'}"


def test_migrations_match_the_orm(catalog: sl.Catalog) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with catalog.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert engines.current_revision(catalog.engine) == engines.head_revision()


@pytest.mark.postgres
def test_server_catalog_needs_explicit_upgrade(pg_template: str, sl_home: Path) -> None:
    from tests.conftest import PG_URL, _admin_engine

    name = f"sl_empty_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        unmigrated = sl.Catalog(url)  # opening is lazy: a task may start while the db is down
        with pytest.raises(sl.CatalogSchemaError, match="steplineage db upgrade"):
            unmigrated.list_executions()
        result = subprocess.run([sys.executable, "-m", "steplineage", "db", "upgrade", "--url", url],
                                capture_output=True, text=True, check=True)
        assert f"-> {engines.head_revision()}" in result.stdout
        assert sl.Catalog(url).list_executions() == []
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _first_use(home: str, n: int, queue) -> None:
    try:
        cat = sl.Catalog(home=home)
        with cat.create_execution(sl.ExecutionConfig(workflow="race", name=f"p{n}")):
            pass
        queue.put(("ok", n))
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent
        queue.put(("error", repr(exc)))


def test_concurrent_first_use_of_fresh_embedded_catalog(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_first_use, args=(str(home), n, queue)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    results = [queue.get(timeout=5) for _ in procs]
    assert sorted(results) == [("ok", 0), ("ok", 1), ("ok", 2), ("ok", 3)]
    cat = sl.Catalog(home=home)
    execs = cat.list_executions(workflow="race")
    assert sorted(e.name for e in execs) == ["p0", "p1", "p2", "p3"]
    assert all(e.status is sl.Status.completed for e in execs)
    with cat.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM workflows")).scalar() == 1


def test_workflow_from_git_source_records_remote_commit_and_dirty(catalog: sl.Catalog,
                                                                  tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text("print('train')\n")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("remote", "add", "origin", "git@github.com:acme/models.git")
    git("add", "train.py")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init")
    commit = git("rev-parse", "HEAD")
    wf = catalog.add_workflow("train", "script", source=script)
    assert wf.url == f"https://github.com/acme/models/blob/{commit}/train.py"
    assert wf.version == commit[:12] and wf.dirty is False
    import hashlib

    assert wf.checksum == hashlib.sha256(script.read_bytes()).hexdigest()
    assert catalog.add_workflow("train", "script", source=script).id == wf.id  # idempotent
    script.write_text("print('changed')\n")
    dirty = catalog.add_workflow("train", "script", source=script)
    assert dirty.dirty is True and dirty.id != wf.id
    assert catalog.get_workflow("train").id == dirty.id


def test_paths_resolve_to_the_innermost_resource(catalog: sl.Catalog, tmp_path: Path) -> None:
    (tmp_path / "lake" / "raw").mkdir(parents=True)
    catalog.add_resource("lake", uri=tmp_path / "lake", role="source-data")
    catalog.add_resource("raw", uri=tmp_path / "lake" / "raw", role="source-data")
    assert catalog.resolve_ref(tmp_path / "lake" / "raw" / "x.csv") == sl.ResourceRef("raw",
                                                                                      "x.csv")
    assert catalog.resolve_ref(tmp_path / "lake" / "y") == sl.ResourceRef("lake", "y")
    assert catalog.resolve_ref(tmp_path / "lake") == sl.ResourceRef("lake")
    with pytest.raises(sl.CatalogError, match="already registered"):
        catalog.add_resource("raw", uri=tmp_path / "elsewhere", role="source-data")


def test_unknown_things_raise_not_found(catalog: sl.Catalog) -> None:
    with pytest.raises(sl.NotFoundError):
        catalog.get_execution("nope")
    with pytest.raises(sl.NotFoundError, match="add_workflow"):
        catalog.get_workflow("nope")
    with pytest.raises(sl.NotFoundError):
        catalog.get_asset("nope")
    with pytest.raises(sl.NotFoundError, match="parent execution"):
        catalog.create_execution(sl.ExecutionConfig(workflow="w", parent_execution_id="nope"))
    with pytest.raises(sl.UnknownAssetTableError):
        catalog.list_assets("Nope")


def test_config_rejects_unknown_fields() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="extra"):
        sl.ExecutionConfig(workflow="w", input=["typo"])  # type: ignore[call-arg]
