"""One run of a step: status, parameters, inputs staged in, outputs uploaded out.

An :class:`Execution` is made by :meth:`Catalog.create_execution`, which
records it, hashes its input refs, downloads and verifies its input assets and
dataset members into ``working_dir``, and checks that the inputs are
consistent. Used as a context manager it starts on entry and, on a clean exit,
stops and uploads its outputs (unless ``upload="manual"``). An exception marks
it ``failed`` with the error message; KeyboardInterrupt/SIGTERM mark it
``aborted``. Either way its declared outputs stay *not valid* and the staged
files stay in ``working_dir`` for inspection.

Every catalog write is a :mod:`~steplineage.ops` operation. Writes that no
status depends on (parameters, metrics, declared outputs) are held briefly and
go out with the next status change, at exit, after ``DEFER_SECONDS``, or on
:meth:`Execution.flush`, so a step costs three transactions: created with its
inputs, running, and completed with its outputs. If the catalog
becomes unreachable mid-step and tracking is not strict, the execution carries
on and its remaining operations go to the durable :mod:`~steplineage.local.spool`,
to be replayed later; with ``strict=True`` it raises :class:`TrackingError`.

The working dir's layout is in :mod:`~steplineage.tracking.workdir`; how writes
reach the catalog (or the spool) in :mod:`~steplineage.tracking.writer`.

Example:
    >>> cfg = sl.ExecutionConfig(workflow="train", inputs=[sl.ResourceRef("raw", "jan.csv")])  # doctest: +SKIP
    >>> with cat.create_execution(cfg) as exe:  # doctest: +SKIP
    ...     model = exe.asset_file_path("Model", "best.pt", asset_types=["Trained"])
    ...     model.write_bytes(b"weights")
    ...     exe.log_metrics({"accuracy": 0.93})
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import signal
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from steplineage.errors import ExecutionError, StatusTransitionError
from steplineage.ids import new_id, utcnow
from steplineage.tracking.rules import check_conflicts, check_consistency
from steplineage.local.atomic import write_json
from steplineage.models import (
    AssetRecord,
    EdgeRole,
    ExecutionConfig,
    ExecutionRecord,
    InputSpec,
    ResourceRef,
    WorkflowRecord,
)
from steplineage.ops import EdgesAdded, EdgeSpec, ExecutionUpdated, Op, StatusChanged
from steplineage.redaction import clean_text, jsonable, redact
from steplineage.status import FINAL_STATUSES, Status, allowed_next, can_transition
from steplineage.store.assets import assets_by_content
from steplineage.tracking import workdir
from steplineage.tracking.heartbeat import HEARTBEATS
from steplineage.tracking.observers import observers_for
from steplineage.tracking.stage_in import ref_edge
from steplineage.tracking.staging import check_name
from steplineage.tracking.uploads import collect_output_files, outputs_op
from steplineage.tracking.writer import Check, StepWriter

if TYPE_CHECKING:
    from steplineage.tracking.ports import TrackingCatalog

__all__ = ["Execution"]

log = logging.getLogger("steplineage")



class Execution:
    """A live execution; get one from :meth:`Catalog.create_execution`."""

    def __init__(self, catalog: TrackingCatalog, execution_id: str, config: ExecutionConfig,
                 workflow: WorkflowRecord, working_dir: Path, status: Status, *, seq: int = 0,
                 online: bool = True):
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
        self._seq = seq
        self._writer = StepWriter(catalog, execution_id, online=online, announce=self._announce)
        self._outputs: list[EdgeSpec] = []
        self._start_time: datetime | None = None
        self._upload_result: dict[str, list[AssetRecord]] | None = None
        self._previous_sigterm: Any = None
        self._beating = False

    @property
    def offline(self) -> bool:
        """True once the catalog was unreachable and writes go to the spool."""
        return self._writer.offline

    @classmethod
    def create(cls, catalog: TrackingCatalog, config: ExecutionConfig) -> Execution:
        """Record a new execution and stage its inputs (see :mod:`~steplineage.tracking.creation`)."""
        from steplineage.tracking.creation import create_execution

        return create_execution(catalog, config)

    # -- writing (see tracking/writer.py) ------------------------------------------

    def _write(self, op: Op, check: Check | None = None) -> None:
        self._writer.write(op, check)

    def _consistency_check(self, edges: list[EdgeSpec]) -> Check:
        """The consistency rule for new input edges, run in the transaction that adds them."""
        return lambda s: check_consistency(s, edges, execution_id=self.id, name=self.name,
                                           mode=self.catalog.settings.consistency)

    def _defer(self, op: Op) -> None:
        self._writer.defer(op)

    def _batched(self) -> contextlib.AbstractContextManager[None]:
        return self._writer.batched()

    def flush(self) -> None:
        """Write held parameters, metrics and declared outputs now.

        They also go out with the next status change, at exit, and at most
        ``DEFER_SECONDS`` after they were logged (on the next write).

        Example:
            >>> exe.log_metrics({"loss": 0.4}); exe.flush()  # doctest: +SKIP
        """
        self._writer.flush()

    def _announce(self, ops: list[Op]) -> None:
        # OpenLineage export is off by default; when on it only appends to a local outbox.
        if self.catalog.settings.openlineage:
            for observe in observers_for(["openlineage"]):
                observe(self, ops)

    # -- status -------------------------------------------------------------------

    def update_status(self, status: Status | str, message: str = "") -> None:
        """Record a status change with a message (a history row each time).

        Raises:
            StatusTransitionError: the state machine forbids the change.

        Example:
            >>> exe.update_status(sl.Status.running, "epoch 3/10")  # doctest: +SKIP
        """
        status = Status(status)
        if not can_transition(self.status, status):
            raise StatusTransitionError(self.id, self.status.value, status.value,
                                        [s.value for s in allowed_next(self.status)])
        self._seq += 1
        op = StatusChanged(execution_id=self.id, seq=self._seq, status=status,
                           message=clean_text(redact(message, (), _secrets_of(
                               self.catalog, self.config.parameters))),
                           at=utcnow())
        self._write(op)
        self.status = status
        if status is Status.running and self._start_time is None:
            self._start_time = op.at

    def execution_start(self) -> None:
        """Mark the execution running (its start time is now) and start its heartbeat."""
        if self.status is Status.skipped:
            raise ExecutionError(
                f"execution {self.id} was skipped because workflow {self.workflow.name!r} is "
                "inactive; check exe.status before starting, or re-activate the workflow with "
                f"cat.set_workflow_active({self.workflow.name!r}, True)")
        self.update_status(Status.running, "started")
        if not self.offline:
            HEARTBEATS.add(self.catalog, self.id)
            self._beating = True

    def execution_stop(self) -> None:
        """Record the stop time and duration; outputs are registered by the upload.

        The heartbeat goes on until the outputs are uploaded (``upload="manual"``
        may wait a while), so a stopped execution is not mistaken for a dead one.
        """
        self._write(ExecutionUpdated(execution_id=self.id, stop_time=utcnow()))

    def record(self) -> ExecutionRecord:
        """A fresh snapshot of this execution from the catalog (held writes included)."""
        self.flush()
        return self.catalog.get_execution(self.id)

    # -- parameters, metrics, results ---------------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        """Add or update parameters (secret-looking keys are redacted)."""
        self._defer(ExecutionUpdated(execution_id=self.id,
                                     parameters=clean_params(self.catalog, params)))

    def log_metrics(self, metrics: dict[str, Any]) -> None:
        """Add or update metrics (numbers, or anything JSON can hold)."""
        self._defer(ExecutionUpdated(execution_id=self.id, metrics=jsonable(metrics)))

    def write_results(self, metrics: dict[str, Any]) -> Path:
        """Write ``results.json`` (step, timing, parameters, metrics) and record it.

        It goes to the ``results`` location of the config (a ref or a local
        directory), else to the working dir. Returns the file's path.
        """
        start = self._start_time
        elapsed = (utcnow() - start).total_seconds() if start else None
        data = {"step": self.name, "execution_id": self.id,
                "start_time": start.isoformat() if start else None,
                "execution_time_seconds": elapsed,
                "parameters": clean_params(self.catalog, self.config.parameters),
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
        write_json(path, data, durable=True)  # an output: its hash is recorded
        self._write(ExecutionUpdated(execution_id=self.id, metrics=jsonable(metrics),
                                     results=jsonable(data)))
        return path

    # -- where files go -----------------------------------------------------------

    def execution_asset_path(self, asset_name: str) -> Path:
        """The directory whose files are uploaded into asset table ``asset_name``."""
        self.catalog.check_asset_table(asset_name)
        return workdir.asset_dir(self.working_dir, asset_name)

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
        self.catalog.check_asset_table(asset_name)
        return workdir.place_asset_file(
            self.working_dir, asset_name, file_name, copy_file=copy_file,
            rename_file=rename_file, entry={"asset_table": asset_name, "asset_types": types,
                                            "description": description,
                                            "metadata": jsonable(metadata)})

    def execution_metadata_path(self, kind: str) -> Path:
        """The directory for metadata files of ``kind`` (an asset type, e.g. ``Execution_Config``)."""
        self.catalog.check_asset_types([check_name("metadata kind", kind)])
        return workdir.metadata_dir(self.working_dir, kind)

    def table_path(self, table: str) -> Path:
        """A CSV file for rows of ``table``; uploaded as an ``Execution_Table`` asset."""
        return workdir.table_file(self.working_dir, table)

    # -- inputs and outputs -------------------------------------------------------

    def add_input(self, spec: InputSpec) -> ResourceRef:
        """Record one more input read during the run (hashed now)."""
        ref = self.catalog.resolve_ref(spec)
        edges = [ref_edge(self.catalog, EdgeRole.input, ref, online=not self.offline)]
        self._write(EdgesAdded(execution_id=self.id, edges=edges, at=utcnow()),
                    check=self._consistency_check(edges))
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
        if any(e.resource == ref.name and e.subpath == ref.subpath for e in self._outputs):
            return ref
        edge = EdgeSpec(id=new_id(), role="output", resource=ref.name, subpath=ref.subpath,
                        valid=False)
        op = EdgesAdded(execution_id=self.id, edges=[edge], at=utcnow())
        if self.parent_id:  # siblings may conflict: check now, so the error comes from here
            self._write(op, check=lambda s: check_conflicts(
                s, ref, execution_id=self.id, name=self.name, parent_id=self.parent_id))
        else:
            self._defer(op)
        self._outputs.append(edge)
        return ref

    # -- finishing ----------------------------------------------------------------

    def upload_execution_outputs(self, clean_folder: bool = True) -> dict[str, list[AssetRecord]]:
        """Upload staged asset files and register every output; the execution completes.

        Files go to the object store first (content-addressed, so retrying is
        harmless); then assets, output versions and the ``completed`` status are
        written in one transaction. Calling it again returns the same result.

        Returns:
            Asset records by asset table.
        """
        return self._upload(clean_folder, stop=False)

    def _upload(self, clean_folder: bool, stop: bool) -> dict[str, list[AssetRecord]]:
        if self._upload_result is not None:
            return self._upload_result
        if self.status is not Status.running:
            raise ExecutionError(
                f"execution {self.id} is {self.status.value}; only a running execution uploads "
                "its outputs (a failed one keeps them in its working dir for inspection)")
        try:
            files = collect_output_files(self.working_dir,
                                         workdir.read_manifest(self.working_dir))
            # Without files there is nothing slow to show progress for: one transaction.
            with self._batched():
                if stop:
                    self.execution_stop()
                self.update_status(Status.uploading, "uploading outputs")
                if not files:
                    self._write(self._outputs_op([])[0])
            records: dict[str, list[AssetRecord]] = {}
            if files:
                op, records = self._outputs_op(files)
                self._write(op)
        except BaseException as exc:
            self._finish_with_error(exc, "upload failed")
            raise
        self.status = Status.completed
        self._stop_heartbeat()
        if records and not self.offline:  # identical content may already be an asset
            records = self._existing_assets(records)
        self._upload_result = records
        if clean_folder:
            workdir.clean(self.working_dir, keep_dir=self.config.working_dir is not None)
        return records

    def _outputs_op(self, files: list[Any]) -> tuple[Op, dict[str, list[AssetRecord]]]:
        self._seq += 1
        return outputs_op(self, files, self._outputs, self._seq)

    def _existing_assets(self, records: dict[str, list[AssetRecord]]
                         ) -> dict[str, list[AssetRecord]]:
        found = assets_by_content(self.catalog.store,
                                  (a.sha256 for items in records.values() for a in items))
        return {table: [found.get((a.asset_table, a.sha256, a.filename), a) for a in items]
                for table, items in records.items()}

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
        self._stop_heartbeat()
        status = Status.failed if isinstance(exc, Exception) else Status.aborted
        text = f"{context}: {type(exc).__name__}: {exc}" if str(exc) else \
            f"{context}: {type(exc).__name__}"
        try:
            if self.status not in FINAL_STATUSES:
                self.update_status(status, text)
        except Exception:  # the original error matters more than ours
            log.exception("steplineage: could not record %s for execution %s", status, self.id)

    def _stop_heartbeat(self) -> None:
        if self._beating:
            HEARTBEATS.remove(self.id)
            self._beating = False

    # -- life cycle: what the context manager and the adapters call ----------------

    def start(self) -> Execution:
        """Start the step: ``running`` from now, heartbeat on, SIGTERM recorded as ``aborted``.

        The context manager calls it on entry; orchestrator adapters call it
        where their task body begins. Returns the execution.

        Example:
            >>> exe = cat.create_execution(sl.ExecutionConfig(workflow="train"))  # doctest: +SKIP
            >>> exe.start(); ...; exe.complete()  # doctest: +SKIP
        """
        self.execution_start()
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                    self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_to_exit)
            except ValueError:  # pragma: no cover - not in the main interpreter
                pass
        return self

    def complete(self) -> None:
        """Finish a step that ran cleanly: stop, then upload outputs (``upload="auto"``).

        With ``upload="manual"`` the execution stays ``running`` ("stopped; outputs
        await upload_execution_outputs()"). A step that already ended itself (e.g.
        skipped) only has its held writes flushed.

        Example:
            >>> exe.start(); exe.log_metrics({"acc": 0.9}); exe.complete()  # doctest: +SKIP
        """
        self._restore_sigterm()
        if self.status in FINAL_STATUSES:
            self._stop_heartbeat()
            self.flush()
            return
        if self.config.upload == "auto":
            self._upload(clean_folder=True, stop=True)
        else:
            with self._batched():
                self.execution_stop()
                self.update_status(Status.running,
                                   "stopped; outputs await upload_execution_outputs()")

    def fail(self, error: BaseException | str, context: str = "step raised") -> None:
        """Record the step as ``failed`` with the error; outputs stay not valid.

        The staged files stay in the working dir for inspection. Passing a
        ``KeyboardInterrupt``/``SystemExit`` records ``aborted`` instead.

        Example:
            >>> try:
            ...     train()
            ... except Exception as exc:
            ...     exe.fail(exc)  # doctest: +SKIP
        """
        self._restore_sigterm()
        exc = error if isinstance(error, BaseException) else ExecutionError(error)
        self._finish_with_error(exc, context)

    def abort(self, reason: str = "aborted") -> None:
        """Record the step as ``aborted`` (interrupted, cancelled, killed).

        Example:
            >>> exe.abort("cancelled by the operator")  # doctest: +SKIP
        """
        self._restore_sigterm()
        self._finish(Status.aborted, reason)

    def skip(self, reason: str = "skipped") -> None:
        """Record the step as ``skipped`` (it had nothing to do); outputs stay not valid.

        Example:
            >>> exe.skip("no new partitions")  # doctest: +SKIP
        """
        self._restore_sigterm()
        self._finish(Status.skipped, reason)

    def _finish(self, status: Status, message: str) -> None:
        self._stop_heartbeat()
        if self.status in FINAL_STATUSES:
            self.flush()
        else:
            self.update_status(status, message)

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None:
            with contextlib.suppress(ValueError):  # not the main thread any more
                signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def __enter__(self) -> Execution:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self.fail(exc)
        else:
            self.complete()

    def __repr__(self) -> str:
        return f"<Execution {self.id} {self.name!r} {self.status.value}>"


def clean_params(catalog: TrackingCatalog, params: dict[str, Any]) -> dict[str, Any]:
    return redact(jsonable(params), catalog.settings.redact_keys)


def _secrets_of(catalog: TrackingCatalog, params: dict[str, Any]) -> list[str]:
    """Literal values of secret-looking parameters, so messages never repeat them."""
    from steplineage.redaction import secret_values

    return secret_values(params, catalog.settings.redact_keys)


def current_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _sigterm_to_exit(signum: int, _frame: Any) -> None:
    # SystemExit unwinds the with-block, so the execution is recorded as aborted.
    raise SystemExit(128 + signum)
