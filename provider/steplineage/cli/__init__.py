"""The ``steplineage`` command: one module per command group, assembled here.

Example:
    $ steplineage db upgrade --url postgresql+psycopg://user@db/lineage
    $ steplineage demo
    $ steplineage show execution 5b8470d0-...
    $ steplineage report lineage --resource results:latest
    $ steplineage report history --limit 20
    $ steplineage lineage graph lineage.html --format html --direction upstream
    $ steplineage report provenance 5b8470d0-... provenance.docx --format docx
    $ steplineage spool status; steplineage spool flush; steplineage reap --older-than 600
"""

from __future__ import annotations

import typer
from rich.console import Console

from steplineage.cli import db, demo, lineage, openlineage, ops, registry, report, show, spool, ui
from steplineage.errors import SteplineageError

__all__ = ["app", "main"]

app = typer.Typer(help="Step-level execution provenance and data lineage.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
# Registered in the order `steplineage --help` has always listed them.
app.add_typer(db.db_app, name="db")
app.add_typer(show.show_app, name="show")
app.add_typer(report.report_app, name="report")
app.add_typer(lineage.lineage_app, name="lineage")
app.add_typer(spool.spool_app, name="spool")
app.command("reap")(ops.reap)
app.add_typer(openlineage.openlineage_app, name="openlineage")
app.command("ingest")(openlineage.ingest)
app.add_typer(registry.model_run_app, name="model-run")
app.add_typer(registry.csv_app, name="csv")
app.add_typer(registry.pipeline_app, name="pipeline")
app.command("health")(ops.health)
app.command("executions")(show.list_executions)
app.command("demo")(demo.demo)
app.command("ui")(ui.ui)


def main() -> None:
    """Entry point: turn steplineage's own errors into a message and exit code 2.

    Example:
        $ steplineage show execution missing    # prints "error: ..." and exits 2
    """
    try:
        app()
    except SteplineageError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
