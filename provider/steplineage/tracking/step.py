"""One tracker for the steps orchestrators run: the adapters translate, this records.

An orchestrator adapter (Airflow, Prefect) describes what runs as a
:class:`StepRun` (primitives and deterministic ids, none of the
orchestrator's objects) and hands it to a :class:`StepTracker`, which

* guards every catalog call (:func:`~steplineage.tracking.guard.tracking_guard`):
  a tracking failure is logged with the step's context and the task goes on,
  unless ``strict``;
* finds the step's workflow through the catalog's cache, or computes its
  record offline while the catalog is unreachable (same id), so the step's
  writes can be spooled;
* records parameters redacted, then each value cut to :data:`MAX_PARAM_CHARS`;
* creates the execution (idempotent: the id is deterministic), starts it and
  ends it completed, failed, aborted or skipped, never failing the task over
  the record; a record another process already finished is left as it is.

The tracker uses only what :class:`StepCatalog` names, which
:class:`~steplineage.Catalog` has; nothing here imports the catalog.

Example:
    >>> tracker = StepTracker(lambda: cat, strict=False, task_id="load")  # doctest: +SKIP
    >>> exe = tracker.begin("record the task start", lambda cat: StepRun(
    ...     name="load", workflow="etl", execution_id=exe_id))  # doctest: +SKIP
    >>> tracker.complete()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from steplineage.errors import CatalogUnavailableError, TrackingError
from steplineage.models import (DatasetSpec, ExecutionConfig, InputSpec, OrchestratorIdentity,
                                WorkflowRecord, WorkflowType)
from steplineage.redaction import jsonable, redact
from steplineage.status import FINAL_STATUSES, Status
from steplineage.tracking.guard import tracking_guard
from steplineage.workflows import describe_workflow

if TYPE_CHECKING:
    from steplineage.settings import Settings
    from steplineage.tracking.execution import Execution

__all__ = ["MAX_PARAM_CHARS", "StepCatalog", "StepRun", "StepTracker", "summarise_parameters"]

log = logging.getLogger("steplineage")

T = TypeVar("T")

#: Longest JSON text of one parameter value kept in the catalog; longer ones are summarised.
MAX_PARAM_CHARS = 2000


def summarise_parameters(params: Mapping[str, Any],
                         redact_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Parameters as stored: JSON, secrets redacted, then each value at most 2,000 characters.

    Redaction comes first, so a secret never reaches the catalog; a value whose
    JSON is longer than :data:`MAX_PARAM_CHARS` is replaced by a description.

    Example:
        >>> summarise_parameters({"rows": list(range(5000)), "api_token": "t0k"}, ["token"])
        {'rows': '<list of 5000 items, 28890 characters as JSON; not stored>', 'api_token': '***'}
    """
    keys = list(redact_keys)
    out: dict[str, Any] = {}
    for key, raw in params.items():
        ((name, value),) = redact(jsonable({key: raw}), keys).items()
        text = json.dumps(value)
        out[name] = value if len(text) <= MAX_PARAM_CHARS else _summary(raw, len(text))
    return out


def _summary(value: Any, chars: int) -> str:
    size = ""
    if not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError):
            size = f" of {len(value)} items"
    return f"<{type(value).__name__}{size}, {chars} characters as JSON; not stored>"


class StepCatalog(Protocol):
    """What the tracker needs of a catalog (:class:`~steplineage.Catalog` has it)."""

    @property
    def settings(self) -> Settings: ...

    def create_execution(self, config: ExecutionConfig) -> Execution: ...

    def workflow_for_step(self, name: str,
                          workflow_type: WorkflowType | str = WorkflowType.script, *,
                          source: str | Path | None = None, version: str | None = None,
                          description: str = "", exact: bool = False) -> WorkflowRecord: ...


