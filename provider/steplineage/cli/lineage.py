"""``steplineage lineage graph|stale``, and how commands name a lineage node.

Example:
    $ steplineage lineage graph lineage.html --format html --direction upstream
    $ steplineage lineage graph - --format prov-json --node results:latest
    $ steplineage lineage stale
"""

from __future__ import annotations

import enum
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog
from steplineage.errors import NotFoundError

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.lineage.graph import LineageGraph
    from steplineage.models import ResourceRef

__all__ = ["AsOfOption", "default_node", "lineage_app", "parse_as_of", "parse_ref",
           "version_as_of"]

lineage_app = typer.Typer(help="Lineage graph exports and staleness.", no_args_is_help=True)


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


AsOfOption = Annotated[Optional[str], typer.Option(
    "--as-of", help="Only lineage recorded at or before this ISO 8601 time (UTC if no zone).")]


def parse_as_of(value: str | None) -> datetime | None:
    """The ``--as-of`` time, timezone-aware (UTC when the value names no zone).

    Example:
        >>> parse_as_of("2024-05-01T12:00:00Z").isoformat()
        '2024-05-01T12:00:00+00:00'
    """
    if value is None:
        return None
    try:
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2024-05-01T12:00:00Z",
                                 param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_ref(value: str) -> ResourceRef:
    """``NAME`` or ``NAME:SUBPATH`` as a ref.

    Example:
        >>> str(parse_ref("results:latest"))
        'results:latest'
    """
    from steplineage.models import ResourceRef

    name, _, subpath = value.partition(":")
    return ResourceRef(name, subpath or None)


def version_as_of(cat: Catalog, value: str, as_of: datetime) -> str:
    """Node id of the version a ref held at ``as_of`` (last edge touching it by then).

    Example:
        >>> version_as_of(cat, "results:latest", parse_as_of("2024-05-01"))  # doctest: +SKIP
        'version:0c5e...'
    """
    from steplineage.store import reports

    ref = parse_ref(value)
    resource = cat.get_resource(ref.name)
    found = reports.version_as_of(cat.store, resource.id, ref.subpath, as_of)
    if found is None:
        raise NotFoundError(f"{ref} had no recorded version at {as_of.isoformat()}")
    return f"version:{found}"


def default_node(cat: Catalog) -> str:
    """The newest completed execution: what users most often ask about.

    Example:
        >>> default_node(cat)  # doctest: +SKIP
        'execution:5b8470d0-...'
    """
    from steplineage.status import Status

    latest = cat.list_executions(status=Status.completed, limit=1)
    if not latest:
        raise NotFoundError("the catalog has no completed execution yet: pass --node, "
                            "--execution or --resource")
    return f"execution:{latest[0].id}"


def _resolve_cli_node(cat: Catalog, value: str) -> str:
    """A node id from --node: kind:id or a bare id first, then a resource ref."""
    try:
        return cat.lineage.resolve_node(value)
    except NotFoundError:
        if value.split(":", 1)[0] in {r.name for r in cat.list_resources()}:
            return cat.lineage.resolve_node(parse_ref(value))
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
    from steplineage.export import stale_node_ids

    moment = parse_as_of(as_of)
    with open_catalog(url, home) as cat:
        start = _resolve_cli_node(cat, node) if node else default_node(cat)
        walk = cat.lineage.upstream if direction is Direction.upstream else cat.lineage.downstream
        graph = walk(start, depth=depth, max_nodes=max_nodes, as_of=moment)
        stale = (stale_node_ids(cat.lineage.stale())
                 if fmt in (GraphFormat.html, GraphFormat.dot) else set())
        text = _render_graph(graph, fmt, stale)
    if out == "-":
        sys.stdout.write(text)
        return
    Path(out).write_text(text, encoding="utf-8")
    note = " (partial: node cap reached)" if graph.partial else ""
    console.print(f"wrote {fmt.value}: {len(graph.nodes)} nodes, {len(graph.edges)} edges "
                  f"{direction.value} of {start} to {out}{note}")


@lineage_app.command("stale")
def lineage_stale(url: UrlOption = None, home: HomeOption = None) -> None:
    """Steps whose inputs changed since they ran, and what to re-run, in order."""
    from steplineage.cli.tables import stale_table

    with open_catalog(url, home) as cat:
        items = cat.lineage.stale()
        if not items:
            console.print("nothing is stale: every latest run read the current versions")
            return
        names = {e: cat.get_execution(e).name for item in items for e in item.rerun}
        console.print(stale_table(items, names))
