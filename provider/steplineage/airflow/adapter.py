"""Airflow task runs into catalog executions: the only layer that talks to the catalog.

Operators, the TaskFlow decorator and the listener describe *what* ran (a
:class:`TaskRun`) and *what to record* (a :class:`TrackingSpec`); a
:class:`TaskTracker` turns that into executions:

* one parent execution per DAG run, with a deterministic id (uuid5 of dag_id and
  run_id), so every task process of the run finds the same parent and
  ``Catalog.create_execution`` with that id is idempotent under races;
* one child execution per task try (uuid5 of dag_id, run_id, task_id, map_index
  and try_number): a retry is a separate attempt of the same task;
* tasks that never ran (skipped, upstream_failed) become skipped children when
  the DAG run ends (:func:`record_dag_run_end`, called by the listener).

Every catalog call goes through :meth:`TaskTracker.call`. A catalog that is down
or slow (bounded by ``timeout_seconds``) costs the task that timeout: the
execution's records go to the durable spool and are replayed by the next step
that reaches the catalog (or ``steplineage spool flush``), unless strict mode
turns the outage into :class:`~steplineage.TrackingError`. What cannot be known
offline (a resource never seen on this host) leaves the try untracked, logged.
Errors that say the *data* is wrong (a staged input with the wrong checksum,
inconsistent or conflicting lineage) fail the task either way.

Example:
    >>> run = TaskRun.from_task_instance(ti)  # doctest: +SKIP
    >>> tracker = TaskTracker(run, TrackingSpec(outputs=("/data/out",)))  # doctest: +SKIP
    >>> exe = tracker.start(task, context)  # doctest: +SKIP
    >>> tracker.succeed()  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from steplineage.errors import CatalogUnavailableError, LineageError, NotFoundError, StagingError
from steplineage.tracking.guard import tracking_guard
from steplineage.models import (ExecutionConfig, OrchestratorIdentity, ResourceRef,
                                ResourceRole, WorkflowRecord, WorkflowType)
from steplineage.status import FINAL_STATUSES, Status

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution
    from steplineage.settings import Settings

__all__ = ["ASSETS_XCOM_KEY", "EXECUTION_ID_XCOM_KEY", "TaskRun", "TaskTracker", "TrackingSpec",
           "UnrunTask", "dag_run_execution_id", "record_dag_run_end", "task_try_execution_id"]

log = logging.getLogger("steplineage.airflow")

T = TypeVar("T")

#: XCom key of the execution id of a tracked task try.
EXECUTION_ID_XCOM_KEY = "steplineage_execution_id"
#: XCom key of the assets a tracked task uploaded: ``{asset table: [asset ids]}``.
ASSETS_XCOM_KEY = "steplineage_assets"

# Fixed namespace: the same DAG run / task try always maps to the same execution id.
_NAMESPACE = uuid.UUID("3b0f8f3e-6c1a-5d2e-9a47-1f6d2c9e8b41")
# Errors meaning the data is wrong; they fail the task even when tracking is not strict.
_DATA_ERRORS = (StagingError, LineageError)


def dag_run_execution_id(dag_id: str, run_id: str) -> str:
    """The id of a DAG run's parent execution (the same in every process).

    Example:
        >>> dag_run_execution_id("etl", "manual__1") == dag_run_execution_id("etl", "manual__1")
        True
    """
    return str(uuid.uuid5(_NAMESPACE, f"airflow-dag-run\0{dag_id}\0{run_id}"))


def task_try_execution_id(dag_id: str, run_id: str, task_id: str, map_index: int | None,
                          try_number: int, ti_id: str | None = None) -> str:
    """The id of one try of one (mapped) task instance.

    ``ti_id`` is Airflow's task-instance id, new for every try since Airflow 3:
    with it, a try re-run after its DAG run was cleared (which may restart the
    try numbers) still gets an id of its own.

    Example:
        >>> a = task_try_execution_id("etl", "r1", "load", None, 1)
        >>> a != task_try_execution_id("etl", "r1", "load", None, 2)
        True
    """
    index = -1 if map_index is None else map_index
    key = f"airflow-task-try\0{dag_id}\0{run_id}\0{task_id}\0{index}\0{try_number}\0{ti_id or ''}"
    return str(uuid.uuid5(_NAMESPACE, key))


@dataclass(frozen=True)
class TaskRun:
    """Which task try is running: Airflow's identity of it, nothing more.

    Example:
        >>> TaskRun("etl", "r1", "load", None, 2).name
        'load'
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int | None
    try_number: int
    dag_file: str | None = None
    run_conf: Mapping[str, Any] | None = None
    ti_id: str | None = None

    @classmethod
    def from_task_instance(cls, ti: Any, context: Mapping[str, Any] | None = None) -> TaskRun:
        """Read the identity off a running task instance (and its context, for the run conf).

        Example:
            >>> TaskRun.from_task_instance(context["ti"], context)  # doctest: +SKIP
        """
        map_index = getattr(ti, "map_index", -1)
        dag = getattr(getattr(ti, "task", None), "dag", None)
        dag_run = (context or {}).get("dag_run")
        return cls(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id,
                   map_index=None if map_index is None or map_index < 0 else int(map_index),
                   try_number=int(getattr(ti, "try_number", 0) or 0),
                   dag_file=getattr(dag, "fileloc", None),
                   run_conf=getattr(dag_run, "conf", None) or None,
                   ti_id=str(ti.id) if getattr(ti, "id", None) else None)

    @property
    def name(self) -> str:
        """The execution name: the task id, with ``[map_index]`` for a mapped task.

        Example:
            >>> TaskRun("etl", "r1", "part", 3, 1).name
            'part[3]'
        """
        return self.task_id if self.map_index is None else f"{self.task_id}[{self.map_index}]"

    @property
    def parent_id(self) -> str:
        """Id of the DAG run's execution.

        Example:
            >>> TaskRun("etl", "r1", "load", None, 1).parent_id == dag_run_execution_id("etl", "r1")
            True
        """
        return dag_run_execution_id(self.dag_id, self.run_id)

    @property
    def execution_id(self) -> str:
        """Id of this try's execution.

        Example:
            >>> run = TaskRun("etl", "r1", "load", None, 1, ti_id="0190")
            >>> run.execution_id == task_try_execution_id("etl", "r1", "load", None, 1, "0190")
            True
        """
        return task_try_execution_id(self.dag_id, self.run_id, self.task_id, self.map_index,
                                     self.try_number, self.ti_id)

    def identity(self) -> OrchestratorIdentity:
        """The orchestrator identity stored with the try's execution.

        Example:
            >>> TaskRun("etl", "r1", "load", None, 2).identity().try_number
            2
        """
        return OrchestratorIdentity(orchestrator="airflow", dag_id=self.dag_id, run_id=self.run_id,
                                    task_id=self.task_id, map_index=self.map_index,
                                    try_number=self.try_number)

    def log_context(self) -> dict[str, object]:
        """What names this try in a log line.

        Example:
            >>> TaskRun("etl", "r1", "load", None, 2).log_context()["task_id"]
            'load'
        """
        ctx: dict[str, object] = {"dag_id": self.dag_id, "run_id": self.run_id,
                                  "task_id": self.task_id, "try_number": self.try_number}
        if self.map_index is not None:
            ctx["map_index"] = self.map_index
        return ctx


