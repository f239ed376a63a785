"""What tracking needs from the catalog, as a Protocol: tracking never imports the facade.

:class:`~steplineage.catalog.catalog.Catalog` satisfies :class:`TrackingCatalog`
structurally; a test double for tracking needs exactly these members.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat: TrackingCatalog = sl.Catalog(home=tempfile.mkdtemp())
    >>> cat.store.dialect
    'sqlite'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from steplineage.hashing import Digest, DigestCache
    from steplineage.local.spool import FlushResult, Spool
    from steplineage.models import (
        AssetRecord,
        ExecutionConfig,
        InputSpec,
        ResourceRecord,
        ResourceRef,
        WorkflowRecord,
    )
    from steplineage.objectstore import ObjectStore
    from steplineage.settings import Settings
    from steplineage.store.store import Store

__all__ = ["TrackingCatalog"]


class TrackingCatalog(Protocol):
    """The catalog services a live execution uses (see the module docstring)."""

    settings: Settings
    store: Store

    @property
    def object_store(self) -> ObjectStore: ...

    @property
    def spool(self) -> Spool: ...

    @property
    def hash_cache(self) -> DigestCache: ...

    def flush_spool(self) -> FlushResult: ...

    def resolve_ref(self, ref_or_path: InputSpec) -> ResourceRef: ...

    def ref_local_path(self, ref: ResourceRef) -> Path | None: ...

    def local_digest(self, ref: ResourceRef) -> Digest | None: ...

    def get_resource(self, name: str) -> ResourceRecord: ...

    def get_asset(self, asset_id: str) -> AssetRecord: ...

    def check_asset_table(self, name: str) -> None: ...

    def check_asset_types(self, names: Sequence[str]) -> None: ...

    def workflow_for_step(self, name: str) -> WorkflowRecord: ...

    def create_execution(self, config: ExecutionConfig | None = None, **kwargs: Any) -> Any: ...

    def get_execution(self, execution_id: str) -> Any: ...