@dataclass(frozen=True)
class StepRun:
    """One run of a step as an orchestrator adapter describes it: primitives and ids.

    Example:
        >>> run_id = "0b5e5c1e-0000-4000-8000-000000000000"
        >>> StepRun(name="load", workflow="etl", execution_id=run_id).config().name
        'load'
    """

    name: str
    workflow: WorkflowRecord | str
    execution_id: str
    parent_id: str | None = None
    identity: OrchestratorIdentity | None = None
    description: str = ""
    #: As the orchestrator has them; redacted and summarised when recorded.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    inputs: Sequence[InputSpec] = ()
    outputs: Sequence[InputSpec] = ()
    assets: Sequence[str] = ()
    datasets: Sequence[DatasetSpec | str] = ()
    results: InputSpec | None = None
    upload: Literal["auto", "manual"] = "auto"

    def config(self, redact_keys: Iterable[str] = ()) -> ExecutionConfig:
        """The execution config of this run (parameters redacted and summarised).

        Example:
            >>> run_id = "0b5e5c1e-0000-4000-8000-000000000000"
            >>> StepRun("load", "etl", run_id, parameters={"n": 1}).config().parameters
            {'n': 1}
        """
        return ExecutionConfig(
            workflow=self.workflow, name=self.name, execution_id=self.execution_id,
            parent_execution_id=self.parent_id, orchestrator=self.identity,
            description=self.description,
            parameters=summarise_parameters(self.parameters, redact_keys),
            inputs=list(self.inputs), outputs=list(self.outputs), assets=list(self.assets),
            datasets=list(self.datasets), results=self.results, upload=self.upload)


C = TypeVar("C", bound=StepCatalog)


