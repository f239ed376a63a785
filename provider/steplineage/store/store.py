"""The store: one catalog database, its sessions, and driver errors turned into ours.

Only the store opens sessions. Every transaction goes through
:meth:`Store.session`, which checks the schema once, commits or rolls back, and
maps a driver error that means "the database cannot be reached right now" to
:class:`~steplineage.errors.CatalogUnavailableError` at this one boundary, so
callers catch our error instead of asking each exception whether it is one.

Example:
    >>> store = Store("sqlite://")
    >>> store.identity
    'sqlite://'
    >>> with store.session() as s:
    ...     s.connection().dialect.name
    'sqlite'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from steplineage.errors import CatalogUnavailableError, ConcurrentWriteError
from steplineage.store import engine as engines
from steplineage.store.apply import ApplyResult, apply_ops

if TYPE_CHECKING:
    from steplineage.ops import Op

__all__ = ["Store", "catalog_identity"]


def catalog_identity(url: str) -> str:
    """How a catalog is named on this host (spool, caches, logs): its URL, password masked.

    Example:
        >>> catalog_identity("postgresql+psycopg://u:secret@db/lineage")
        'postgresql+psycopg://u:***@db/lineage'
    """
    return make_url(url).render_as_string(hide_password=True)


class Store:
    """Sessions on one catalog database.

    Args:
        url: a SQLAlchemy URL (checked and normalised, see
            :func:`~steplineage.store.engine.normalise_url`).
        connect_timeout: seconds to wait for a connection.
        statement_timeout: seconds a statement may run (PostgreSQL).
        auto_migrate: upgrade the schema now; default True for SQLite. A
            server catalog is checked on first use instead, so a step can start
            (and spool) while it is down.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0,
                 statement_timeout: float = 30.0, auto_migrate: bool | None = None):
        self.url = engines.normalise_url(url)
        self.identity = catalog_identity(self.url)
        self.engine = engines.create_catalog_engine(
            self.url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        self._schema_checked = False
        migrate = auto_migrate if auto_migrate is not None else self.dialect == "sqlite"
        if migrate:
            with self.translated():
                engines.upgrade(self.engine)
            self._schema_checked = True
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.identity!r})"

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """Raise :class:`CatalogUnavailableError` for a driver error meaning "unreachable"."""
        try:
            yield
        except CatalogUnavailableError:
            raise
        except Exception as exc:
            if not engines.is_unreachable(exc):
                raise
            raise CatalogUnavailableError(
                f"catalog {self.identity} is unreachable or too slow ({type(exc).__name__}: "
                f"{_first_line(exc)}); check that the database is up, or let non-strict "
                "steps spool and run `steplineage spool flush` later") from exc

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        Callbacks in ``session.info["steplineage_on_commit"]`` run after the commit
        (caches that must only remember committed rows).
        """
        with self.translated():
            if not self._schema_checked:
                engines.check_schema(self.engine)
                self._schema_checked = True
            with self._sessions() as session:
                with session.begin():
                    yield session
                for remember in session.info.get("steplineage_on_commit", ()):
                    remember()

    def apply(self, ops: Sequence[Op], *, strict: bool = True,
              checks: Sequence[Callable[[Session], None]] = ()) -> ApplyResult:
        """Write ``ops`` in one transaction through the one apply path, then run ``checks``.

        Every write goes this way: live steps, spool replay, registration and
        ingest. Applying an operation twice changes nothing the second time.
        With ``strict=False`` (replay), a status change the state machine no
        longer allows is kept in the history without moving the status.
        ``checks`` see the transaction with the operations applied; one that
        raises rolls everything back.

        Raises:
            ConcurrentWriteError: another writer inserted the same rows at the same
                moment; nothing was written and the same operations may be applied again.

        Example:
            >>> store.apply([ExecutionCreated(...)])  # doctest: +SKIP
        """
        try:
            with self.session() as s:
                result = apply_ops(s, ops, strict=strict)
                for check in checks:
                    check(s)
        except IntegrityError as exc:
            raise ConcurrentWriteError(
                f"catalog {self.identity}: another writer recorded the same rows first "
                f"({_first_line(exc)}); apply the same operations again") from exc
        return result

    def upgrade(self, revision: str = "head") -> str:
        """Bring the schema to ``revision`` (see :func:`~steplineage.store.engine.upgrade`)."""
        with self.translated():
            found = engines.upgrade(self.engine, revision)
        self._schema_checked = True
        return found

    def dispose(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
