"""``steplineage report``: lineage, history, results, status and provenance reports.

Example:
    $ steplineage report lineage --resource results:latest
    $ steplineage report history --limit 20
    $ steplineage report provenance 5b8470d0-... provenance.docx --format docx
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog
from steplineage.cli.lineage import AsOfOption, default_node, parse_as_of, parse_ref, version_as_of

__all__ = ["report_app"]

report_app = typer.Typer(help="Reports: lineage, history, results, status, provenance.",
                         no_args_is_help=True)


class ReportFormat(str, enum.Enum):
    """Formats of the provenance report."""

    html = "html"
    docx = "docx"


@report_app.command("lineage")
def report_lineage(
    execution: Optional[str] = typer.Option(None, "--execution", help="Execution id."),
    resource: Optional[str] = typer.Option(
        None, "--resource", help="NAME or NAME:SUBPATH; its current (or --as-of) version."),
    as_of: AsOfOption = None,
    depth: Optional[int] = typer.Option(None, min=0, help="Hops to walk (default: all)."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """What produced an execution or a ref (upstream lineage), step by step.

    Without --execution or --resource: the newest completed execution.
    """
    from steplineage.cli.tables import lineage_table

    if execution and resource:
        raise typer.BadParameter("pass --execution or --resource, not both")
    moment = parse_as_of(as_of)
    with open_catalog(url, home) as cat:
        if resource:
            node = (version_as_of(cat, resource, moment) if moment
                    else cat.lineage.resolve_node(parse_ref(resource)))
        elif execution:
            node = cat.lineage.resolve_node(execution if ":" in execution
                                            else f"execution:{execution}")
        else:
            node = default_node(cat)
        graph = cat.lineage.upstream(node, depth=depth, as_of=moment)
        console.print(lineage_table(graph))
        data = graph.of_kind("version", "asset", "dataset_version")
        sources = [n for n in data if not any(e.target == n.id for e in graph.edges)]
        if sources:
            console.print("sources: " + ", ".join(sorted(n.label for n in sources)))
        agents = graph.of_kind("agent")
        if agents:
            console.print("agents: " + ", ".join(sorted(n.label for n in agents)))


@report_app.command("history")
def report_history(
    limit: int = typer.Option(20, min=1, help="Newest N executions."),
    workflow: Optional[str] = typer.Option(None, help="Only this workflow."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """Executions newest first, with their metrics as columns."""
    from steplineage.cli.tables import history_table

    with open_catalog(url, home) as cat:
        records = cat.list_executions(workflow=workflow, limit=limit)
        console.print(history_table(records, title=f"History ({len(records)} executions)"))


@report_app.command("results")
def report_results(
    limit: int = typer.Option(5, min=1, help="Newest N executions with results."),
    workflow: Optional[str] = typer.Option(None, help="Only this workflow."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """The results.json of the newest results executions."""
    from steplineage.cli.tables import results_tables

    with open_catalog(url, home) as cat:
        records = [r for r in cat.list_executions(workflow=workflow, limit=None)
                   if r.results is not None][:limit]
        if not records:
            console.print("no execution has written results yet (exe.write_results(...))")
        for table in results_tables(records):
            console.print(table)


@report_app.command("status")
def report_status(
    recent: int = typer.Option(10, min=1, help="How many running/failed executions to list."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """Executions by status, and the ones running now or failed recently."""
    from steplineage.cli.tables import status_tables
    from steplineage.store.reports import status_counts

    with open_catalog(url, home) as cat:
        counts = status_counts(cat.store)
        running = cat.list_executions(status="running", limit=recent)
        failed = cat.list_executions(status="failed", limit=recent)
    for table in status_tables(counts, running=running, failed=failed):
        console.print(table)


@report_app.command("provenance")
def report_provenance(
    subject: str = typer.Argument(..., help="Execution id, dataset_version:<id>, "
                                            "DATASET@VERSION or a dataset name."),
    out: Path = typer.Argument(..., help="File to write."),
    fmt: Optional[ReportFormat] = typer.Option(
        None, "--format", help="html or docx (default: from OUT's suffix)."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """A provenance report (inputs, steps, outputs, agents, checksums, parameters, metrics)."""
    from steplineage.export.provenance import write_provenance_report

    chosen = fmt.value if fmt else ("docx" if out.suffix.lower() == ".docx" else "html")
    with open_catalog(url, home) as cat:
        path = write_provenance_report(cat, subject, out, chosen)  # type: ignore[arg-type]
    console.print(f"wrote {chosen} provenance report to {path}")
