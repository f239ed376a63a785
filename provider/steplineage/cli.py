"""The ``steplineage`` command.

Example:
    $ steplineage db upgrade --url postgresql+psycopg://user@db/lineage
    $ steplineage demo
    $ steplineage show execution 5b8470d0-...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from steplineage.errors import SteplineageError

app = typer.Typer(help="Step-level execution provenance and data lineage.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Manage the catalog's schema.", no_args_is_help=True)
show_app = typer.Typer(help="Show one thing from the catalog.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(show_app, name="show")

console = Console()

UrlOption = Annotated[Optional[str], typer.Option(
    "--url", help="Catalog SQLAlchemy URL (default: STEPLINEAGE_CATALOG_URL or the embedded "
                  "SQLite under STEPLINEAGE_HOME).")]
HomeOption = Annotated[Optional[Path], typer.Option(
    "--home", help="STEPLINEAGE_HOME to use (default: env or ~/.steplineage).")]


def _catalog(url: str | None, home: Path | None = None):
    from steplineage.catalog.catalog import Catalog

    return Catalog(url, home=home, auto_migrate=None)


@db_app.command("upgrade")
def db_upgrade(url: UrlOption = None, home: HomeOption = None,
               revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Create or upgrade the catalog schema (Alembic migrations)."""
    from steplineage.catalog import engine as engines
    from steplineage.settings import get_settings

    settings = get_settings(catalog_url=url, home=home)
    engine = engines.create_catalog_engine(engines.normalise_url(settings.resolved_catalog_url()))
    try:
        before = engines.current_revision(engine)
        after = engines.upgrade(engine, revision)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    console.print(f"catalog {where}: schema {before or 'empty'} -> [bold]{after}[/bold]")


@db_app.command("current")
def db_current(url: UrlOption = None, home: HomeOption = None) -> None:
    """Print the catalog's schema revision and the one this code expects."""
    from steplineage.catalog import engine as engines
    from steplineage.settings import get_settings

    settings = get_settings(catalog_url=url, home=home)
    engine = engines.create_catalog_engine(engines.normalise_url(settings.resolved_catalog_url()))
    try:
        console.print(f"current: {engines.current_revision(engine) or 'empty'}; "
                      f"head: {engines.head_revision()}")
    finally:
        engine.dispose()


@show_app.command("execution")
def show_execution(execution_id: str, url: UrlOption = None, home: HomeOption = None) -> None:
    """An execution: status history, parameters, metrics and lineage edges."""
    from steplineage.report import execution_panel

    with _catalog(url, home) as cat:
        console.print(execution_panel(cat, execution_id))


@app.command("executions")
def list_executions(
    url: UrlOption = None, home: HomeOption = None,
    workflow: Optional[str] = typer.Option(None, help="Only this workflow."),
    status: Optional[str] = typer.Option(None, help="Only this status."),
    limit: int = typer.Option(50, help="Newest N."),
) -> None:
    """List executions, newest first."""
    from steplineage.report import executions_table

    with _catalog(url, home) as cat:
        console.print(executions_table(cat.list_executions(workflow=workflow, status=status,
                                                           limit=limit)))


@app.command("demo")
def demo(home: HomeOption = None,
         workdir: Optional[Path] = typer.Option(None, help="Where the demo's data files go "
                                                           "(default: <home>/demo-data).")) -> None:
    """Run a three-step tracked pipeline on the embedded catalog and print what it recorded."""
    from steplineage.demo import run_demo

    run_demo(console, home=home, workdir=workdir)


def main() -> None:
    """Entry point: turn steplineage's own errors into a message and exit code 2."""
    try:
        app()
    except SteplineageError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