class StepTracker(Generic[C]):
    """Records one step of an orchestrator run; never fails the task unless ``strict``.

    Args:
        open_catalog: returns the catalog to record into (called once, under the
            guard; None means "untracked": the enclosing run could not open one).
            Its type is what ``describe`` callbacks get (the adapters' ``Catalog``).
        strict: tracking failures fail the task (:class:`TrackingError`).
        **context: what names the step in log lines (``dag_id=...``, ``task_run=...``).

    ``execution`` is None while (or because) the step runs untracked.

    Example:
        >>> tracker = StepTracker(lambda: cat, strict=False, task_id="load")  # doctest: +SKIP
        >>> if tracker.begin("record the start", describe) is not None:  # doctest: +SKIP
        ...     tracker.complete()
    """

    def __init__(self, open_catalog: Callable[[], C | None], *, strict: bool,
                 **context: object):
        self.strict = strict
        self.context: dict[str, object] = dict(context)
        self.execution: Execution | None = None
        self._open = open_catalog
        self._catalog: C | None = None

    # -- the one way to the catalog -------------------------------------------------

    def guard(self, what: str, *, strict: bool | None = None
              ) -> contextlib.AbstractContextManager[None]:
        """The tracking guard with this step's strictness and log context.

        Example:
            >>> with tracker.guard("publish lineage artifacts"):  # doctest: +SKIP
            ...     publish(...)
        """
        return tracking_guard(what, self.strict if strict is None else strict, **self.context)

    def call(self, what: str, fn: Callable[[], T], *, strict: bool | None = None) -> T | None:
        """``fn()`` under the guard; None if it failed (and the failure was only logged).

        Example:
            >>> tracker.call("read the task parameters", lambda: {"n": 1})  # doctest: +SKIP
            {'n': 1}
        """
        result: list[T] = []
        with self.guard(what, strict=strict):
            result.append(fn())
        return result[0] if result else None

    def catalog(self) -> C | None:
        """The step's catalog, opened on first use (raises when it cannot be opened).

        Example:
            >>> tracker.catalog().settings.strict  # doctest: +SKIP
            False
        """
        if self._catalog is None:
            self._catalog = self._open()
        return self._catalog

    @property
    def opened(self) -> C | None:
        """The catalog if it was opened, without trying to open it.

        Example:
            >>> tracker.opened is None  # doctest: +SKIP
            True
        """
        return self._catalog

    def workflow(self, name: str, workflow_type: WorkflowType | str, *,
                 source: str | Path | None = None, version: str | None = None,
                 description: str = "", exact: bool = True) -> WorkflowRecord:
        """The workflow of the step's code: the catalog's (cached there), else computed offline.

        While the catalog is unreachable the record is computed here (active, with
        the id ``add_workflow`` would give), so the step can still be spooled;
        strict mode raises instead. ``exact=False`` prefers the newest workflow
        already registered under ``name``.

        Example:
            >>> tracker.workflow("etl", "airflow-dag", source="dags/etl.py")  # doctest: +SKIP
        """
        cat = self._required()
        try:
            return cat.workflow_for_step(name, workflow_type, source=source, version=version,
                                         description=description, exact=exact)
        except CatalogUnavailableError:
            if self.strict:
                raise
            return describe_workflow(name, workflow_type, version=version,
                                     description=description, source=source)

    def create(self, run: StepRun) -> Execution:
        """Record ``run`` (or get the live handle of its existing record); not guarded.

        Example:
            >>> parent = tracker.create(StepRun("etl", wf, dag_run_id))  # doctest: +SKIP
        """
        cat = self._required()
        return cat.create_execution(run.config(cat.settings.redact_keys))

    # -- life cycle -----------------------------------------------------------------

    def begin(self, what: str, describe: Callable[[C], StepRun]) -> Execution | None:
        """Record the step and start it: the running execution, a skipped one, or None.

        ``describe`` translates the orchestrator's run into a :class:`StepRun`; it
        gets the catalog to resolve refs with. A skipped execution (inactive
        workflow) means: do not run the task. None means the step goes on
        untracked (the failure was logged), also when a record of this very run
        is already final (a process that came back after being given up on).
        A running record is resumed (a deferred task back in a new process).

        Raises:
            TrackingError: strict, and the start could not be recorded in the catalog.
            StagingError, LineageError, ConfigurationError: the inputs or the
                declaration are wrong (always raised).

        Example:
            >>> exe = tracker.begin("record the task start", describe)  # doctest: +SKIP
        """
        def record() -> Execution | None:
            cat = self.catalog()
            if cat is None:
                return None  # the enclosing run gave up on its catalog and said so
            exe = self.create(describe(cat))
            self.context["execution"] = exe.id
            if exe.status is Status.skipped:
                return exe
            if exe.status in FINAL_STATUSES:
                log.warning("steplineage: execution %s (%s) is already %s; this run goes on "
                            "untracked", exe.id, self._details(), exe.status.value)
                return None
            if exe.status is Status.running:
                exe.update_status(Status.running, "resumed")
            else:
                exe.start()
            self._check_recorded(exe)
            return exe

        self.execution = self.call(what, record)
        return self.execution

    def complete(self, what: str = "record the end of the step") -> None:
        """Record a clean end: outputs registered (``upload="auto"``), completed.

        Raises:
            TrackingError: strict, and the end could not be recorded in the catalog.

        Example:
            >>> tracker.complete()  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        with self.guard(what):
            exe.complete()
            self._check_recorded(exe)

    def fail(self, error: BaseException | str | None,
             what: str = "record the failure of the step") -> None:
        """Record that the step failed (aborted for KeyboardInterrupt/SystemExit); never raises.

        The task's own error is what the task fails with, strict or not.

        Example:
            >>> tracker.fail(RuntimeError("loss diverged"))  # doctest: +SKIP
        """
        exe = self.execution
        if exe is None or exe.status in FINAL_STATUSES:
            return
        exc = error if isinstance(error, BaseException) else RuntimeError(error or "step failed")
        with self.guard(what, strict=False):
            exe.fail(exc)

    def skip(self, reason: str, what: str = "record the skip of the step") -> None:
        """Record that the step skipped itself (it had nothing to do); never raises.

        Example:
            >>> tracker.skip("nothing new today")  # doctest: +SKIP
        """
        exe = self.execution
        if exe is not None and exe.status not in FINAL_STATUSES:
            with self.guard(what, strict=False):
                exe.skip(reason)

    def note(self, what: str, message: str) -> None:
        """Record a message on the running step (e.g. "deferred: waiting for a trigger").

        Example:
            >>> tracker.note("record the task deferral", "deferred")  # doctest: +SKIP
        """
        exe = self.execution
        if exe is not None and exe.status not in FINAL_STATUSES:
            with self.guard(what):
                exe.update_status(Status.running, message)

    def settle(self, run: StepRun, status: Status, message: str) -> Execution:
        """Make sure ``run`` is recorded and final: created if missing, then ``status``.

        For what the step itself never recorded (a task that never ran, a run
        that crashed or failed before its function started). A record that is
        already final keeps its status. Not guarded: call it under :meth:`guard`.

        Example:
            >>> tracker.settle(run, Status.skipped, "not run: upstream_failed")  # doctest: +SKIP
        """
        exe = self.create(run)  # idempotent: an existing id gives its live handle
        if exe.status not in FINAL_STATUSES:
            exe.update_status(status, message)
        return exe

    def _required(self) -> C:
        cat = self.catalog()
        if cat is None:
            raise TrackingError(f"steplineage has no catalog for this step ({self._details()}): "
                                "its enclosing run could not open one (see the warning logged "
                                "then); fix the catalog settings, or the step runs untracked")
        return cat

    def _check_recorded(self, exe: Execution) -> None:
        # A catalog passed in by the user spools by its own settings; strict still means strict.
        if self.strict and exe.offline:
            raise TrackingError(f"steplineage could not reach the catalog ({self._details()}); "
                                "strict=True fails the step. Its records were spooled for "
                                "replay; set strict=False to carry on during outages")

    def _details(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.context.items())
