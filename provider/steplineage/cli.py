"""The ``steplineage`` command.

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

import enum
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from steplineage.cli_openlineage import ingest, openlineage_app
from steplineage.cli_ops import reap, spool_app
from steplineage.cli_registry import csv_app, health, model_run_app, pipeline_app
from steplineage.errors import NotFoundError, SteplineageError

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.lineage.graph import LineageGraph

app = typer.Typer(help="Step-level execution provenance and data lineage.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Manage the catalog's schema.", no_args_is_help=True)
show_app = typer.Typer(help="Show one thing from the catalog.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: lineage, history, results, status, provenance.",
                         no_args_is_help=True)
lineage_app = typer.Typer(help="Lineage graph exports and staleness.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(show_app, name="show")
app.add_typer(report_app, name="report")
app.add_typer(lineage_app, name="lineage")
app.add_typer(spool_app, name="spool")
app.command("reap")(reap)
app.add_typer(openlineage_app, name="openlineage")
app.command("ingest")(ingest)
app.add_typer(model_run_app, name="model-run")
app.add_typer(csv_app, name="csv")
app.add_typer(pipeline_app, name="pipeline")
app.command("health")(health)

# Piped or under make, rich would fall back to 80 columns and fold every table cell.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)

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
    from steplineage.store import engine as engines
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
    from steplineage.store import engine as engines
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

    from steplineage.cli_registry import audit_trail

    with _catalog(url, home) as cat:
        console.print(execution_panel(cat, execution_id))
        trail = audit_trail(cat, execution_id)  # model runs: earlier records and reasons
        if trail is not None:
            console.print(trail)


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


# -- reports and lineage (issue 3) ---------------------------------------------------------


class GraphFormat(str, enum.Enum):
    """Formats ``lineage graph`` writes."""

    html = "html"
    dot = "dot"
    json = "json"
    prov_json = "prov-json"
    prov_n = "prov-n"


class Direction(str, enum.Enum):
    """Which way a lineage walk goes."""

    upstream = "upstream"
    downstream = "downstream"


class ReportFormat(str, enum.Enum):
    """Formats of the provenance report."""

    html = "html"
    docx = "docx"


AsOfOption = Annotated[Optional[str], typer.Option(
    "--as-of", help="Only lineage recorded at or before this ISO 8601 time (UTC if no zone).")]


def _parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2024-05-01T12:00:00Z",
                                 param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _parse_ref(value: str):
    from steplineage.models import ResourceRef

    name, _, subpath = value.partition(":")
    return ResourceRef(name, subpath or None)


def _version_as_of(cat: Catalog, value: str, as_of: datetime) -> str:
    """Node id of the version a ref held at ``as_of`` (last edge touching it by then)."""
    from sqlalchemy import select

    from steplineage.store import orm

    ref = _parse_ref(value)
    resource = cat.get_resource(ref.name)
    with cat.session() as s:
        found = s.scalars(
            select(orm.LineageEdge.version_id)
            .where(orm.LineageEdge.resource_id == resource.id,
                   orm.LineageEdge.subpath == (ref.subpath or ""),
                   orm.LineageEdge.version_id.is_not(None),
                   orm.LineageEdge.created_at <= as_of)
            .order_by(orm.LineageEdge.created_at.desc()).limit(1)).first()
    if found is None:
        raise NotFoundError(f"{ref} had no recorded version at {as_of.isoformat()}")
    return f"version:{found}"


def _default_node(cat: Catalog) -> str:
    """The newest completed execution: what users most often ask about."""
    from steplineage.status import Status

    latest = cat.list_executions(status=Status.completed, limit=1)
    if not latest:
        raise NotFoundError("the catalog has no completed execution yet: pass --node, "
                            "--execution or --resource")
    return f"execution:{latest[0].id}"


def _stale_ids(cat: Catalog) -> set[str]:
    from steplineage.export import stale_node_ids

    return stale_node_ids(cat.lineage.stale())


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
    from steplineage.report import lineage_table

    if execution and resource:
        raise typer.BadParameter("pass --execution or --resource, not both")
    moment = _parse_as_of(as_of)
    with _catalog(url, home) as cat:
        if resource:
            node = (_version_as_of(cat, resource, moment) if moment
                    else cat.lineage.resolve_node(_parse_ref(resource)))
        elif execution:
            node = cat.lineage.resolve_node(execution if ":" in execution
                                            else f"execution:{execution}")
        else:
            node = _default_node(cat)
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
    from steplineage.report import history_table

    with _catalog(url, home) as cat:
        records = cat.list_executions(workflow=workflow, limit=limit)
        console.print(history_table(records, title=f"History ({len(records)} executions)"))


@report_app.command("results")
def report_results(
    limit: int = typer.Option(5, min=1, help="Newest N executions with results."),
    workflow: Optional[str] = typer.Option(None, help="Only this workflow."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """The results.json of the newest results executions."""
    from steplineage.report import results_tables

    with _catalog(url, home) as cat:
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
    from steplineage.report import status_tables

    with _catalog(url, home) as cat:
        for table in status_tables(cat, recent=recent):
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
    from steplineage.provenance_report import write_provenance_report

    chosen = fmt.value if fmt else ("docx" if out.suffix.lower() == ".docx" else "html")
    with _catalog(url, home) as cat:
        path = write_provenance_report(cat, subject, out, chosen)  # type: ignore[arg-type]
    console.print(f"wrote {chosen} provenance report to {path}")


@lineage_app.command("graph")
def lineage_graph(
    out: str = typer.Argument(..., help="File to write, or - for standard output."),
    fmt: GraphFormat = typer.Option(GraphFormat.html, "--format", help="Output format."),
    node: Optional[str] = typer.Option(
        None, "--node", help="Start node: kind:id, a bare id, or NAME[:SUBPATH] of a resource "
                             "(default: the newest completed execution)."),
    depth: Optional[int] = typer.Option(None, min=0, help="Hops to walk (default: all)."),
    direction: Direction = typer.Option(Direction.upstream, help="Which way to walk."),
    max_nodes: int = typer.Option(10_000, min=1, help="Cap; the graph is marked partial."),
    as_of: AsOfOption = None,
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """Export a lineage graph as HTML, DOT, node-link JSON, PROV-JSON or PROV-N."""
    moment = _parse_as_of(as_of)
    with _catalog(url, home) as cat:
        start = _resolve_cli_node(cat, node) if node else _default_node(cat)
        walk = cat.lineage.upstream if direction is Direction.upstream else cat.lineage.downstream
        graph = walk(start, depth=depth, max_nodes=max_nodes, as_of=moment)
        stale = _stale_ids(cat) if fmt in (GraphFormat.html, GraphFormat.dot) else set()
        text = _render_graph(graph, fmt, stale)
    if out == "-":
        sys.stdout.write(text)
        return
    Path(out).write_text(text, encoding="utf-8")
    note = " (partial: node cap reached)" if graph.partial else ""
    console.print(f"wrote {fmt.value}: {len(graph.nodes)} nodes, {len(graph.edges)} edges "
                  f"{direction.value} of {start} to {out}{note}")


def _resolve_cli_node(cat: Catalog, value: str) -> str:
    """A node id from --node: kind:id or a bare id first, then a resource ref."""
    try:
        return cat.lineage.resolve_node(value)
    except NotFoundError:
        if value.split(":", 1)[0] in {r.name for r in cat.list_resources()}:
            return cat.lineage.resolve_node(_parse_ref(value))
        raise


def _render_graph(graph: LineageGraph, fmt: GraphFormat, stale: set[str]) -> str:
    import json

    if fmt is GraphFormat.html:
        return graph.to_html(stale=stale)
    if fmt is GraphFormat.dot:
        return graph.to_dot(stale=stale)
    if fmt is GraphFormat.prov_json:
        return graph.to_prov_json() + "\n"
    if fmt is GraphFormat.prov_n:
        return graph.to_prov_n() + "\n"
    return json.dumps(graph.to_node_link(), indent=2, sort_keys=True, default=str) + "\n"


@lineage_app.command("stale")
def lineage_stale(url: UrlOption = None, home: HomeOption = None) -> None:
    """Steps whose inputs changed since they ran, and what to re-run, in order."""
    from steplineage.report import stale_table

    with _catalog(url, home) as cat:
        items = cat.lineage.stale()
        if not items:
            console.print("nothing is stale: every latest run read the current versions")
            return
        names = {e: cat.get_execution(e).name for item in items for e in item.rerun}
        console.print(stale_table(items, names))


@app.command("ui")
def ui(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Interface to bind; anything but 127.0.0.1/::1 exposes the "
                                  "catalog to the network (use --token then)."),
    port: int = typer.Option(8765, "--port", help="TCP port (0 picks a free one)."),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="STEPLINEAGE_UI_TOKEN",
        help="Require this token (Bearer header, or the cookie set by the printed URL)."),
    url: UrlOption = None, home: HomeOption = None,
) -> None:
    """Serve the lineage web app (the Airflow Lineage tab, without Airflow).

    Example:
        $ steplineage ui --port 8765 --token "$(openssl rand -hex 16)"
    """
    import socket

    try:
        import uvicorn

        from steplineage.web.access import TokenAccess
        from steplineage.web.app import create_app
    except ImportError as exc:
        raise SteplineageError(f"`steplineage ui` needs FastAPI, uvicorn and Jinja2 ({exc}): "
                               "pip install 'steplineage[ui]'") from None
    cat = _catalog(url, home)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] serving the catalog on {host} "
                                   "without --token: anyone who can reach it can read it")
    app = create_app(lambda: cat, TokenAccess(token))
    # Bind first, then print: with --port 0 the URL must name the port really chosen.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{sock.getsockname()[1]}"
    console.print(f"steplineage lineage UI for {cat!r}")
    console.print(f"open {address}/login?token={token}" if token else f"open {address}/",
                  soft_wrap=True, highlight=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


def main() -> None:
    """Entry point: turn steplineage's own errors into a message and exit code 2."""
    try:
        app()
    except SteplineageError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
