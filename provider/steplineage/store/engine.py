"""Engines for catalog URLs, and the Alembic migrations that shape them.

SQLite gets WAL, a busy timeout and foreign keys on every connection, so
several local processes can write one embedded catalog. PostgreSQL URLs are
steered to psycopg 3.

Example:
    >>> from steplineage.store.engine import normalise_url
    >>> normalise_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from steplineage.errors import CatalogSchemaError, CatalogURLError, ConfigurationError

__all__ = ["IN_LIST_MAX", "check_schema", "chunks", "create_catalog_engine", "current_revision",
           "head_revision", "insert_skipping_existing", "is_unreachable", "normalise_url", "upgrade",
           "url_with_password"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Values per ``IN (...)`` list: well under every driver's bound-parameter limit.
IN_LIST_MAX = 500
_T = TypeVar("_T")
_SUPPORTED = ("sqlite", "postgresql")


def normalise_url(url: str) -> str:
    """Check a catalog URL and pick the driver steplineage supports.

    Raises:
        CatalogURLError: the URL is malformed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise CatalogURLError(
            f"catalog URL {url!r} is not a SQLAlchemy URL ({exc}); expected e.g. "
            "'sqlite:////abs/path/catalog.db' or 'postgresql+psycopg://user@host:5432/db'"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise CatalogURLError(
            f"catalog URL {parsed.render_as_string(hide_password=True)!r} uses {backend!r}; "
            "steplineage supports sqlite and postgresql"
        )
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2") or parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if not parsed.database:
            raise CatalogURLError(
                f"catalog URL {parsed.render_as_string(hide_password=True)!r} names no database; "
                "add '/<dbname>' at the end"
            )
    return parsed.render_as_string(hide_password=False)


def url_with_password(url: str, password: str) -> str:
    """``url`` with ``password`` put in, unless it has one (or is SQLite, or is malformed).

    A malformed URL is returned as it is: opening the catalog reports it with advice.

    Example:
        >>> url_with_password("postgresql+psycopg://u@h/db", "pw")
        'postgresql+psycopg://u:pw@h/db'
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    if parsed.password or parsed.get_backend_name() == "sqlite":
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def chunks(values: Iterable[_T]) -> Iterator[list[_T]]:
    """``values`` sorted, without repeats, in lists of at most ``IN_LIST_MAX``.

    Example:
        >>> [len(c) for c in chunks(range(1200))]
        [500, 500, 200]
    """
    items = sorted(set(values))  # type: ignore[type-var]
    for i in range(0, len(items), IN_LIST_MAX):
        yield items[i:i + IN_LIST_MAX]


def insert_skipping_existing(s: Session, table: Table, index_elements: list[str]) -> Any:
    """INSERT that leaves rows already there (same ``index_elements``) alone.

    One statement instead of a savepoint around an insert that may lose a race.
    """
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # other databases: a plain insert (a concurrent duplicate fails the transaction)
        return insert(table)
    return dialect_insert(table).on_conflict_do_nothing(index_elements=index_elements)


def _on_sqlite_connect(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the catalog can't be reached (or is too slow) right now".

    Such failures are spooled; anything else (a bug, a constraint) is raised.
    """
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, (sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        text_ = str(exc.orig if exc.orig is not None else exc).lower()
        return not any(w in text_ for w in ("no such table", "no such column", "syntax error",
                                            "does not exist"))
    return isinstance(exc, (ConnectionError, TimeoutError))


def create_catalog_engine(url: str, *, connect_timeout: float = 10.0,
                          statement_timeout: float = 30.0) -> Engine:
    """An engine for a (normalised) catalog URL with steplineage's connection settings.

    Example:
        >>> create_catalog_engine("sqlite://").dialect.name
        'sqlite'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            engine = create_engine(url, poolclass=StaticPool,
                                   connect_args={"check_same_thread": False})
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        # Before the first connection, so every pooled connection gets the pragmas.
        event.listen(engine, "connect", _on_sqlite_connect)
        if database not in ("", ":memory:"):
            with engine.connect() as conn:  # WAL is a property of the file: set it once
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "a PostgreSQL catalog needs psycopg 3: pip install 'steplineage[postgres]'"
        ) from exc
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=connect_timeout,
        connect_args={"connect_timeout": int(max(1, connect_timeout)),
                      "options": f"-c statement_timeout={int(statement_timeout * 1000)}"},
    )


def _alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration revision this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The catalog's schema revision, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the catalog's schema to ``revision``; safe when processes race.

    SQLite serialises racers on a lock file next to the database; PostgreSQL on
    an advisory lock held for the migration's transaction.

    Returns:
        The revision the catalog is at afterwards.
    """
    from alembic import command

    if revision == "head" and current_revision(engine) == head_revision():
        return head_revision()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        from filelock import FileLock

        with FileLock(f"{engine.url.database}.migrate.lock", timeout=120):
            with engine.begin() as conn:
                command.upgrade(_alembic_config(conn), revision)
    else:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Arbitrary constant: one migration at a time per database.
                conn.execute(text("SELECT pg_advisory_xact_lock(7411502913)"))
            command.upgrade(_alembic_config(conn), revision)
    log.info("steplineage catalog %s at revision %s",
             engine.url.render_as_string(hide_password=True), revision)
    return current_revision(engine) or revision


def check_schema(engine: Engine) -> None:
    """Raise unless the catalog's schema is exactly the one this code expects."""
    found = current_revision(engine)
    expected = head_revision()
    if found != expected:
        url = engine.url.render_as_string(hide_password=True)
        raise CatalogSchemaError(
            f"catalog {url} is at schema revision {found or 'none (empty)'}, this steplineage "
            f"needs {expected}: run `steplineage db upgrade --url '{url}'`"
        )
