"""What every command group shares: the console, the --url/--home options, the catalog."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["HomeOption", "UrlOption", "console", "open_catalog"]

# Piped or under make, rich would fall back to 80 columns and fold every table cell.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)

UrlOption = Annotated[Optional[str], typer.Option(
    "--url", help="Catalog SQLAlchemy URL (default: STEPLINEAGE_CATALOG_URL or the embedded "
                  "SQLite under STEPLINEAGE_HOME).")]
HomeOption = Annotated[Optional[Path], typer.Option(
    "--home", help="STEPLINEAGE_HOME to use (default: env or ~/.steplineage).")]


def open_catalog(url: str | None, home: Path | None = None) -> Catalog:
    """The catalog a command works on (an embedded one is migrated on first use).

    Example:
        >>> with open_catalog(None, tmp_path) as cat: ...  # doctest: +SKIP
    """
    from steplineage.catalog.catalog import Catalog

    return Catalog(url, home=home)
