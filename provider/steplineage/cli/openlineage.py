"""OpenLineage commands: ``steplineage ingest FILE|DIR``, ``steplineage openlineage status|flush``.

Example:
    $ steplineage ingest events.jsonl            # JSON lines, a JSON array, or a directory of them
    $ steplineage openlineage status             # events waiting in this host's outbox
    $ steplineage openlineage flush              # send them now through the configured transport
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog

__all__ = ["ingest", "openlineage_app"]

openlineage_app = typer.Typer(help="OpenLineage events this host emits (the outbox).",
                              no_args_is_help=True)
_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _files(path: Path) -> list[Path]:
    from steplineage.errors import ConfigurationError

    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
        if not found:
            raise ConfigurationError(f"{path} holds no {', '.join(_SUFFIXES)} files: point "
                                     "`steplineage ingest` at OpenLineage event files")
        return found
    if not path.is_file():
        raise ConfigurationError(f"{path} does not exist: give an event file or a directory")
    return [path]


def ingest(
    path: Annotated[Path, typer.Argument(help="An event file (JSON lines or a JSON array) "
                                              "or a directory of them.")],
    url: UrlOption = None, home: HomeOption = None,
    batch_size: int = typer.Option(2000, "--batch-size", min=1,
                                   help="Events per transaction."),
) -> None:
    """Record OpenLineage RunEvents from files (idempotent: re-ingesting changes nothing).

    Example:
        $ steplineage ingest /var/log/openlineage/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from steplineage.openlineage.ingest import IngestResult, ingest_events, read_event_file

    files = _files(path)
    total = IngestResult()
    problems: list[tuple[Path, int, str]] = []
    with open_catalog(url, home) as cat, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for file in files:
            progress.update(task, description=f"ingesting {file.name}")
            events = read_event_file(file.read_text(encoding="utf-8"))
            result = ingest_events(cat, events, batch_size=batch_size)
            total.received += result.received
            total.accepted += result.accepted
            total.duplicates += result.duplicates
            total.executions_created += result.executions_created
            problems += [(file, r.index, r.problem) for r in result.rejected]
            progress.advance(task)
    console.print(f"{total.received} event(s) in {len(files)} file(s): {total.accepted} "
                  f"recorded ({total.duplicates} already known), {len(problems)} rejected; "
                  f"{total.executions_created} new execution(s)", highlight=False, soft_wrap=True)
    if problems:
        table = Table(title="rejected events")
        for column in ("file", "event #", "problem"):
            table.add_column(column, overflow="fold")
        for file, index, problem in problems[:50]:
            table.add_row(str(file), str(index), problem)
        console.print(table)
        if len(problems) > 50:
            console.print(f"... and {len(problems) - 50} more")
        raise typer.Exit(1)


def _emitter(home: Path | None):  # type: ignore[no-untyped-def]
    from steplineage.openlineage.emitter import emitter_for
    from steplineage.settings import get_settings

    return emitter_for(get_settings(home=home))


@openlineage_app.command("status")
def status(home: HomeOption = None) -> None:
    """Events waiting in this host's outbox, and the last send error."""
    from datetime import datetime, timezone

    emitter = _emitter(home)
    info = emitter.outbox.status()
    if not info["events"]:
        console.print(f"outbox {emitter.outbox.path}: empty")
        return
    oldest = datetime.fromtimestamp(info["oldest"], timezone.utc).isoformat(timespec="seconds")
    console.print(f"outbox {emitter.outbox.path}: {info['events']} event(s) waiting since "
                  f"{oldest}, {info['attempts']} failed attempt(s)", highlight=False,
                  soft_wrap=True)
    if info["last_error"]:
        console.print(f"last error: {info['last_error']}", highlight=False, soft_wrap=True)


@openlineage_app.command("flush")
def flush(home: HomeOption = None,
          timeout: float = typer.Option(60.0, "--timeout", help="Give up after this long.")
          ) -> None:
    """Send the outbox now through the configured OpenLineage transport."""
    result = _emitter(home).flush(timeout=timeout)
    console.print(f"sent {result.sent} event(s); {result.remaining} remain", highlight=False)
    if result.failed:
        console.print(f"[red]send failed:[/red] {result.error}", soft_wrap=True)
        raise typer.Exit(1)
