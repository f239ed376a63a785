"""What this host remembers of each catalog, so a step can run (and spool) in an outage.

Resources and vocabularies (asset tables, asset types) change rarely and are
needed to resolve refs and check asset names before a step starts. Each
successful read is remembered in ``$STEPLINEAGE_HOME/catalog-cache.json``,
keyed by the catalog's identity (its URL without password), and handed back
while that catalog is unreachable.

Example:
    >>> cache = CatalogCache(Path(tempfile.mkdtemp()) / "catalog-cache.json",
    ...                      "sqlite:///c.db")  # doctest: +SKIP
    >>> cache.get("resources", list_resources_from_the_catalog)  # doctest: +SKIP
    [...]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from steplineage.errors import CatalogUnavailableError
from steplineage.local.atomic import write_json

if TYPE_CHECKING:
    from steplineage.settings import Settings

__all__ = ["CatalogCache"]

log = logging.getLogger("steplineage")

CATALOG_CACHE_FILE = "catalog-cache.json"
T = TypeVar("T")


class CatalogCache:
    """Values read from one catalog, remembered on this host for when it is unreachable.

    Args:
        path: the JSON file (shared by every catalog this host uses).
        identity: the catalog's name there, without password.
    """

    def __init__(self, path: Path, identity: str):
        self.path = path
        self.identity = identity
        self._written: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings: Settings, identity: str) -> CatalogCache:
        """This host's cache file, ``$STEPLINEAGE_HOME/catalog-cache.json``, for one catalog."""
        return cls(settings.home.expanduser() / CATALOG_CACHE_FILE, identity)

    def get(self, what: str, fetch: Callable[[], T]) -> T:
        """``fetch()``, remembered as ``what``; the remembered value while unreachable.

        Raises:
            CatalogUnavailableError: the catalog is unreachable and this host
                never saw ``what`` of it.
        """
        try:
            value = fetch()
        except CatalogUnavailableError:
            remembered = self._read().get(self.identity, {})
            if what not in remembered:
                raise
            return remembered[what]  # type: ignore[no-any-return]
        if self._written.get(what) != value:
            try:
                self._remember(what, value)
                self._written[what] = value
            except OSError as exc:  # a cache is a convenience: never fail a step over it
                log.debug("steplineage: could not write %s: %s", self.path, exc)
        return value

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text()) if self.path.exists() else {}
        except ValueError:  # damaged (written by hand?): start afresh rather than fail a step
            log.debug("steplineage: ignoring unreadable %s", self.path)
            return {}

    def _remember(self, what: str, value: Any) -> None:
        """Set ``what`` of this catalog in the file (other catalogs' entries kept)."""
        data = self._read()
        if data.get(self.identity, {}).get(what) == value:
            return
        data.setdefault(self.identity, {})[what] = value
        write_json(self.path, data)
