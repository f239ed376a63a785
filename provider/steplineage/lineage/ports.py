"""What the lineage layer needs from the catalog facade, stated as a Protocol.

The facade's ``Catalog`` satisfies it structurally: the lineage layer never
imports the facade, which sits above it.

Example:
    >>> from steplineage.lineage.queries import Lineage
    >>> lineage = Lineage(cat)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from steplineage.models import ResourceRecord, ResourceRef
    from steplineage.store.store import Store

__all__ = ["HasStore", "LineageCatalog"]


class HasStore(Protocol):
    """Anything that holds the catalog's store (a ``Catalog``, a ``Lineage``)."""

    @property
    def store(self) -> Store: ...


class LineageCatalog(HasStore, Protocol):
    """The facade services lineage queries use: the store, and ref lookups (cached there)."""

    def resolve_ref(self, ref_or_path: ResourceRef | str | Path) -> ResourceRef:
        """The ref for a ref or a local path (``UnknownResourceError`` if none)."""
        ...

    def get_resource(self, name: str) -> ResourceRecord:
        """A registered resource by name (``UnknownResourceError`` if none)."""
        ...
