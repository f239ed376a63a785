"""``steplineage db``: the catalog's schema (Alembic migrations).

Example:
    $ steplineage db upgrade --url postgresql+psycopg://user@db/lineage
    $ steplineage db current
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from steplineage.cli._common import HomeOption, UrlOption, console

if TYPE_CHECKING:
    from steplineage.store.store import Store

__all__ = ["db_app"]

db_app = typer.Typer(help="Manage the catalog's schema.", no_args_is_help=True)


def _store(url: str | None, home: Path | None) -> Store:
    """The catalog's store, never migrated on opening: these commands decide that."""
    from steplineage.settings import get_settings
    from steplineage.store.store import Store

    settings = get_settings(catalog_url=url, home=home)
    return Store(settings.resolved_catalog_url(), auto_migrate=False)


@db_app.command("upgrade")
def db_upgrade(url: UrlOption = None, home: HomeOption = None,
               revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Create or upgrade the catalog schema (Alembic migrations)."""
    from steplineage.store.reports import schema_revisions

    store = _store(url, home)
    try:
        before, _ = schema_revisions(store)
        after = store.upgrade(revision)
    finally:
        store.dispose()
    console.print(f"catalog {store.identity}: schema {before or 'empty'} -> [bold]{after}[/bold]")


@db_app.command("current")
def db_current(url: UrlOption = None, home: HomeOption = None) -> None:
    """Print the catalog's schema revision and the one this code expects."""
    from steplineage.store.reports import schema_revisions

    store = _store(url, home)
    try:
        current, head = schema_revisions(store)
    finally:
        store.dispose()
    console.print(f"current: {current or 'empty'}; head: {head}")
