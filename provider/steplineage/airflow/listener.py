"""Airflow listeners: every task of every DAG (opt-in), and the end of each DAG run.

* :class:`TaskListener` records each task try that no tracked operator already
  records, when ``[steplineage] track_all_tasks = True``. It maps the task's
  ``inlets``/``outlets`` Assets to refs and runs in the task process; it cannot
  hand the Execution to the task, and (as Airflow swallows listener errors) it
  never fails a task, strict or not.
* :class:`DagRunListener` runs where the DAG run's state is decided (the
  scheduler, or the ``dag.test()`` process). For a DAG with tracked tasks (or
  with ``track_all_tasks``) it closes the DAG run's parent execution and records
  tasks that never ran (skipped, upstream_failed) as skipped children.

Listeners hold no catalog logic: they call :mod:`steplineage.airflow.adapter`.

Example:
    >>> from steplineage.airflow.listener import TaskListener, DagRunListener
    >>> listeners = [TaskListener(), DagRunListener()]
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from airflow.listeners import hookimpl

from steplineage.airflow import conf
from steplineage.airflow.adapter import (TaskRun, TaskTracker, TrackingSpec, UnrunTask,
                                         record_dag_run_end)

__all__ = ["DagRunListener", "TaskListener", "is_tracked_task"]

log = logging.getLogger("steplineage.airflow")

# Task states in which a task instance ends without having run.
_UNRUN_STATES = frozenset({"skipped", "upstream_failed"})
_OUR_MODULES = ("steplineage.airflow.",)


def is_tracked_task(task: Any) -> bool:
    """Whether a task records itself (TrackedPythonOperator, ``@task.steplineage``, track()).

    Works on real operators and on the serialized ones the scheduler holds (by
    the module of the operator class).

    Example:
        >>> is_tracked_task(object())
        False
    """
    from steplineage.airflow.operators import SteplineageMixin

    if isinstance(task, SteplineageMixin):
        return True
    module = getattr(task, "_task_module", None)
    return isinstance(module, str) and module.startswith(_OUR_MODULES)


class TaskListener:
    """Records task tries of untracked operators when ``track_all_tasks`` is on.

    Example:
        >>> class MyPlugin(AirflowPlugin):  # doctest: +SKIP
        ...     listeners = [TaskListener()]
    """

    def __init__(self) -> None:
        self._trackers: dict[str, TaskTracker] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _wanted(ti: Any) -> bool:
        # Only in the task process (a RuntimeTaskInstance with the real operator); the
        # API server also fires these hooks for state changes made in the UI.
        if type(ti).__name__ != "RuntimeTaskInstance":
            return False
        return conf.track_all_tasks() and not is_tracked_task(getattr(ti, "task", None))

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        """Record the DAG run (if new) and this try; stage its inlets."""
        if not self._wanted(task_instance):
            return
        context = task_instance.get_template_context()
        tracker = TaskTracker(TaskRun.from_task_instance(task_instance, context),
                              TrackingSpec(), force_strict=False)
        with self._lock:
            self._trackers[str(task_instance.id)] = tracker
        tracker.start(task_instance.task, context)

    def _pop(self, ti: Any) -> TaskTracker | None:
        with self._lock:
            return self._trackers.pop(str(getattr(ti, "id", "")), None)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        """Record the try's clean end (outlets become valid versions)."""
        if (tracker := self._pop(task_instance)) is not None:
            tracker.succeed(task_instance.get_template_context())

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any,
                                error: BaseException | str | None) -> None:
        """Record the failure with Airflow's error message."""
        if (tracker := self._pop(task_instance)) is not None:
            tracker.fail(error)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        """Record a task that skipped itself."""
        if (tracker := self._pop(task_instance)) is not None:
            tracker.skip("the task skipped itself")


class DagRunListener:
    """Closes DAG-run executions and records never-run tasks as skipped.

    Example:
        >>> class MyPlugin(AirflowPlugin):  # doctest: +SKIP
        ...     listeners = [DagRunListener()]
    """

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        """The DAG run succeeded: complete its execution."""
        self._end(dag_run, succeeded=True, msg=msg)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        """The DAG run failed: fail its execution with Airflow's reason."""
        self._end(dag_run, succeeded=False, msg=msg)

    def _end(self, dag_run: Any, *, succeeded: bool, msg: str) -> None:
        dag = getattr(dag_run, "dag", None)
        track_all = conf.track_all_tasks()
        tasks = dict(getattr(dag, "task_dict", None) or {})
        if not track_all and not any(is_tracked_task(t) for t in tasks.values()):
            return  # not a steplineage DAG: do not touch any catalog
        dag_id, run_id = dag_run.dag_id, dag_run.run_id
        dag_file = getattr(dag, "fileloc", None)
        # Read the task states now, in the caller's session: tasks that just became
        # upstream_failed are not committed yet, so no other session would see them.
        session = _session_of(dag_run)

        def never_ran(tis: list[Any]) -> list[UnrunTask]:
            return [UnrunTask(ti.task_id, ti.map_index if ti.map_index >= 0 else None,
                              int(ti.try_number or 0), _state(ti),
                              str(ti.id) if getattr(ti, "id", None) else None)
                    for ti in tis if _state(ti) in _UNRUN_STATES
                    and (track_all or is_tracked_task(tasks.get(ti.task_id)))]

        unrun = never_ran(_task_instances(dag_run, session)) if session is not None else None

        def work() -> None:
            record_dag_run_end(dag_id, run_id, succeeded=succeeded, message=msg,
                               dag_file=dag_file,
                               unrun=unrun if unrun is not None else never_ran(
                                   _task_instances(dag_run, None)))

        _in_own_thread(work, f"steplineage: end of DAG run {dag_id} {run_id}")


# Longest the scheduler waits for the catalog at the end of a DAG run.
_END_OF_RUN_TIMEOUT_SECONDS = 60.0


def _in_own_thread(work: Any, name: str) -> None:
    """Run ``work`` in a new thread and wait for it (at most a bounded time).

    Airflow's ORM session is thread-local: looking up our connection from the
    metadata DB in the scheduler's thread would commit and close the
    scheduler's own session under it. A thread of our own has its own session.
    """
    def guarded() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - never disturb the scheduler
            log.warning("%s could not be recorded", name, exc_info=True)

    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    thread.join(_END_OF_RUN_TIMEOUT_SECONDS)
    if thread.is_alive():
        log.warning("%s: the catalog did not answer within %.0f s; recording goes on in the "
                    "background", name, _END_OF_RUN_TIMEOUT_SECONDS)


def _state(ti: Any) -> str:
    return str(getattr(ti.state, "value", ti.state))


def _session_of(dag_run: Any) -> Any:
    from sqlalchemy.orm import object_session

    return object_session(dag_run)


def _task_instances(dag_run: Any, session: Any) -> list[Any]:
    try:
        if session is None:
            # Only from our own thread (see _in_own_thread): a fresh thread-local session.
            return list(dag_run.get_task_instances())
        return list(dag_run.get_task_instances(session=session))
    except Exception:  # noqa: BLE001 - the listener must never disturb the scheduler
        log.warning("steplineage: cannot list the task instances of %s", dag_run, exc_info=True)
        return []