@dataclass(frozen=True)
class TrackingSpec:
    """What to record for a task beyond what Airflow knows.

    Args:
        inputs, outputs: refs, Airflow Assets, URIs or absolute paths; the task's
            ``inlets``/``outlets`` Assets are added to them.
        assets: asset ids to stage (download and verify) into the working dir;
            lists, ``{table: [ids]}`` dicts (the ``steplineage_assets`` XCom of
            an upstream task) and JSON text of those are accepted.
        workflow: workflow name; default the DAG (an ``airflow-dag`` workflow).
        strict: fail the task when tracking fails; default from the settings.
        conn_id: the steplineage connection; default ``steplineage_default``.
        results: where ``exe.write_results`` puts results.json (ref, Asset, path).
        upload: ``"auto"`` uploads outputs when the task succeeds; ``"manual"``
            leaves it to ``exe.upload_execution_outputs()``.
        parameters: extra parameters to record.

    Example:
        >>> TrackingSpec(outputs=("/data/clean.csv",), strict=True).upload
        'auto'
    """

    inputs: Sequence[Any] = ()
    outputs: Sequence[Any] = ()
    assets: Any = ()
    workflow: str | None = None
    strict: bool | None = None
    conn_id: str | None = None
    results: Any = None
    upload: Literal["auto", "manual"] = "auto"
    parameters: Mapping[str, Any] = field(default_factory=dict)


