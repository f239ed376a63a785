"""``steplineage show execution`` and ``steplineage executions``: executions in the terminal.

Example:
    $ steplineage show execution 5b8470d0-...
    $ steplineage executions --workflow train --status failed --limit 20
"""

from __future__ import annotations

from typing import Optional

import typer

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog

__all__ = ["list_executions", "show_app", "show_execution"]

show_app = typer.Typer(help="Show one thing from the catalog.", no_args_is_help=True)


@show_app.command("execution")
def show_execution(execution_id: str, url: UrlOption = None, home: HomeOption = None) -> None:
    """An execution: status history, parameters, metrics and lineage edges."""
    from steplineage.cli.registry import audit_trail
    from steplineage.cli.tables import execution_panel

    with open_catalog(url, home) as cat:
        console.print(execution_panel(cat, execution_id))
        trail = audit_trail(cat, execution_id)  # model runs: earlier records and reasons
        if trail is not None:
            console.print(trail)


def list_executions(
    url: UrlOption = None, home: HomeOption = None,
    workflow: Optional[str] = typer.Option(None, help="Only this workflow."),
    status: Optional[str] = typer.Option(None, help="Only this status."),
    limit: int = typer.Option(50, help="Newest N."),
) -> None:
    """List executions, newest first."""
    from steplineage.cli.tables import executions_table

    with open_catalog(url, home) as cat:
        console.print(executions_table(cat.list_executions(workflow=workflow, status=status,
                                                           limit=limit)))
