"""Operating commands: ``steplineage reap`` and ``steplineage health``.

Example:
    $ steplineage reap --older-than 600
    $ steplineage health --json
"""

from __future__ import annotations

import typer
from rich.table import Table

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog

__all__ = ["health", "reap"]


def reap(url: UrlOption = None, home: HomeOption = None,
         older_than: float = typer.Option(
             600.0, help="Seconds without a heartbeat (at least two heartbeat intervals).")
         ) -> None:
    """Mark executions whose heartbeat stopped as aborted."""
    with open_catalog(url, home) as cat:
        reaped = cat.reap(stale_after_seconds=older_than)
    for exe_id in reaped:
        console.print(f"aborted {exe_id}")
    console.print(f"{len(reaped)} execution(s) reaped")


def health(url: UrlOption = None, home: HomeOption = None,
           as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")
           ) -> None:
    """Catalog reachability, schema version, object store and spool; exit 1 if unhealthy."""
    # Opening an embedded catalog migrates it (as every command does); a server catalog is
    # never upgraded here, so an old schema is reported rather than fixed behind your back.
    with open_catalog(url, home) as cat:
        report = cat.health()
    if as_json:
        console.print_json(report.model_dump_json())
    else:
        table = Table(title="steplineage health")
        for column in ("check", "ok", "detail"):
            table.add_column(column, overflow="fold")
        for check in report.checks:
            table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAIL[/red]",
                          check.detail)
        console.print(table)
    if not report.ok:
        raise typer.Exit(1)
