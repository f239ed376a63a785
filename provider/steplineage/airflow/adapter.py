"""Airflow task runs into step descriptions for the shared :class:`StepTracker`.

Operators, the TaskFlow decorator and the listener describe *what* ran (a
:class:`TaskRun`) and *what to record* (a :class:`TrackingSpec`); a
:class:`TaskTracker` translates that into :class:`~steplineage.tracking.step.StepRun`
descriptions, and the :class:`~steplineage.tracking.step.StepTracker` records them:

* one parent execution per DAG run, with a deterministic id (uuid5 of dag_id and
  run_id), so every task process of the run finds the same parent and
  ``Catalog.create_execution`` with that id is idempotent under races;
* one child execution per task try (uuid5 of dag_id, run_id, task_id, map_index
  and try_number): a retry is a separate attempt of the same task;
* tasks that never ran (skipped, upstream_failed) become skipped children when
  the DAG run ends (:func:`record_dag_run_end`, called by the listener).

The step tracker's guard decides what a tracking failure does: logged, and the
try goes on untracked (a catalog that is down costs the task at most
``timeout_seconds``, and the records are spooled for replay), or with strict
mode :class:`~steplineage.TrackingError`. Errors that say the *data* is wrong
fail the task either way.

Example:
    >>> run = TaskRun.from_task_instance(ti)  # doctest: +SKIP
    >>> tracker = TaskTracker(run, TrackingSpec(outputs=("/data/out",)))  # doctest: +SKIP
    >>> exe = tracker.start(task, context)  # doctest: +SKIP
    >>> tracker.succeed()  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steplineage.errors import CatalogUnavailableError, NotFoundError
from steplineage.models import (OrchestratorIdentity, ResourceRef, ResourceRole, WorkflowRecord,
                                WorkflowType)
from steplineage.status import Status
from steplineage.tracking.step import StepRun, StepTracker

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.settings import Settings
    from steplineage.tracking.execution import Execution

__all__ = ["ASSETS_XCOM_KEY", "EXECUTION_ID_XCOM_KEY", "TaskRun", "TaskTracker", "TrackingSpec",
           "UnrunTask", "dag_run_execution_id", "record_dag_run_end", "task_try_execution_id"]

log = logging.getLogger("steplineage.airflow")

#: XCom key of the execution id of a tracked task try.
EXECUTION_ID_XCOM_KEY = "steplineage_execution_id"
#: XCom key of the assets a tracked task uploaded: ``{asset table: [asset ids]}``.
ASSETS_XCOM_KEY = "steplineage_assets"

# Fixed namespace: the same DAG run / task try always maps to the same execution id.
_NAMESPACE = uuid.UUID("3b0f8f3e-6c1a-5d2e-9a47-1f6d2c9e8b41")


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
    """Records one task try: start, then succeed, fail, skip or defer.

    It translates the try into :class:`StepRun` descriptions; ``step`` (the
    shared :class:`StepTracker`) records them and guards every catalog call.
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
        self._resolved: Settings | None = None
        self.step: StepTracker[Catalog] = StepTracker(
            self._catalog, strict=self._strict(force_strict), **run.log_context())

    @property
    def execution(self) -> Execution | None:
        """The try's live execution; None while (or because) it runs untracked."""
        return self.step.execution

    def _strict(self, forced: bool | None) -> bool:
        """The argument, else the task's option, else the connection / settings."""
        if forced is not None:
            return forced
        if self.spec.strict is not None:
            return self.spec.strict
        try:
            return self._settings().strict
        except Exception:  # noqa: BLE001 - unreadable settings: be lenient
            log.warning("steplineage: cannot read settings; tracking is not strict",
                        exc_info=True)
            return False

    def _settings(self) -> Settings:
        from steplineage.airflow.hooks import SteplineageHook

        if self._resolved is None:
            self._resolved = SteplineageHook(self.spec.conn_id).get_settings()
        return self._resolved

    def _catalog(self) -> Catalog:
        from steplineage.airflow.hooks import catalog_for

        settings = self._settings()
        if settings.strict != self.step.strict:
            # The task's own strict flag decides whether an outage spools or fails it.
            settings = settings.model_copy(update={"strict": self.step.strict})
        return catalog_for(settings)

    def dag_workflow(self, name: str | None = None) -> WorkflowRecord:
        """The airflow-dag workflow of this DAG file (checksum and git URL of the file).

        Example:
            >>> tracker.dag_workflow().workflow_type  # doctest: +SKIP
            'airflow-dag'
        """
        name = name or self.run.dag_id
        dag_file = self.run.dag_file
        return self.step.workflow(
            name, WorkflowType.airflow_dag, description=f"Airflow DAG {name}",
            source=dag_file if dag_file and Path(dag_file).is_file() else None)

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

        params = self.step.call("read the task parameters",
                                lambda: task_parameters(task, context, self.spec.parameters))
        exe = self.step.begin("record the task start",
                              lambda cat: self._describe(cat, task, params or {}))
        if exe is not None and exe.status is not Status.skipped and context is not None \
                and (ti := context.get("ti")) is not None:
            ti.xcom_push(EXECUTION_ID_XCOM_KEY, exe.id)
        return exe

    def _describe(self, cat: Catalog, task: Any, params: dict[str, Any]) -> StepRun:
        from steplineage.airflow.refs import assets_of, to_ref

        run, spec = self.run, self.spec
        # Refs first: they may need the catalog (new resources), and nothing is written yet.
        inputs = _unique(to_ref(cat, s, ResourceRole.source_data) for s in
                         [*spec.inputs, *assets_of(getattr(task, "inlets", None))])
        outputs = _unique(to_ref(cat, s, ResourceRole.intermediate_data) for s in
                          [*spec.outputs, *assets_of(getattr(task, "outlets", None))])
        results = (to_ref(cat, spec.results, ResourceRole.results)
                   if spec.results is not None else None)
        dag_wf = self.dag_workflow()
        parent = _ensure_dag_run(self.step, run, dag_wf)
        wf = dag_wf if not spec.workflow or spec.workflow == run.dag_id else \
            self.dag_workflow(spec.workflow)
        return StepRun(
            name=run.name, workflow=wf, execution_id=run.execution_id, parent_id=parent.id,
            identity=run.identity(), parameters=params,
            description=f"Airflow task {run.dag_id}.{run.name}, run {run.run_id}, "
                        f"try {run.try_number}",
            inputs=inputs, outputs=[o for o in outputs if o != results],
            assets=asset_ids(spec.assets), results=results, upload=spec.upload)

    def succeed(self, context: Mapping[str, Any] | None = None) -> None:
        """Record a clean end: stop time, outputs registered, assets uploaded, completed.

        Raises:
            TrackingError: strict mode and the end could not be recorded.

        Example:
            >>> tracker.succeed(context)  # doctest: +SKIP
        """
        self.step.complete("record the task end")
        exe = self.execution
        if exe is not None and exe.status is Status.completed and context is not None:
            uploaded = self.step.call("read the uploaded assets", exe.upload_execution_outputs)
            if uploaded and (ti := context.get("ti")) is not None:
                ti.xcom_push(ASSETS_XCOM_KEY,
                             {table: [a.id for a in recs] for table, recs in uploaded.items()})

    def fail(self, error: BaseException | str | None) -> None:
        """Record that the try failed with ``error`` (never raises: the task's error wins).

        Example:
            >>> tracker.fail(RuntimeError("loss diverged"))  # doctest: +SKIP
        """
        self.step.fail(error, "record the task failure")

    def skip(self, reason: str) -> None:
        """Record that the task skipped itself (e.g. ``AirflowSkipException``).

        Example:
            >>> tracker.skip("nothing new today")  # doctest: +SKIP
        """
        self.step.skip(f"skipped: {reason}" if reason else "skipped", "record the task skip")

    def defer(self) -> None:
        """Record that the try is waiting for a trigger (it resumes in another process).

        Example:
            >>> tracker.defer()  # doctest: +SKIP
        """
        self.step.note("record the task deferral", "deferred: waiting for a trigger")


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


