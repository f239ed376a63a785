"""The catalog: where workflows, executions, resources, assets and lineage are kept.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> cat.add_resource("raw", uri="file:///data/raw", role="source-data").name
    'raw'
    >>> cat.add_workflow("train", workflow_type="script", version="1").name
    'train'
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.catalog.registry_methods import RegistryMixin
from steplineage.errors import (CatalogError, CatalogUnavailableError, NotFoundError,
                                UnknownAssetTableError, UnknownAssetTypeError,
                                UnknownResourceError)
from steplineage.hashing import Digest, hash_path
from steplineage.local.catalog_cache import CatalogCache
from steplineage.local.hashcache import HashCache
from steplineage.local.spool import FlushResult, Spool
from steplineage.models import (AssetRecord, EdgeRole, ExecutionConfig, ExecutionRecord,
                                LineageEdgeRecord, ResourceRecord, ResourceRef, ResourceRole,
                                WorkflowRecord, WorkflowType)
from steplineage.objectstore import ObjectStore
from steplineage.settings import Settings, get_settings
from steplineage.status import Status
from steplineage.store import agents, assets, datasets, executions, resources, workflows
from steplineage.store.store import Store
from steplineage.tracking.staging import check_name
from steplineage.workflows import describe_workflow, workflow_id  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution
    from steplineage.lineage import Lineage
    from steplineage.store.views import Views

__all__ = ["Catalog"]

log = logging.getLogger("steplineage")


class Catalog(RegistryMixin):
    """A steplineage catalog.

    Args:
        url: SQLAlchemy URL; default ``STEPLINEAGE_CATALOG_URL`` or the embedded
            SQLite at ``$STEPLINEAGE_HOME/catalog.db``.
        object_store: fsspec URL for asset files; default
            ``file://$STEPLINEAGE_HOME/objects``.
        home: overrides ``STEPLINEAGE_HOME``.
        auto_migrate: upgrade the schema on first use; default True for SQLite,
            False for servers (run ``steplineage db upgrade`` there).
        settings: a full :class:`~steplineage.settings.Settings`; the other
            arguments override it.

    Raises:
        CatalogURLError: the URL is malformed or unsupported.
        CatalogSchemaError: a server catalog needs ``steplineage db upgrade``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        object_store: str | None = None,
        home: str | Path | None = None,
        auto_migrate: bool | None = None,
        settings: Settings | None = None,
    ):
        base = settings or get_settings(home=home)
        updates = {k: v for k, v in {"catalog_url": url, "object_store": object_store,
                                     "home": Path(home) if home else None}.items() if v}
        self.settings = base.model_copy(update=updates)
        self.store = Store(self.settings.resolved_catalog_url(),
                           connect_timeout=self.settings.timeout_seconds,
                           statement_timeout=self.settings.statement_timeout_seconds,
                           auto_migrate=auto_migrate)
        self.url = self.store.url
        self.engine = self.store.engine
        self._object_store: ObjectStore | None = None
        self._hash_cache: HashCache | None = None
        self._spool: Spool | None = None
        self._remembered = CatalogCache.from_settings(self.settings, self.store.identity)
        self._resources: tuple[float, list[ResourceRecord]] | None = None
        # Workflows by name, then by how they were asked for: (read at, record).
        self._workflows: dict[str, dict[tuple[Any, ...], tuple[float, WorkflowRecord]]] = {}

    def __repr__(self) -> str:
        return f"Catalog({self.store.identity!r})"

    # -- plumbing -----------------------------------------------------------------

    def session(self) -> contextlib.AbstractContextManager[Any]:
        """A session in a transaction: committed on success, rolled back on error."""
        return self.store.session()

    @property
    def object_store(self) -> ObjectStore:
        """The content-addressed store holding asset files."""
        if self._object_store is None:
            self._object_store = ObjectStore(self.settings.resolved_object_store(),
                                             self.settings.progress_min_bytes)
        return self._object_store

    @property
    def hash_cache(self) -> HashCache:
        """The per-host cache of file digests."""
        if self._hash_cache is None:
            self._hash_cache = HashCache.from_settings(self.settings)
        return self._hash_cache

    @property
    def spool(self) -> Spool:
        """The local spool holding writes made while this catalog was unreachable."""
        if self._spool is None:
            self._spool = Spool.from_settings(self.settings)
        return self._spool

    @property
    def spool_key(self) -> str:
        """How this catalog is named in the spool (its URL without password)."""
        return self.store.identity

    def flush_spool(self) -> FlushResult:
        """Replay operations spooled for this catalog (cheap when there are none)."""
        if self.spool.pending(self.spool_key) == 0:
            return FlushResult(0, 0, 0)
        return self.spool.flush(self.store)

    def reap(self, stale_after_seconds: float = 600.0) -> list[str]:
        """Mark executions whose heartbeat stopped as ``aborted``; returns their ids.

        A running execution touches its heartbeat every ``heartbeat_seconds``;
        one silent for longer than ``stale_after_seconds`` died without saying
        so (SIGKILL, lost host). Its declared outputs stay not valid.

        Example:
            >>> cat.reap(stale_after_seconds=300)  # doctest: +SKIP
            ['5b8470d0-...']
        """
        from steplineage.tracking.heartbeat import reap

        return reap(self, stale_after_seconds)

    @property
    def lineage(self) -> Lineage:
        """Lineage queries over this catalog (upstream, downstream, ...)."""
        from steplineage.lineage import Lineage

        return Lineage(self)

    @property
    def views(self) -> Views:
        """Read-only views for the web app and CLI: executions pages, DAGs, search."""
        from steplineage.store.views import Views

        return Views(self.store)

    def close(self) -> None:
        """Release database connections, the hash cache and the spool file."""
        self.store.dispose()
        if self._hash_cache is not None:
            self._hash_cache.close()
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- workflows ----------------------------------------------------------------

    def add_workflow(
        self,
        name: str,
        workflow_type: WorkflowType | str = WorkflowType.script,
        url: str | None = None,
        version: str | None = None,
        description: str = "",
        source: str | Path | None = None,
        active: bool = True,
    ) -> WorkflowRecord:
        """Register the code that executions run (idempotent for identical arguments).

        Args:
            source: a source file; records its sha256 and, inside a git checkout,
                ``url`` as remote/blob/commit/path, ``version`` as the commit and
                whether the tree was dirty.

        Example:
            >>> cat.add_workflow("etl", "script", version="2").version  # doctest: +SKIP
            '2'
        """
        rec = describe_workflow(name, workflow_type, url, version, description, source, active)
        self._workflows.pop(name, None)
        return workflows.insert_workflow(self.store, rec)

    def get_workflow(self, name_or_id: str) -> WorkflowRecord:
        """The workflow with this id, or the newest one with this name.

        Raises:
            NotFoundError: no such workflow.
        """
        found = workflows.find_workflow(self.store, name_or_id)
        if found is None:
            raise NotFoundError(f"no workflow named {name_or_id!r}: add it with "
                                f"cat.add_workflow({name_or_id!r}, workflow_type='script')")
        return found

    def set_workflow_active(self, name: str, active: bool) -> None:
        """Switch every version of a workflow on or off (off: executions are skipped)."""
        if not workflows.set_workflow_active(self.store, name, active):
            raise NotFoundError(f"no workflow named {name!r}: add it with "
                                f"cat.add_workflow({name!r}, workflow_type='script')")
        self._workflows.pop(name, None)

    def workflow_for_step(self, name: str,
                          workflow_type: WorkflowType | str = WorkflowType.script, *,
                          source: str | Path | None = None, version: str | None = None,
                          description: str = "", exact: bool = False) -> WorkflowRecord:
        """The workflow a step runs: the newest one called ``name``, else one added for it.

        With ``exact=True`` it is the workflow of exactly this code
        (:meth:`add_workflow` with these arguments: a changed source file is a
        new version). Every step looks its workflow up, so the answer is kept
        for ``settings.cache_seconds``: a workflow switched off elsewhere skips
        steps from then on, at most that much later.

        Example:
            >>> cat.workflow_for_step("etl").workflow_type  # doctest: +SKIP
            'script'
        """
        key = (WorkflowType(workflow_type).value, str(source), version, description, exact)
        now = time.monotonic()
        hit = self._workflows.get(name, {}).get(key)
        if hit is not None and now - hit[0] < self.settings.cache_seconds:
            return hit[1]
        wf = None if exact else workflows.find_workflow(self.store, name)
        if wf is None:
            wf = self.add_workflow(name, workflow_type, version=version, description=description,
                                   source=source)
        self._workflows.setdefault(name, {})[key] = (now, wf)
        return wf

    # -- resources ----------------------------------------------------------------

    def add_resource(self, name: str, uri: str | Path, role: ResourceRole | str,
                     description: str = "") -> ResourceRecord:
        """Register a named location; a local directory may be given as a path.

        Re-adding the same name with the same URI returns the existing record.

        Raises:
            CatalogError: the name is taken by a resource with another URI.
        """
        ResourceRef(name)  # validates the name
        role = ResourceRole(role).value
        uri = Path(uri).absolute().as_uri() if isinstance(uri, Path) or str(uri).startswith("/") \
            else str(uri).rstrip("/")
        found = resources.insert_resource(self.store, name, uri, role, description)
        if found.uri != uri:
            raise CatalogError(f"resource {name!r} is already registered at {found.uri}; "
                               "choose another name")
        self._resources = None
        return found

    def get_resource(self, name: str) -> ResourceRecord:
        """A registered resource by name.

        Raises:
            UnknownResourceError: nothing is registered under this name.
        """
        for attempt in range(2):
            for res in self.list_resources():
                if res.name == name:
                    return res
            self._resources = None  # maybe registered since we last looked
        raise UnknownResourceError(
            f"unknown resource {name!r}: register it first with "
            f"cat.add_resource({name!r}, uri='file:///path/to/dir', role='source-data')")

    def list_resources(self) -> list[ResourceRecord]:
        """Every registered resource, by name.

        Resources change rarely and every ref resolution needs them, so the
        list is kept for ``settings.cache_seconds`` (re-read at once when a name
        is missing) and remembered on this host for outages (see :meth:`_cached`).
        """
        now = time.monotonic()
        cached = self._resources
        if cached is not None and now - cached[0] < self.settings.cache_seconds:
            return cached[1]

        def fetch() -> list[dict[str, Any]]:
            return [r.model_dump() for r in resources.list_resources(self.store)]

        found = [ResourceRecord(**r) for r in self._cached("resources", fetch)]
        self._resources = (now, found)
        return found

    def _cached(self, what: str, fetch: Any) -> Any:
        """``fetch()``, remembered on this host; the remembered value while unreachable
        (see :mod:`steplineage.local.catalog_cache`)."""
        return self._remembered.get(what, fetch)

    def resolve_ref(self, ref_or_path: ResourceRef | str | Path) -> ResourceRef:
        """The ref for a ref or a local path (the innermost resource containing it).

        Raises:
            UnknownResourceError: the resource name is unknown, or no resource
                contains the path.
        """
        if isinstance(ref_or_path, ResourceRef):
            self.get_resource(ref_or_path.name)
            return ref_or_path
        path = Path(ref_or_path).absolute()
        best = self._innermost_resource(path)
        if best is None:
            self._resources = None  # maybe registered since we last looked
            best = self._innermost_resource(path)
        if best is None:
            raise UnknownResourceError(
                f"no registered resource contains {path}: register its directory first, e.g. "
                f"cat.add_resource('data', uri='{path.parent.as_uri()}', role='source-data')")
        return best

    def _innermost_resource(self, path: Path) -> ResourceRef | None:
        best: tuple[int, ResourceRef] | None = None
        for res in self.list_resources():
            root = _local_root(res.uri)
            if root is None:
                continue
            try:
                rel = path.relative_to(root)
            except ValueError:
                continue
            depth = len(root.parts)
            if best is None or depth > best[0]:
                best = (depth, ResourceRef(res.name, rel.as_posix() if rel.parts else None))
        return best[1] if best else None

    def ref_local_path(self, ref: ResourceRef) -> Path | None:
        """Where a ref lives on this machine, or None for non-file resources."""
        root = _local_root(self.get_resource(ref.name).uri)
        if root is None:
            return None
        return root / ref.subpath if ref.subpath else root

    def local_digest(self, ref: ResourceRef) -> Digest | None:
        """The content digest of a ref on this machine (cached), or None if unreadable here.

        Example:
            >>> cat.local_digest(sl.ResourceRef("raw", "jan.csv")).sha256  # doctest: +SKIP
            '9f86d08...'
        """
        path = self.ref_local_path(ref)
        if path is None or not path.exists():
            return None
        return hash_path(path, self.hash_cache)

    # -- vocabulary and assets ----------------------------------------------------

    def create_asset_table(self, name: str, description: str = "") -> str:
        """Create an asset table such as ``Model`` or ``Image`` (idempotent)."""
        assets.add_term(self.store, "asset_table", check_name("asset table", name), description)
        return name

    def list_asset_tables(self) -> dict[str, str]:
        """Asset table names with their descriptions."""
        return self._cached("asset_tables", lambda: assets.list_terms(self.store, "asset_table"))

    def add_asset_type(self, name: str, description: str = "") -> str:
        """Add a term to the ``Asset_Type`` vocabulary (idempotent)."""
        assets.add_term(self.store, "asset_type", check_name("asset type", name), description)
        return name

    def list_asset_types(self) -> dict[str, str]:
        """Asset-type terms with their descriptions."""
        return self._cached("asset_types", lambda: assets.list_terms(self.store, "asset_type"))

    def check_asset_table(self, name: str) -> None:
        """Raise :class:`UnknownAssetTableError` unless the table exists."""
        check_name("asset table", name)
        known = self._vocabulary("asset_tables", self.list_asset_tables)
        if known is not None and name not in known:
            raise UnknownAssetTableError(
                f"unknown asset table {name!r}: create it with "
                f"cat.create_asset_table({name!r}, description='...')")

    def check_asset_types(self, names: Sequence[str]) -> None:
        """Raise :class:`UnknownAssetTypeError` naming every unknown term."""
        if not names:
            return
        known = self._vocabulary("asset_types", self.list_asset_types)
        missing = [n for n in names if known is not None and n not in known]
        if missing:
            raise UnknownAssetTypeError(
                f"unknown asset type(s) {', '.join(map(repr, missing))}: add them with "
                + "; ".join(f"cat.add_asset_type({m!r}, description='...')" for m in missing))

    def _vocabulary(self, what: str, listing: Any) -> dict[str, str] | None:
        """A vocabulary, or None when the catalog is unreachable and this host never saw it
        (the check is then left to the replay, rather than failing the step)."""
        try:
            return listing()
        except CatalogUnavailableError:
            return None

    def get_asset(self, asset_id: str) -> AssetRecord:
        """An asset by id.

        Raises:
            NotFoundError: no such asset.
        """
        found = assets.get_asset(self.store, asset_id)
        if found is None:
            raise NotFoundError(f"no asset with id {asset_id!r}: list assets with "
                                "cat.list_assets()")
        return found

    def list_assets(self, asset_table: str | None = None,
                    asset_type: str | None = None) -> list[AssetRecord]:
        """Assets, optionally of one table and/or carrying one asset type."""
        if asset_table is not None:
            self.check_asset_table(asset_table)
        return assets.list_assets(self.store, asset_table, asset_type)

    # -- datasets and agents ------------------------------------------------------

    def create_dataset(self, name: str, description: str = "") -> str:
        """Create a dataset (a named, versioned collection of assets and refs)."""
        datasets.create_dataset(self.store, check_name("dataset", name), description)
        return name

    def add_dataset_version(self, name: str, members: Sequence[str | ResourceRef],
                            description: str = "") -> int:
        """Freeze a new version of a dataset with these members; returns its number.

        Members are asset ids or refs; a ref is pinned to the version it holds now.
        """
        pinned: list[str | datasets.RefMember] = []
        for member in members:  # hashed before the transaction: a big tree must not hold it
            if isinstance(member, ResourceRef):
                ref = self.resolve_ref(member)
                pinned.append(datasets.RefMember(self.get_resource(ref.name).id, ref,
                                                 self.local_digest(ref)))
            else:
                pinned.append(member)
        return datasets.add_dataset_version(self.store, name, pinned, description)

    def add_agent(self, name: str, kind: str = "person", description: str = "") -> str:
        """Register a person, organisation or service account; returns its id."""
        if kind not in ("person", "organisation", "service"):
            raise CatalogError(f"agent kind {kind!r} must be person, organisation or service")
        return agents.add_agent(self.store, name, kind, description)

    def link_agent(self, execution_id: str, agent: str, role: str = "operator") -> None:
        """Associate an agent (by name; created as a person if new) with an execution."""
        agents.link_agent(self.store, execution_id, agent, role)

    # -- executions ---------------------------------------------------------------

    def create_execution(self, config: ExecutionConfig | None = None, **kwargs: Any) -> Execution:
        """Create an execution, stage its inputs, and return it (a context manager).

        Inputs are hashed, assets and dataset members downloaded and verified
        into the working dir before this returns; a bad input fails here, before
        any user code runs.

        Example:
            >>> with cat.create_execution(sl.ExecutionConfig(workflow="train")) as exe:  # doctest: +SKIP
            ...     exe.log_metrics({"acc": 0.9})
        """
        from steplineage.tracking.execution import Execution

        config = config or ExecutionConfig(**kwargs)
        return Execution.create(self, config)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        """One execution with its status history.

        Raises:
            NotFoundError: no such execution.
        """
        found = executions.get_execution(self.store, execution_id)
        if found is None:
            raise NotFoundError(f"no execution with id {execution_id!r}: list executions with "
                                "cat.list_executions() or `steplineage executions`")
        return found

    def list_executions(
        self,
        workflow: str | None = None,
        status: Status | str | None = None,
        parent_id: str | None = None,
        dag_id: str | None = None,
        limit: int | None = 100,
    ) -> list[ExecutionRecord]:
        """Executions, newest first, filtered by workflow name, status, parent or DAG."""
        return executions.list_executions(self.store, workflow,
                                          None if status is None else Status(status),
                                          parent_id, dag_id, limit)

    def list_edges(self, execution_id: str | None = None,
                   role: EdgeRole | str | None = None) -> list[LineageEdgeRecord]:
        """Lineage edges, optionally of one execution and/or one role."""
        return executions.list_edges(self.store, execution_id,
                                     None if role is None else EdgeRole(role).value)


def _local_root(uri: str) -> Path | None:
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(uri).path))
    return None