class TaskTracker:
    """Records one task try in the catalog: start, then succeed, fail, skip or defer.

    ``execution`` is None while (or because) the try runs untracked.

    Example:
        >>> run = TaskRun.from_task_instance(context["ti"], context)  # doctest: +SKIP
        >>> tracker = TaskTracker(run)  # doctest: +SKIP
        >>> if tracker.start(task, context) is not None:  # doctest: +SKIP
        ...     tracker.succeed(context)
    """

    def __init__(self, run: TaskRun, spec: TrackingSpec | None = None, *,
                 force_strict: bool | None = None):
        self.run = run
        self.spec = spec or TrackingSpec()
        self.execution: Execution | None = None
        self._force_strict = force_strict
        self._strict: bool | None = None
        self._catalog: Catalog | None = None
        self._resolved: Settings | None = None

    # -- the one way to the catalog -------------------------------------------------

    @property
    def strict(self) -> bool:
        """Whether tracking failures fail the task (argument, else the settings).

        Example:
            >>> TaskTracker(TaskRun("etl", "r1", "load", None, 1), TrackingSpec(strict=True)).strict
            True
        """
        if self._force_strict is not None:
            return self._force_strict
        if self._strict is None:
            if self.spec.strict is not None:
                self._strict = self.spec.strict
            else:
                try:
                    self._strict = self._settings().strict
                except Exception:  # noqa: BLE001 - unreadable settings: be lenient
                    log.warning("steplineage: cannot read settings; tracking is not strict",
                                exc_info=True)
                    self._strict = False
        return self._strict

    def call(self, what: str, fn: Callable[[], T]) -> T | None:
        """Run one catalog operation under the tracking guard; None if it failed (non-strict).

        Example:
            >>> tracker.call("read the try", lambda: cat.get_execution(exe_id))  # doctest: +SKIP
        """
        result: list[T] = []
        with _guarded(what, self.strict, **self.run.log_context()):
            result.append(fn())
        return result[0] if result else None

    def _settings(self) -> Settings:
        from steplineage.airflow.hooks import SteplineageHook

        if self._resolved is None:
            self._resolved = SteplineageHook(self.spec.conn_id).get_settings()
        return self._resolved

    def catalog(self) -> Catalog:
        """The catalog for this task's connection (raises when it cannot be opened).

        Example:
            >>> tracker.catalog().list_executions(limit=1)  # doctest: +SKIP
        """
        if self._catalog is None:
            from steplineage.airflow.hooks import catalog_for

            settings = self._settings()
            if settings.strict != self.strict:
                # The task's own strict flag decides whether an outage spools or fails it.
                settings = settings.model_copy(update={"strict": self.strict})
            self._catalog = catalog_for(settings)
        return self._catalog

    # -- life cycle -----------------------------------------------------------------

    def start(self, task: Any, context: Mapping[str, Any] | None) -> Execution | None:
        """Record the DAG run (if new) and this try; stage its inputs; mark it running.

        Returns the running execution, a skipped one (inactive workflow: do not
        run the task), or None when the try goes on untracked.

        Raises:
            TrackingError: strict mode and the catalog could not record the start.
            StagingError, LineageError: the inputs are wrong (always raised).

        Example:
            >>> exe = tracker.start(task, context)  # doctest: +SKIP
        """
        from steplineage.airflow.params import task_parameters

        params = self.call("read the task parameters",
                           lambda: task_parameters(task, context, self.spec.parameters))
        exe = self.call("record the task start", lambda: self._create(task, params or {}))
        if exe is None:
            return None
        if exe.status in FINAL_STATUSES:
            if exe.status is not Status.skipped:
                # A record of this very try is already final (a crashed process came back?):
                # leave it alone rather than rewrite history.
                log.warning("steplineage: execution %s of %s is already %s; this try goes on "
                            "untracked", exe.id, self.run.name, exe.status.value)
                return None
            self.execution = exe
            return exe
        if exe.status is Status.running:
            started = self.call("record the task resuming",
                                lambda: exe.update_status(Status.running, "resumed") or True)
        else:
            started = self.call("record the task start", lambda: exe.start() and True)
        if not started:
            return None
        self.execution = exe
        if context is not None and (ti := context.get("ti")) is not None:
            ti.xcom_push(EXECUTION_ID_XCOM_KEY, exe.id)
        return exe

    def _create(self, task: Any, params: dict[str, Any]) -> Execution:
        from steplineage.airflow.refs import assets_of, to_ref

        cat = self.catalog()
        run = self.run
        # Refs first: they may need the catalog (new resources), and nothing is written yet.
        inputs = _unique(to_ref(cat, s, ResourceRole.source_data) for s in
                         [*self.spec.inputs, *assets_of(getattr(task, "inlets", None))])
        outputs = _unique(to_ref(cat, s, ResourceRole.intermediate_data) for s in
                          [*self.spec.outputs, *assets_of(getattr(task, "outlets", None))])
        results = (to_ref(cat, self.spec.results, ResourceRole.results)
                   if self.spec.results is not None else None)
        dag_wf = _workflow(cat, run.dag_id, run.dag_file)
        parent = _ensure_dag_run(cat, run, dag_wf)
        wf = dag_wf if not self.spec.workflow or self.spec.workflow == run.dag_id else \
            _workflow(cat, self.spec.workflow, run.dag_file)
        config = ExecutionConfig(
            workflow=wf, name=run.name, execution_id=run.execution_id,
            parent_execution_id=parent.id, orchestrator=run.identity(),
            description=f"Airflow task {run.dag_id}.{run.name}, run {run.run_id}, "
                        f"try {run.try_number}",
            inputs=list(inputs), outputs=[o for o in outputs if o != results],
            assets=asset_ids(self.spec.assets), parameters=params, results=results,
            upload=self.spec.upload)
        return cat.create_execution(config)

    def succeed(self, context: Mapping[str, Any] | None = None) -> None:
        """Record a clean end: stop time, outputs registered, assets uploaded, completed.

        Raises:
            TrackingError: strict mode and the end could not be recorded.

        Example:
            >>> tracker.succeed(context)  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        self.call("record the task end", lambda: exe.complete())
        if exe.status is Status.completed and context is not None:
            uploaded = self.call("read the uploaded assets", exe.upload_execution_outputs)
            if uploaded and (ti := context.get("ti")) is not None:
                ti.xcom_push(ASSETS_XCOM_KEY,
                             {table: [a.id for a in recs] for table, recs in uploaded.items()})

    def fail(self, error: BaseException | str | None) -> None:
        """Record that the try failed with ``error`` (never raises: the task's error wins).

        Example:
            >>> tracker.fail(RuntimeError("loss diverged"))  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        exc = error if isinstance(error, BaseException) else RuntimeError(error or "task failed")
        with _guarded("record the task failure", False, **self.run.log_context()):
            exe.fail(exc)

    def skip(self, reason: str) -> None:
        """Record that the task skipped itself (e.g. ``AirflowSkipException``).

        Example:
            >>> tracker.skip("nothing new today")  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        with _guarded("record the task skip", False, **self.run.log_context()):
            exe.update_status(Status.skipped, f"skipped: {reason}" if reason else "skipped")

    def defer(self) -> None:
        """Record that the try is waiting for a trigger (it resumes in another process).

        Example:
            >>> tracker.defer()  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        self.call("record the task deferral",
                  lambda: exe.update_status(Status.running, "deferred: waiting for a trigger"))


@contextlib.contextmanager
def _guarded(what: str, strict: bool, **context: object) -> Iterator[None]:
    passthrough: list[BaseException] = []
    with tracking_guard(what, strict, **context):
        try:
            yield
        except _DATA_ERRORS as exc:
            passthrough.append(exc)
    if passthrough:
        raise passthrough[0]


def _unique(refs: Iterator[ResourceRef]) -> list[ResourceRef]:
    return list(dict.fromkeys(refs))


def asset_ids(value: Any) -> list[str]:
    """Asset ids from a list, a ``{table: [ids]}`` dict, JSON/Python text of those, or None.

    Example:
        >>> asset_ids([{"Model": ["a1"]}, "a2", None])
        ['a1', 'a2']
        >>> asset_ids("{'Dataset': ['d1', 'd2']}")
        ['d1', 'd2']
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            # A templated field rendered to text (render_template_as_native_obj is off).
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = ast.literal_eval(text)
            return asset_ids(parsed)
        return [text] if text else []
    if isinstance(value, Mapping):
        return asset_ids(list(value.values()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(dict.fromkeys(i for item in value for i in asset_ids(item)))
    return [str(value)]


# -- workflows and DAG runs -------------------------------------------------------------

_WORKFLOWS: dict[tuple[str, str, str | None], WorkflowRecord] = {}


def _workflow(cat: Catalog, name: str, dag_file: str | None) -> WorkflowRecord:
    """The airflow-dag workflow for this DAG file (checksum and git URL of the file).

    While the catalog is unreachable the record is computed here (its id is
    deterministic) and the executions that use it are spooled with it.
    """
    from steplineage.catalog.catalog import describe_workflow
    key = (cat.url, name, dag_file)
    wf = _WORKFLOWS.get(key)
    if wf is None:
        source = dag_file if dag_file and Path(dag_file).is_file() else None
        args = dict(name=name, workflow_type=WorkflowType.airflow_dag, source=source,
                    description=f"Airflow DAG {name}")
        try:
            wf = cat.add_workflow(**args)
        except CatalogUnavailableError:
            if cat.settings.strict:
                raise
            return describe_workflow(**args)
        _WORKFLOWS[key] = wf
    return wf


def _dag_run_config(run_dag_id: str, run_id: str, wf: WorkflowRecord,
                    run_conf: Mapping[str, Any] | None) -> ExecutionConfig:
    from steplineage.airflow.params import airflow_redact, summarise

    return ExecutionConfig(
        workflow=wf, name=run_dag_id, execution_id=dag_run_execution_id(run_dag_id, run_id),
        orchestrator=OrchestratorIdentity(orchestrator="airflow", dag_id=run_dag_id,
                                          run_id=run_id),
        description=f"Airflow DAG run {run_dag_id} {run_id}",
        parameters=summarise(airflow_redact(dict(run_conf or {}))))


def _ensure_dag_run(cat: Catalog, run: TaskRun, wf: WorkflowRecord) -> Execution:
    parent = cat.create_execution(_dag_run_config(run.dag_id, run.run_id, wf, run.run_conf))
    if parent.status is Status.created or parent.status is Status.initializing:
        # Racing first tasks may both get here; running -> running is a legal no-op change.
        parent.update_status(Status.running, "DAG run started")
    return parent


@dataclass(frozen=True)
class UnrunTask:
    """A task instance that ended without running (skipped, upstream_failed).

    Example:
        >>> UnrunTask("after_boom", None, 0, "upstream_failed").state
        'upstream_failed'
    """

    task_id: str
    map_index: int | None
    try_number: int
    state: str
    ti_id: str | None = None


def record_dag_run_end(dag_id: str, run_id: str, *, succeeded: bool, message: str,
                       dag_file: str | None = None, unrun: Sequence[UnrunTask] = (),
                       conn_id: str | None = None) -> str | None:
    """Close a DAG run's parent execution and record its never-run tasks as skipped.

    Never raises: it runs in the scheduler (through the listener), where a
    tracking failure must not disturb scheduling. Returns the parent's id, or
    None when nothing could be recorded.

    Example:
        >>> record_dag_run_end("etl", "r1", succeeded=True, message="success")  # doctest: +SKIP
    """
    run = TaskRun(dag_id, run_id, "", None, 0, dag_file=dag_file)
    tracker = TaskTracker(run, TrackingSpec(conn_id=conn_id), force_strict=False)

    def close() -> str | None:
        cat = tracker.catalog()
        try:
            cat.get_execution(run.parent_id)
        except NotFoundError:
            if not unrun:
                # No task recorded anything here (they may use another connection's catalog).
                return None
        except CatalogUnavailableError:
            pass  # go on: the writes below are spooled and replayed in order
        wf = _workflow(cat, dag_id, dag_file)
        parent = _ensure_dag_run(cat, run, wf)
        for task in unrun:
            child_run = TaskRun(dag_id, run_id, task.task_id, task.map_index, task.try_number,
                                dag_file=dag_file, ti_id=task.ti_id)
            child = cat.create_execution(ExecutionConfig(
                workflow=wf, name=child_run.name, execution_id=child_run.execution_id,
                parent_execution_id=parent.id, orchestrator=child_run.identity(),
                description=f"Airflow task {dag_id}.{child_run.name}, run {run_id}: not run"))
            if child.status not in FINAL_STATUSES:
                child.update_status(Status.skipped, f"not run: Airflow state {task.state}")
        if parent.status is not Status.running:
            return parent.id
        if succeeded:
            parent.execution_stop()
            parent.upload_execution_outputs()  # no files: completes and cleans the working dir
        else:
            parent.update_status(Status.failed, f"DAG run failed: {message}")
        return parent.id

    return tracker.call("record the end of the DAG run", close)
