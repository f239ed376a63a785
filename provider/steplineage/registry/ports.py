"""What the registry needs from the catalog, as Protocols: the registry never imports the facade.

:class:`steplineage.Catalog` satisfies both structurally; a test double needs
exactly these members.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat: RegistryCatalog = sl.Catalog(home=tempfile.mkdtemp())
    >>> cat.store.dialect
    'sqlite'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from steplineage.local.spool import Spool
    from steplineage.models import ResourceRecord, WorkflowRecord
    from steplineage.objectstore import ObjectStore
    from steplineage.settings import Settings
    from steplineage.store.store import Store

__all__ = ["HealthSources", "RegistryCatalog"]


class RegistryCatalog(Protocol):
    """The catalog services templates, model runs, CSV and pipelines use."""

    store: Store

    def add_workflow(self, name: str, workflow_type: str = ..., *,
                     version: str | None = None, description: str = "") -> WorkflowRecord:
        """Register a template's or pipeline's workflow (the facade keeps its cache right)."""
        ...

    def list_resources(self) -> list[ResourceRecord]:
        """Every resource (the facade's cached list: refs in records resolve against it)."""
        ...


class HealthSources(Protocol):
    """What the health check looks at."""

    store: Store
    settings: Settings

    @property
    def object_store(self) -> ObjectStore: ...

    @property
    def spool(self) -> Spool: ...