# -- DAG runs -------------------------------------------------------------------------

def _dag_run(run: TaskRun, wf: WorkflowRecord) -> StepRun:
    from steplineage.airflow.params import airflow_redact

    return StepRun(
        name=run.dag_id, workflow=wf, execution_id=run.parent_id,
        identity=OrchestratorIdentity(orchestrator="airflow", dag_id=run.dag_id,
                                      run_id=run.run_id),
        description=f"Airflow DAG run {run.dag_id} {run.run_id}",
        parameters=airflow_redact(dict(run.run_conf or {})))


def _ensure_dag_run(step: StepTracker[Catalog], run: TaskRun, wf: WorkflowRecord) -> Execution:
    parent = step.create(_dag_run(run, wf))
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
    step = tracker.step

    def close() -> str | None:
        cat = step.catalog()
        assert cat is not None  # Airflow's opener raises rather than answer None
        try:
            cat.get_execution(run.parent_id)
        except NotFoundError:
            if not unrun:
                # No task recorded anything here (they may use another connection's catalog).
                return None
        except CatalogUnavailableError:
            pass  # go on: the writes below are spooled and replayed in order
        wf = tracker.dag_workflow()
        parent = _ensure_dag_run(step, run, wf)
        for task in unrun:
            child = TaskRun(dag_id, run_id, task.task_id, task.map_index, task.try_number,
                            dag_file=dag_file, ti_id=task.ti_id)
            step.settle(StepRun(
                name=child.name, workflow=wf, execution_id=child.execution_id,
                parent_id=parent.id, identity=child.identity(),
                description=f"Airflow task {dag_id}.{child.name}, run {run_id}: not run"),
                Status.skipped, f"not run: Airflow state {task.state}")
        if parent.status is Status.running:
            if succeeded:
                parent.complete()  # no files: completes and cleans the working dir
            else:
                parent.update_status(Status.failed, f"DAG run failed: {message}")
        return parent.id

    return step.call("record the end of the DAG run", close)
