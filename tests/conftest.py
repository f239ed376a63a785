"""Shared fixtures: every catalog test runs on the embedded SQLite and on real PostgreSQL;
``chromium`` is Debian's /usr/bin/chromium through playwright, network off (browser
tests skip without it, except under ``CI=true`` where they fail).

PostgreSQL comes from ``STEPLINEAGE_TEST_PG_URL`` (the Makefile points it at
127.0.0.1:5432). Each test gets a fresh database cloned from a migrated
template, so tests never see each other's rows. When the server is unreachable
the PostgreSQL variants skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import steplineage as sl
from steplineage.store import engine as engines

CHROMIUM = Path(os.environ.get("STEPLINEAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

PG_URL = os.environ.get("STEPLINEAGE_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT",
                         connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """Name of a migrated template database for this pytest worker."""
    try:
        admin = _admin_engine()
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any connection failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is required when CI=true: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable: {exc}")
    name = f"sl_tmpl_{worker_id}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    eng = engines.create_catalog_engine(engines.normalise_url(url))
    engines.upgrade(eng)
    eng.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database for one test."""
    name = f"sl_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_password_url(pg_url: str) -> Iterator[str]:
    """``pg_url`` as a login role with a password, as deployments connect (a password in the URL).

    The test server trusts local connections, so the password is not checked, but it is in
    the URL, which is what URL handling (spool keys, logs) must cope with.
    """
    role = f"sl_pw_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 's3cret-pw'"))
    db = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        conn.execute(text(f"GRANT ALL ON SCHEMA public TO {role}; "
                          f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; "
                          f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    try:
        yield make_url(pg_url).set(username=role, password="s3cret-pw").render_as_string(
            hide_password=False)
    finally:
        with db.connect() as conn:  # the grants live in this database: drop them first
            conn.execute(text(f"DROP OWNED BY {role}"))
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.fixture
def sl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private STEPLINEAGE_HOME so nothing touches ~/.steplineage."""
    home = tmp_path / "slhome"
    monkeypatch.setenv("STEPLINEAGE_HOME", str(home))
    monkeypatch.delenv("STEPLINEAGE_CATALOG_URL", raising=False)
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(request: pytest.FixtureRequest, sl_home: Path) -> Iterator[sl.Catalog]:
    """A fresh catalog on each backend, with its own home and object store."""
    if request.param == "sqlite":
        cat = sl.Catalog(home=sl_home)
    else:
        cat = sl.Catalog(request.getfixturevalue("pg_url"), home=sl_home)
    yield cat
    cat.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A directory with two small CSV files."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "jan.csv").write_text("id,amount\n1,10\n2,20\n")
    (d / "feb.csv").write_text("id,amount\n3,30\n")
    return d


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (playwright Browser); skips when unavailable unless CI=true.

    Module-scoped: playwright's sync API keeps an event loop of its own while it
    runs, which must not outlive the browser tests and meet other tests' asyncio.
    """
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the dev extra is not installed
        problem = f"playwright is not installed: {exc}"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium when CI=true: {problem}")
        pytest.skip(problem)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
