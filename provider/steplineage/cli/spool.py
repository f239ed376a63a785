"""``steplineage spool status|flush``: writes waiting for an unreachable catalog.

Example:
    $ steplineage spool status
    $ steplineage spool flush --url postgresql+psycopg://lineage@db/lineage
"""

from __future__ import annotations

import typer
from rich.table import Table

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog

__all__ = ["spool_app"]

spool_app = typer.Typer(help="Writes waiting for an unreachable catalog.", no_args_is_help=True)


@spool_app.command("status")
def spool_status(home: HomeOption = None) -> None:
    """What waits in this host's spool, per catalog."""
    from steplineage.local.spool import Spool
    from steplineage.settings import get_settings

    spool = Spool.from_settings(get_settings(home=home))
    status = spool.status()
    if not status:
        console.print(f"spool {spool.path}: empty")
        return
    table = Table(title=f"spool {spool.path}")
    for column in ("catalog", "operations", "oldest", "attempts", "last error"):
        table.add_column(column, overflow="fold")
    for url, row in sorted(status.items()):
        table.add_row(url, str(row["operations"]), str(row["oldest"]), str(row["attempts"]),
                      str(row["last_error"] or ""))
    console.print(table)


@spool_app.command("flush")
def spool_flush(url: UrlOption = None, home: HomeOption = None) -> None:
    """Replay this host's spooled writes into the catalog, in order."""
    with open_catalog(url, home) as cat:
        result = cat.flush_spool()
    console.print(f"replayed {result.applied} operation(s); {result.remaining} remain")
    if result.failed:
        raise typer.Exit(1)
