"""Operating commands: ``steplineage spool status|flush`` and ``steplineage reap``.

Example:
    $ steplineage spool status
    $ steplineage spool flush --url postgresql+psycopg://lineage@db/lineage
    $ steplineage reap --older-than 600
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

spool_app = typer.Typer(help="Writes waiting for an unreachable catalog.", no_args_is_help=True)
console = Console()

UrlOption = Annotated[Optional[str], typer.Option("--url", help="Catalog SQLAlchemy URL.")]
HomeOption = Annotated[Optional[Path], typer.Option("--home", help="STEPLINEAGE_HOME to use.")]


@spool_app.command("status")
def spool_status(home: HomeOption = None) -> None:
    """What waits in this host's spool, per catalog."""
    from steplineage.settings import get_settings
    from steplineage.local.spool import Spool

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
    from steplineage.catalog.catalog import Catalog

    with Catalog(url, home=home) as cat:
        result = cat.flush_spool()
    console.print(f"replayed {result.applied} operation(s); {result.remaining} remain")
    if result.failed:
        raise typer.Exit(1)


def reap(url: UrlOption = None, home: HomeOption = None,
         older_than: float = typer.Option(600.0, help="Seconds without a heartbeat.")) -> None:
    """Mark executions whose heartbeat stopped as aborted."""
    from steplineage.catalog.catalog import Catalog

    with Catalog(url, home=home) as cat:
        reaped = cat.reap(stale_after_seconds=older_than)
    for exe_id in reaped:
        console.print(f"aborted {exe_id}")
    console.print(f"{len(reaped)} execution(s) reaped")
