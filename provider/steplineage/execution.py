"""One run of a step: status, parameters, inputs staged in, outputs uploaded out.

An :class:`Execution` is made by :meth:`Catalog.create_execution`, which
records it, hashes its input refs, downloads and verifies its input assets and
dataset members into ``working_dir``, and checks that the inputs are
consistent. Used as a context manager it starts on entry and, on a clean exit,
stops and uploads its outputs (unless ``upload="manual"``). An exception marks
it ``failed`` with the error message; KeyboardInterrupt/SIGTERM mark it
``aborted``. Either way its declared outputs stay *not valid* and the staged
files stay in ``working_dir`` for inspection.

Working dir layout::

    inputs/<asset table>/<file>      input assets (verified)
    datasets/<dataset>/...           materialised dataset members, members.json
    assets/<asset table>/<file>      outputs to upload (asset_file_path)
    metadata/<kind>/<file>           execution metadata (execution_metadata_path)
    tables/<table>.csv               table values (table_path)
    results.json                     write_results, when no results location was given

Example:
    >>> cfg = sl.ExecutionConfig(workflow="train", inputs=[sl.ResourceRef("raw", "jan.csv")])  # doctest: +SKIP
    >>> with cat.create_execution(cfg) as exe:  # doctest: +SKIP
    ...     model = exe.asset_file_path("Model", "best.pt", asset_types=["Trained"])
    ...     model.write_bytes(b"weights")
    ...     exe.log_metrics({"accuracy": 0.93})
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import signal
import socket
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from steplineage.catalog import orm
from steplineage.errors import (AssetPathError, ExecutionError, LineageConflictError,
                                LineageConsistencyError, NotFoundError)
from steplineage.models import (AssetRecord, DatasetSpec, EdgeRole, ExecutionConfig,
                                ExecutionRecord, InputSpec, ResourceRef, WorkflowRecord,
                                WorkflowType)
from steplineage.redaction import jsonable, redact
from steplineage.settings import ConsistencyMode
from steplineage.staging import check_name, safe_child
from steplineage.status import FINAL_STATUSES, Status, allowed_next, can_transition
from steplineage.uploads import OutputFile, collect_output_files, register_outputs
from steplineage.versions import current_version, insert_or_lose_race, local_digest

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["Execution"]

log = logging.getLogger(__name__)

MANIFEST = ".steplineage/manifest.json"
_AGENT_NAMESPACE = uuid.UUID("0b6c7e0e-8a5e-4f39-9a53-5c1e2a3f4d21")


class Execution:
    """A live execution; get one from :meth:`Catalog.create_execution`."""

    def __init__(self, catalog: Catalog, execution_id: str, config: ExecutionConfig,
                 workflow: WorkflowRecord, working_dir: Path, status: Status):
        self.catalog = catalog
        self.id = execution_id
        self.config = config
        self.workflow = workflow
        self.working_dir = working_dir
        self.status = status
        self.parent_id = config.parent_execution_id
        self.name = config.name or workflow.name
        #: Local paths of staged inputs: asset id -> file, dataset name -> dir.
        self.asset_paths: dict[str, Path] = {}
        self.dataset_paths: dict[str, Path] = {}
        self._upload_result: dict[str, list[AssetRecord]] | None = None
        self._previous_sigterm: Any = None

    # -- creation and staging -----------------------------------------------------

    @classmethod
    def create(cls, catalog: Catalog, config: ExecutionConfig) -> Execution:
        """Record a new execution and stage its inputs (see the module docstring)."""
        workflow = _resolve_workflow(catalog, config.workflow, config.name)
        exe_id = config.execution_id or orm.new_id()
        working_dir = (config.working_dir or catalog.settings.resolved_working_root() / exe_id)
        ident = config.orchestrator
        with catalog.session() as s:
            existing = s.get(orm.Execution, exe_id)
            if config.parent_execution_id and s.get(orm.Execution,
                                                    config.parent_execution_id) is None:
                raise NotFoundError(f"parent execution {config.parent_execution_id!r} does not "
                                    "exist; create the parent first")
        if existing is not None:
            return cls._existing(catalog, existing, config, workflow)
        try:
            with catalog.session() as s:
                s.add(orm.Execution(
                    id=exe_id, name=config.name or workflow.name, workflow_id=workflow.id,
                    parent_id=config.parent_execution_id, status=Status.created.value,
                    status_message="created", description=config.description,
                    parameters=_clean_params(catalog, config.parameters), metrics={},
                    watermark=config.watermark, next_watermark=config.next_watermark,
                    host=socket.gethostname(), user=_user(), working_dir=str(working_dir),
                    heartbeat_at=orm.utcnow(),
                    **(ident.model_dump(exclude_none=True) if ident else {}),
                ))
                s.add(orm.StatusHistory(execution_id=exe_id, seq=0, status=Status.created.value,
                                        message="created"))
                user = _user()
                if user:
                    s.add(orm.ExecutionAgent(execution_id=exe_id,
                                             agent_id=ensure_agent(s, user, "person"),
                                             role="operator"))
        except IntegrityError:
            # Another process created the same id first: a retried write, not an error.
            with catalog.session() as s:
                existing = s.get(orm.Execution, exe_id)
            if existing is None:
                raise
            return cls._existing(catalog, existing, config, workflow)
        exe = cls(catalog, exe_id, config, workflow, working_dir, Status.created)
        if not workflow.active:
            exe.update_status(Status.skipped, f"workflow {workflow.name!r} is inactive")
            return exe
        working_dir.mkdir(parents=True, exist_ok=True)
        try:
            exe._stage_inputs()
        except BaseException as exc:
            exe._finish_with_error(exc, "staging inputs failed")
            raise
        return exe

    @classmethod
    def _existing(cls, catalog: Catalog, row: orm.Execution, config: ExecutionConfig,
                  workflow: WorkflowRecord) -> Execution:
        """The live handle of an execution that is already in the catalog."""
        working_dir = Path(row.working_dir) if row.working_dir else \
            catalog.settings.resolved_working_root() / row.id
        return cls(catalog, row.id, config, workflow, working_dir, Status(row.status))

    def _stage_inputs(self) -> None:
        self.update_status(Status.initializing, "staging inputs")
        cat = self.catalog
        refs = [(EdgeRole.input, cat.resolve_ref(spec)) for spec in self.config.inputs]
        refs += [(EdgeRole.code, cat.resolve_ref(spec)) for spec in self.config.code]
        digests = [local_digest(cat, ref) for _, ref in refs]  # I/O outside the transaction
        assets = [cat.get_asset(a) for a in self.config.assets]
        for asset in assets:
            dest = safe_child(self.working_dir, "inputs", asset.asset_table, asset.filename)
            cat.object_store.get_file(asset.sha256, dest, what=f"input asset {asset.id}")
            self.asset_paths[asset.id] = dest
        dataset_versions = [self._stage_dataset(spec) for spec in self.config.datasets]
        with cat.session() as s:
            version_ids = []
            for (role, ref), digest in zip(refs, digests):
                version = current_version(cat, s, ref, digest)
                version_ids.append(version.id)
                s.add(_ref_edge(self.id, role, version.resource_id, ref, version.id))
            for asset in assets:
                s.add(orm.LineageEdge(id=orm.new_id(), execution_id=self.id, role="input",
                                      asset_id=asset.id))
            for dv_id in dataset_versions:
                s.add(orm.LineageEdge(id=orm.new_id(), execution_id=self.id, role="input",
                                      dataset_version_id=dv_id))
            s.flush()
            self._check_consistency(s, version_ids)
        for spec in self.config.outputs:
            self.add_output(spec)
        if self.config.results is not None:
            self.add_output(self.config.results)

    def _stage_dataset(self, spec: DatasetSpec | str) -> str:
        spec = DatasetSpec(name=spec) if isinstance(spec, str) else spec
        cat = self.catalog
        with cat.session() as s:
            query = (select(orm.DatasetVersion).join(orm.Dataset)
                     .where(orm.Dataset.name == spec.name))
            if spec.version is not None:
                query = query.where(orm.DatasetVersion.version == spec.version)
            dv = s.scalars(query.order_by(orm.DatasetVersion.version.desc()).limit(1)).first()
            if dv is None:
                raise NotFoundError(f"dataset {spec.name!r} has no version "
                                    f"{spec.version if spec.version is not None else '(any)'}")
            members = s.scalars(select(orm.DatasetMember)
                                .where(orm.DatasetMember.dataset_version_id == dv.id)).all()
            asset_ids = [m.asset_id for m in members if m.asset_id]
            version_rows = [s.get(orm.Version, m.version_id) for m in members if m.version_id]
            resources = {r.id: r.name for r in s.scalars(select(orm.Resource))}
            dv_id, dv_number = dv.id, dv.version
        root = safe_child(self.working_dir, "datasets", check_name("dataset", spec.name))
        root.mkdir(parents=True, exist_ok=True)
        listing: dict[str, Any] = {"dataset": spec.name, "version": dv_number,
                                   "materialized": spec.materialize, "assets": [], "refs": []}
        for asset_id in asset_ids:
            asset = cat.get_asset(asset_id)
            entry = asset.model_dump(mode="json")
            if spec.materialize:
                dest = safe_child(root, asset.asset_table, asset.filename)
                cat.object_store.get_file(asset.sha256, dest, what=f"dataset member {asset.id}")
                entry["local_path"] = str(dest)
            listing["assets"].append(entry)
        for v in version_rows:
            assert v is not None
            listing["refs"].append({"resource": resources[v.resource_id],
                                    "subpath": v.subpath or None, "hash": v.hash})
        _write_json_atomic(root / "members.json", listing)
        self.dataset_paths[spec.name] = root
        return dv_id

    def _check_consistency(self, session: Any, version_ids: list[str]) -> None:
        mode = ConsistencyMode(self.catalog.settings.consistency)
        if mode is ConsistencyMode.off or not version_ids:
            return
        seen: dict[tuple[str, str], set[str]] = {}
        for v in self.catalog.lineage.upstream_versions(version_ids, session=session):
            seen.setdefault((v.resource_name, v.subpath), set()).add(v.hash)
        clashes = {k: h for k, h in seen.items() if len(h) > 1}
        if not clashes:
            return
        detail = "; ".join(f"{ResourceRef(name, sub or None)} at versions {', '.join(sorted(h))}"
                           for (name, sub), h in sorted(clashes.items()))
        message = (f"execution {self.id} ({self.name}): inputs depend on more than one version "
                   f"of the same ref: {detail}. Re-run the steps that used the old version, or "
                   "set STEPLINEAGE_CONSISTENCY=warn to proceed anyway")
        if mode is ConsistencyMode.warn:
            log.warning(message)
            return
        raise LineageConsistencyError(message)

    # -- status -------------------------------------------------------------------

    def update_status(self, status: Status | str, message: str = "") -> None:
        """Record a status change with a message (a history row each time).

        Raises:
            StatusTransitionError: the state machine forbids the change.

        Example:
            >>> exe.update_status(sl.Status.running, "epoch 3/10")  # doctest: +SKIP
        """
        status = Status(status)
        with self.catalog.session() as s:
            write_status(s, self.id, status, message)
        self.status = status

    def execution_start(self) -> None:
        """Mark the execution running (its start time is now)."""
        if self.status is Status.skipped:
            raise ExecutionError(
                f"execution {self.id} was skipped because workflow {self.workflow.name!r} is "
                "inactive; check exe.status before starting, or re-activate the workflow with "
                f"cat.set_workflow_active({self.workflow.name!r}, True)")
        self.update_status(Status.running, "started")

    def execution_stop(self) -> None:
        """Record the stop time and duration; outputs are registered by the upload."""
        with self.catalog.session() as s:
            row = s.get(orm.Execution, self.id)
            assert row is not None
            row.stop_time = orm.utcnow()
            if row.start_time is not None:
                row.duration_seconds = (_aware(row.stop_time) -
                                        _aware(row.start_time)).total_seconds()

    def record(self) -> ExecutionRecord:
        """A fresh snapshot of this execution from the catalog."""
        return self.catalog.get_execution(self.id)

    # -- parameters, metrics, results ---------------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        """Add or update parameters (secret-looking keys are redacted)."""
        clean = _clean_params(self.catalog, params)
        with self.catalog.session() as s:
            row = s.get(orm.Execution, self.id)
            assert row is not None
            row.parameters = {**(row.parameters or {}), **clean}

    def log_metrics(self, metrics: dict[str, Any]) -> None:
        """Add or update metrics (numbers, or anything JSON can hold)."""
        clean = jsonable(metrics)
        with self.catalog.session() as s:
            row = s.get(orm.Execution, self.id)
            assert row is not None
            row.metrics = {**(row.metrics or {}), **clean}

    def write_results(self, metrics: dict[str, Any]) -> Path:
        """Write ``results.json`` (step, timing, parameters, metrics) and record it.

        It goes to the ``results`` location of the config (a ref or a local
        directory), else to the working dir. Returns the file's path.
        """
        record = self.record()
        start = record.start_time
        elapsed = (orm.utcnow() - _aware(start)).total_seconds() if start else None
        data = {"step": self.name, "execution_id": self.id,
                "start_time": start.isoformat() if start else None,
                "execution_time_seconds": elapsed, "parameters": record.parameters,
                "run_description": self.config.description, "metrics": jsonable(metrics)}
        target_dir = self.working_dir
        if self.config.results is not None:
            ref = self.catalog.resolve_ref(self.config.results)
            local = self.catalog.ref_local_path(ref)
            if local is None:
                raise ExecutionError(f"results location {ref} is not a local directory; "
                                     "register the results resource with a file:// URI")
            target_dir = local
        target_dir.mkdir(parents=True, exist_ok=True)
        path = target_dir / "results.json"
        _write_json_atomic(path, data)
        self.log_metrics(metrics)
        with self.catalog.session() as s:
            row = s.get(orm.Execution, self.id)
            assert row is not None
            row.results = jsonable(data)
        return path

    # -- where files go -----------------------------------------------------------

    def execution_asset_path(self, asset_name: str) -> Path:
        """The directory whose files are uploaded into asset table ``asset_name``."""
        self.catalog.check_asset_table(asset_name)
        path = safe_child(self.working_dir, "assets", asset_name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def asset_file_path(self, asset_name: str, file_name: str | Path,
                        asset_types: list[str] | None = None, copy_file: bool = False,
                        rename_file: str | None = None, description: str = "",
                        **metadata: Any) -> Path:
        """Where to write a file that becomes an asset of ``asset_name`` on upload.

        ``file_name`` is a name inside the asset directory, or an absolute path
        of an existing file to stage (linked, or copied with ``copy_file=True``;
        ``rename_file`` gives it another name).

        Raises:
            UnknownAssetTableError, UnknownAssetTypeError: unknown vocabulary.
            AssetPathError: the name would place the file outside the working dir.

        Example:
            >>> p = exe.asset_file_path("Model", "best.pt", asset_types=["Trained"])  # doctest: +SKIP
        """
        types = list(asset_types or [])
        self.catalog.check_asset_types(types)
        directory = self.execution_asset_path(asset_name)
        source = Path(file_name)
        if rename_file is not None:
            check_name("rename_file", rename_file)
        if source.is_absolute():
            if not source.is_file():
                raise AssetPathError(f"{source} is not an existing file: pass a plain file name "
                                     "to create a new asset, or the path of a file to stage")
            dest = safe_child(directory, rename_file or source.name)
            dest.unlink(missing_ok=True)
            if copy_file:
                shutil.copy2(source, dest)
            else:
                dest.symlink_to(source.resolve())
        else:
            dest = safe_child(directory, rename_file or str(file_name))
            dest.parent.mkdir(parents=True, exist_ok=True)
        self._remember(dest, {"asset_table": asset_name, "asset_types": types,
                              "description": description, "metadata": jsonable(metadata),
                              "staged_from": str(source.resolve()) if source.is_absolute()
                              else None})
        return dest

    def execution_metadata_path(self, kind: str) -> Path:
        """The directory for metadata files of ``kind`` (an asset type, e.g. ``Execution_Config``)."""
        self.catalog.check_asset_types([check_name("metadata kind", kind)])
        path = safe_child(self.working_dir, "metadata", kind)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def table_path(self, table: str) -> Path:
        """A CSV file for rows of ``table``; uploaded as an ``Execution_Table`` asset."""
        path = safe_child(self.working_dir, "tables", check_name("table", table) + ".csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _remember(self, path: Path, entry: dict[str, Any]) -> None:
        manifest_path = self.working_dir / MANIFEST
        manifest = _read_manifest(self.working_dir)
        manifest[path.relative_to(self.working_dir).as_posix()] = entry
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(manifest_path, manifest)

    # -- inputs and outputs -------------------------------------------------------

    def add_input(self, spec: InputSpec) -> ResourceRef:
        """Record one more input read during the run (hashed now)."""
        ref = self.catalog.resolve_ref(spec)
        digest = local_digest(self.catalog, ref)
        with self.catalog.session() as s:
            version = current_version(self.catalog, s, ref, digest)
            s.add(_ref_edge(self.id, EdgeRole.input, version.resource_id, ref, version.id))
            s.flush()
            self._check_consistency(s, [version.id])
        return ref

    def add_output(self, spec: InputSpec) -> ResourceRef:
        """Declare that this execution writes a ref (or the ref of a local path).

        The output becomes a valid version only when the execution completes;
        until then, and forever if it fails, it is recorded as not valid.

        Raises:
            LineageConflictError: an independent sibling step writes an
                overlapping ref under the same parent execution.
        """
        ref = self.catalog.resolve_ref(spec)
        with self.catalog.session() as s:
            resource = s.scalars(select(orm.Resource).where(orm.Resource.name == ref.name)).one()
            if self.parent_id:
                self._check_conflicts(s, resource.id, ref)
            already = s.scalars(select(orm.LineageEdge).where(
                orm.LineageEdge.execution_id == self.id, orm.LineageEdge.role == "output",
                orm.LineageEdge.resource_id == resource.id,
                orm.LineageEdge.subpath == (ref.subpath or ""))).first()
            if already is None:
                s.add(_ref_edge(self.id, EdgeRole.output, resource.id, ref, None, valid=False))
        return ref

    def _check_conflicts(self, s: Any, resource_id: str, ref: ResourceRef) -> None:
        siblings = (select(orm.Execution.id, orm.Execution.name)
                    .where(orm.Execution.parent_id == self.parent_id,
                           orm.Execution.id != self.id,
                           orm.Execution.status.not_in(["failed", "aborted", "skipped"])))
        sibling_names = dict(s.execute(siblings).all())
        if not sibling_names:
            return
        theirs = s.scalars(select(orm.LineageEdge).where(
            orm.LineageEdge.execution_id.in_(sibling_names), orm.LineageEdge.role == "output",
            orm.LineageEdge.resource_id == resource_id)).all()
        my_input_versions = set(s.scalars(select(orm.LineageEdge.version_id).where(
            orm.LineageEdge.execution_id == self.id, orm.LineageEdge.role == "input")))
        for edge in theirs:
            other = ResourceRef(ref.name, edge.subpath or None)
            if not other.overlaps(ref):
                continue
            # Dependent steps (I read what the sibling wrote) may rewrite the ref.
            if edge.version_id is not None and edge.version_id in my_input_versions:
                continue
            raise LineageConflictError(
                f"step {self.name!r} ({self.id}) writes {ref}, which overlaps {other} written by "
                f"independent step {sibling_names[edge.execution_id]!r} ({edge.execution_id}) "
                "under the same parent execution; write to separate subpaths, or make one step "
                "read the other's output")

    # -- finishing ----------------------------------------------------------------

    def upload_execution_outputs(self, clean_folder: bool = True) -> dict[str, list[AssetRecord]]:
        """Upload staged asset files and register every output; the execution completes.

        Files go to the object store first (content-addressed, so retrying is
        harmless); then assets, output versions and the ``completed`` status are
        written in one transaction. Calling it again returns the same result.

        Returns:
            Asset records by asset table.
        """
        if self._upload_result is not None:
            return self._upload_result
        if self.status is not Status.running:
            raise ExecutionError(
                f"execution {self.id} is {self.status.value}; only a running execution uploads "
                "its outputs (a failed one keeps them in its working dir for inspection)")
        self.update_status(Status.uploading, "uploading outputs")
        try:
            files: list[OutputFile] = collect_output_files(
                self.working_dir, _read_manifest(self.working_dir))
            result = register_outputs(self, files)
        except BaseException as exc:
            self._finish_with_error(exc, "upload failed")
            raise
        self.status = Status.completed
        self._upload_result = result
        if clean_folder:
            self._clean_working_dir()
        return result

    def _clean_working_dir(self) -> None:
        if self.config.working_dir is None:
            shutil.rmtree(self.working_dir, ignore_errors=True)
            return
        for sub in ("inputs", "datasets", "assets", "metadata", "tables", ".steplineage"):
            shutil.rmtree(self.working_dir / sub, ignore_errors=True)

    def child(self, name: str, **config: Any) -> Execution:
        """Create a nested execution (same workflow unless given) under this one.

        Example:
            >>> with exe.child("preprocess", inputs=[raw]) as sub:  # doctest: +SKIP
            ...     ...
        """
        config.setdefault("workflow", self.workflow)
        return self.catalog.create_execution(
            ExecutionConfig(name=name, parent_execution_id=self.id, **config))

    def _finish_with_error(self, exc: BaseException, context: str) -> None:
        status = Status.failed if isinstance(exc, Exception) else Status.aborted
        text = f"{context}: {type(exc).__name__}: {exc}" if str(exc) else \
            f"{context}: {type(exc).__name__}"
        try:
            if self.status not in FINAL_STATUSES:
                self.update_status(status, text)
        except Exception:  # the original error matters more than ours
            log.exception("steplineage: could not record %s for execution %s", status, self.id)

    def __enter__(self) -> Execution:
        self.execution_start()
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                    self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_to_exit)
            except ValueError:  # pragma: no cover - not in the main interpreter
                pass
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        if exc is not None:
            self._finish_with_error(exc, "step raised")
            return
        self.execution_stop()
        if self.config.upload == "auto":
            self.upload_execution_outputs()
        else:
            self.update_status(Status.running, "stopped; outputs await upload_execution_outputs()")

    def __repr__(self) -> str:
        return f"<Execution {self.id} {self.name!r} {self.status.value}>"


def write_status(s: Any, execution_id: str, status: Status, message: str) -> None:
    """Apply one validated status change inside an open session (row locked)."""
    from steplineage.errors import StatusTransitionError

    row = s.get(orm.Execution, execution_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"execution {execution_id} is not in the catalog")
    current = Status(row.status)
    if not can_transition(current, status):
        raise StatusTransitionError(execution_id, current.value, status.value,
                                    [n.value for n in allowed_next(current)])
    seq = s.scalar(select(func.max(orm.StatusHistory.seq))
                   .where(orm.StatusHistory.execution_id == execution_id))
    now = orm.utcnow()
    row.status, row.status_message, row.heartbeat_at = status.value, message, now
    if status is Status.running and row.start_time is None:
        row.start_time = now
    if status in FINAL_STATUSES and row.start_time is not None:
        row.stop_time = row.stop_time or now
        row.duration_seconds = (_aware(row.stop_time) - _aware(row.start_time)).total_seconds()
    s.add(orm.StatusHistory(execution_id=execution_id, seq=(seq or 0) + 1, status=status.value,
                            message=message, at=now))


def ensure_agent(s: Any, name: str, kind: str) -> str:
    """The id of the agent called ``name``, created (race-safely) if new."""
    agent_id = str(uuid.uuid5(_AGENT_NAMESPACE, name))
    if s.get(orm.Agent, agent_id) is None:
        insert_or_lose_race(s, orm.Agent(id=agent_id, name=name, kind=kind))
    return agent_id


def _sigterm_to_exit(signum: int, _frame: Any) -> None:
    # SystemExit unwinds the with-block, so the execution is recorded as aborted.
    raise SystemExit(128 + signum)


def _resolve_workflow(catalog: Catalog, workflow: str | WorkflowRecord | None,
                      name: str | None) -> WorkflowRecord:
    if isinstance(workflow, WorkflowRecord):
        return workflow
    wf_name = workflow or name
    if not wf_name:
        raise ExecutionError("an execution needs a workflow or a name: "
                             "ExecutionConfig(workflow='train', ...)")
    try:
        return catalog.get_workflow(wf_name)
    except NotFoundError:
        return catalog.add_workflow(wf_name, WorkflowType.script)


def _ref_edge(execution_id: str, role: EdgeRole, resource_id: str, ref: ResourceRef,
              version_id: str | None, valid: bool = True) -> orm.LineageEdge:
    return orm.LineageEdge(id=orm.new_id(), execution_id=execution_id, role=role.value,
                           resource_id=resource_id, subpath=ref.subpath or "",
                           version_id=version_id, valid=valid)


def _clean_params(catalog: Catalog, params: dict[str, Any]) -> dict[str, Any]:
    return redact(jsonable(params), catalog.settings.redact_keys)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _aware(value: Any) -> Any:
    """SQLite hands back naive datetimes; the catalog stores UTC."""
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _read_manifest(working_dir: Path) -> dict[str, Any]:
    path = working_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)

