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
import time
import logging
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from steplineage.ids import new_id
from steplineage.store import orm
from steplineage.store.records import (asset_record, edge_record, execution_record,
                                         resource_record, workflow_record)
from steplineage.errors import (CatalogError, CatalogUnavailableError, NotFoundError, UnknownAssetTableError,
                                UnknownAssetTypeError, UnknownResourceError)
from steplineage.hashing import HashCache
from steplineage.models import (AssetRecord, EdgeRole, ExecutionConfig, ExecutionRecord,
                                LineageEdgeRecord, ResourceRecord, ResourceRef, ResourceRole,
                                WorkflowRecord, WorkflowType)
from steplineage.objectstore import ObjectStore
from steplineage.registry.mixin import RegistryMixin
from steplineage.settings import Settings, get_settings
from steplineage.local.spool import FlushResult, Spool
from steplineage.tracking.staging import check_name
from steplineage.status import Status
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution
    from steplineage.lineage import Lineage

__all__ = ["Catalog"]

log = logging.getLogger("steplineage")

#: how long a catalog object trusts its list of resources before re-reading it
RESOURCE_CACHE_SECONDS = 5.0
_WORKFLOW_NAMESPACE = uuid.UUID("6f1c1b52-5b7e-4d8c-9d0e-2c1e5f7a9b10")


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
        self._cache_written: dict[str, Any] = {}
        self._resources: tuple[float, list[ResourceRecord]] | None = None
        self._workflows: dict[str, tuple[float, WorkflowRecord]] = {}

    def __repr__(self) -> str:
        return f"Catalog({self.store.identity!r})"

    # -- plumbing -----------------------------------------------------------------

    def session(self) -> contextlib.AbstractContextManager[Session]:
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
            self._hash_cache = HashCache(self.settings.home.expanduser() / "hashcache.db")
        return self._hash_cache

    @property
    def spool(self) -> Spool:
        """The local spool holding writes made while this catalog was unreachable."""
        if self._spool is None:
            self._spool = Spool(self.settings.home.expanduser() / "spool.db",
                                self.settings.spool_max_ops)
        return self._spool

    @property
    def spool_key(self) -> str:
        """How this catalog is named in the spool (its URL without password)."""
        return self.store.identity

    def flush_spool(self) -> FlushResult:
        """Replay operations spooled for this catalog (cheap when there are none)."""
        if self.spool.pending(self.spool_key) == 0:
            return FlushResult(0, 0, 0)
        return self.spool.flush(self)

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

    def close(self) -> None:
        """Release database connections and the hash cache."""
        self.store.dispose()
        if self._hash_cache is not None:
            self._hash_cache.close()

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
        with self.session() as s:
            row = s.get(orm.Workflow, rec.id)
            if row is None:
                row = orm.Workflow(**rec.model_dump())
                if not insert_or_lose_race(s, row):
                    row = s.get(orm.Workflow, rec.id)
            return workflow_record(row)

    def get_workflow(self, name_or_id: str) -> WorkflowRecord:
        """The workflow with this id, or the newest one with this name.

        Raises:
            NotFoundError: no such workflow.
        """
        with self.session() as s:
            row = s.get(orm.Workflow, name_or_id) or s.scalars(
                select(orm.Workflow).where(orm.Workflow.name == name_or_id)
                .order_by(orm.Workflow.created_at.desc()).limit(1)).first()
            if row is None:
                raise NotFoundError(f"no workflow named {name_or_id!r}: add it with "
                                    f"cat.add_workflow({name_or_id!r}, workflow_type='script')")
            return workflow_record(row)

    def set_workflow_active(self, name: str, active: bool) -> None:
        """Switch every version of a workflow on or off (off: executions are skipped)."""
        with self.session() as s:
            rows = s.scalars(select(orm.Workflow).where(orm.Workflow.name == name)).all()
            if not rows:
                raise NotFoundError(f"no workflow named {name!r}")
            for row in rows:
                row.active = active
        self._workflows.pop(name, None)

    def workflow_for_step(self, name: str) -> WorkflowRecord:
        """The newest workflow called ``name`` (a script workflow is added if none).

        Every step looks its workflow up, so the answer is kept for
        ``RESOURCE_CACHE_SECONDS``: a workflow switched off elsewhere skips
        steps from then on, at most that much later.

        Example:
            >>> cat.workflow_for_step("etl").workflow_type  # doctest: +SKIP
            'script'
        """
        now = time.monotonic()
        hit = self._workflows.get(name)
        if hit is not None and now - hit[0] < RESOURCE_CACHE_SECONDS:
            return hit[1]
        try:
            wf = self.get_workflow(name)
        except NotFoundError:
            wf = self.add_workflow(name, WorkflowType.script)
        self._workflows[name] = (now, wf)
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
        with self.session() as s:
            row = s.scalars(select(orm.Resource).where(orm.Resource.name == name)).first()
            if row is not None:
                if row.uri != uri:
                    raise CatalogError(f"resource {name!r} is already registered at {row.uri}; "
                                       "choose another name")
                return resource_record(row)
            row = orm.Resource(id=new_id(), name=name, uri=uri, role=role,
                               description=description)
            if not insert_or_lose_race(s, row):
                row = s.scalars(select(orm.Resource).where(orm.Resource.name == name)).one()
                if row.uri != uri:
                    raise CatalogError(f"resource {name!r} was just registered at {row.uri} by "
                                       "another process; choose another name")
            self._resources = None
            return resource_record(row)

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
        list is kept for ``RESOURCE_CACHE_SECONDS`` (re-read at once when a name
        is missing) and remembered on this host for outages (see :meth:`_cached`).
        """
        now = time.monotonic()
        if self._resources is not None and now - self._resources[0] < RESOURCE_CACHE_SECONDS:
            return self._resources[1]

        def fetch() -> list[dict[str, Any]]:
            with self.session() as s:
                return [resource_record(r).model_dump() for r in
                        s.scalars(select(orm.Resource).order_by(orm.Resource.name))]

        found = [ResourceRecord(**r) for r in self._cached("resources", fetch)]
        self._resources = (now, found)
        return found

    def _cached(self, what: str, fetch: Any) -> Any:
        """``fetch()``, remembered on this host; the remembered value while unreachable.

        Resources and vocabularies change rarely and are needed to resolve refs
        and check asset names, so a step can still run (and spool) in an outage.
        """
        cache = self.settings.home.expanduser() / "catalog-cache.json"
        try:
            value = fetch()
        except CatalogUnavailableError:
            if not cache.exists():
                raise
            remembered = json.loads(cache.read_text()).get(self.spool_key, {})
            if what not in remembered:
                raise
            return remembered[what]
        if self._cache_written.get(what) != value:
            try:
                _update_json(cache, self.spool_key, what, value)
                self._cache_written[what] = value
            except OSError as exc:  # a cache is a convenience: never fail a step over it
                log.debug("steplineage: could not write %s: %s", cache, exc)
        return value

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

    # -- vocabulary and assets ----------------------------------------------------

    def create_asset_table(self, name: str, description: str = "") -> str:
        """Create an asset table such as ``Model`` or ``Image`` (idempotent)."""
        return self._add_term(orm.AssetTable, "asset table", name, description)

    def list_asset_tables(self) -> dict[str, str]:
        """Asset table names with their descriptions."""
        return self._cached("asset_tables", lambda: self._terms(orm.AssetTable))

    def add_asset_type(self, name: str, description: str = "") -> str:
        """Add a term to the ``Asset_Type`` vocabulary (idempotent)."""
        return self._add_term(orm.AssetType, "asset type", name, description)

    def list_asset_types(self) -> dict[str, str]:
        """Asset-type terms with their descriptions."""
        return self._cached("asset_types", lambda: self._terms(orm.AssetType))

    def _add_term(self, table: type[orm.AssetTable] | type[orm.AssetType], kind: str,
                  name: str, description: str) -> str:
        check_name(kind, name)
        with self.session() as s:
            if s.get(table, name) is None:
                insert_or_lose_race(s, table(name=name, description=description))
        return name

    def _terms(self, table: type[orm.AssetTable] | type[orm.AssetType]) -> dict[str, str]:
        with self.session() as s:
            return {t.name: t.description for t in s.scalars(select(table).order_by(table.name))}

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
        with self.session() as s:
            row = s.get(orm.Asset, asset_id)
            if row is None:
                raise NotFoundError(f"no asset with id {asset_id!r}")
            return asset_record(row)

    def list_assets(self, asset_table: str | None = None,
                    asset_type: str | None = None) -> list[AssetRecord]:
        """Assets, optionally of one table and/or carrying one asset type."""
        query = select(orm.Asset).order_by(orm.Asset.created_at, orm.Asset.filename)
        if asset_table is not None:
            self.check_asset_table(asset_table)
            query = query.where(orm.Asset.asset_table == asset_table)
        if asset_type is not None:
            query = query.join(orm.AssetTypeLink).where(orm.AssetTypeLink.type_name == asset_type)
        with self.session() as s:
            return [asset_record(a) for a in s.scalars(query)]

    # -- datasets and agents ------------------------------------------------------

    def create_dataset(self, name: str, description: str = "") -> str:
        """Create a dataset (a named, versioned collection of assets and refs)."""
        check_name("dataset", name)
        with self.session() as s:
            if s.scalars(select(orm.Dataset).where(orm.Dataset.name == name)).first() is None:
                s.add(orm.Dataset(id=new_id(), name=name, description=description))
        return name

    def add_dataset_version(self, name: str, members: Sequence[str | ResourceRef],
                            description: str = "") -> int:
        """Freeze a new version of a dataset with these members; returns its number.

        Members are asset ids or refs; a ref is pinned to the version it holds now.
        """
        from steplineage.store.versions import current_version

        with self.session() as s:
            ds = s.scalars(select(orm.Dataset).where(orm.Dataset.name == name)).first()
            if ds is None:
                raise NotFoundError(f"no dataset {name!r}: create it with "
                                    f"cat.create_dataset({name!r})")
            latest = s.scalars(select(orm.DatasetVersion.version)
                               .where(orm.DatasetVersion.dataset_id == ds.id)
                               .order_by(orm.DatasetVersion.version.desc()).limit(1)).first()
            dv = orm.DatasetVersion(id=new_id(), dataset_id=ds.id, version=(latest or 0) + 1,
                                    description=description)
            s.add(dv)
            for member in members:
                if isinstance(member, ResourceRef):
                    version = current_version(self, s, self.resolve_ref(member))
                    s.add(orm.DatasetMember(dataset_version_id=dv.id, version_id=version.id))
                else:
                    if s.get(orm.Asset, member) is None:
                        raise NotFoundError(f"dataset member {member!r} is not an asset id")
                    s.add(orm.DatasetMember(dataset_version_id=dv.id, asset_id=member))
            return dv.version

    def add_agent(self, name: str, kind: str = "person", description: str = "") -> str:
        """Register a person, organisation or service account; returns its id."""
        if kind not in ("person", "organisation", "service"):
            raise CatalogError(f"agent kind {kind!r} must be person, organisation or service")
        from steplineage.store.apply import ensure_agent

        with self.session() as s:
            agent_id = ensure_agent(s, name, kind)
            if description:
                row = s.get(orm.Agent, agent_id)
                assert row is not None
                row.description = description
            return agent_id

    def link_agent(self, execution_id: str, agent: str, role: str = "operator") -> None:
        """Associate an agent (by name; created as a person if new) with an execution."""
        from steplineage.store.apply import ensure_agent

        with self.session() as s:
            agent_id = ensure_agent(s, agent, "person")
            if s.get(orm.ExecutionAgent, (execution_id, agent_id)) is None:
                s.add(orm.ExecutionAgent(execution_id=execution_id, agent_id=agent_id, role=role))

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
        with self.session() as s:
            row = s.get(orm.Execution, execution_id)
            if row is None:
                raise NotFoundError(f"no execution with id {execution_id!r}")
            return execution_record(row)

    def list_executions(
        self,
        workflow: str | None = None,
        status: Status | str | None = None,
        parent_id: str | None = None,
        dag_id: str | None = None,
        limit: int | None = 100,
    ) -> list[ExecutionRecord]:
        """Executions, newest first, filtered by workflow name, status, parent or DAG."""
        # Histories in one more query for the whole page, not one per execution.
        query = select(orm.Execution).options(selectinload(orm.Execution.history)).order_by(
            orm.Execution.created_at.desc(), orm.Execution.id)
        if workflow is not None:
            query = query.join(orm.Workflow).where(orm.Workflow.name == workflow)
        if status is not None:
            query = query.where(orm.Execution.status == Status(status).value)
        if parent_id is not None:
            query = query.where(orm.Execution.parent_id == parent_id)
        if dag_id is not None:
            query = query.where(orm.Execution.dag_id == dag_id)
        if limit is not None:
            query = query.limit(limit)
        with self.session() as s:
            return [execution_record(r) for r in s.scalars(query)]

    def list_edges(self, execution_id: str | None = None,
                   role: EdgeRole | str | None = None) -> list[LineageEdgeRecord]:
        """Lineage edges, optionally of one execution and/or one role."""
        query = select(orm.LineageEdge).order_by(orm.LineageEdge.created_at, orm.LineageEdge.id)
        if execution_id is not None:
            query = query.where(orm.LineageEdge.execution_id == execution_id)
        if role is not None:
            query = query.where(orm.LineageEdge.role == EdgeRole(role).value)
        with self.session() as s:
            resources = {r.id: r.name for r in s.scalars(select(orm.Resource))}
            versions: dict[str, str] = {}
            edges = list(s.scalars(query))
            ids = {e.version_id for e in edges if e.version_id}
            if ids:
                versions = {v.id: v.hash for v in
                            s.scalars(select(orm.Version).where(orm.Version.id.in_(ids)))}
            return [edge_record(e, resources, versions) for e in edges]


def _update_json(path: Path, key: str, what: str, value: Any) -> None:
    """Set ``data[key][what]`` in a small JSON file, atomically (other keys kept)."""
    import os

    data = json.loads(path.read_text()) if path.exists() else {}
    if data.get(key, {}).get(what) == value:
        return
    data.setdefault(key, {})[what] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique per writer
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def describe_workflow(name: str, workflow_type: WorkflowType | str = WorkflowType.script,
                      url: str | None = None, version: str | None = None, description: str = "",
                      source: str | Path | None = None, active: bool = True) -> WorkflowRecord:
    """The record :meth:`Catalog.add_workflow` stores, computed without a catalog.

    A step that starts while the catalog is unreachable still knows its workflow's
    id this way (the id is deterministic), so its spooled records replay onto it.

    Example:
        >>> describe_workflow("etl", "script", version="2").id == describe_workflow(
        ...     "etl", "script", version="2").id
        True
    """
    workflow_type = WorkflowType(workflow_type).value
    checksum = dirty = None
    if source is not None:
        from steplineage.gitinfo import source_info

        info = source_info(source)
        checksum, dirty = info.checksum, info.dirty
        url = url or info.url
        version = version or (info.commit[:12] if info.commit else None)
    return WorkflowRecord(id=workflow_id(name, workflow_type, version, url, checksum), name=name,
                          workflow_type=workflow_type, version=version, url=url,
                          checksum=checksum, description=description, active=active,
                          dirty=dirty)


def workflow_id(name: str, workflow_type: str, version: str | None, url: str | None,
                checksum: str | None) -> str:
    """The deterministic id of a workflow: the same code registers once, on any host."""
    key = "\0".join(str(p) for p in (name, workflow_type, version, url, checksum))
    return str(uuid.uuid5(_WORKFLOW_NAMESPACE, key))


def _local_root(uri: str) -> Path | None:
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(uri).path))
    return None

