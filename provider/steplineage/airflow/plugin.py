"""The steplineage Airflow plugin: registers the listeners.

It is listed in the provider info and, because lazy provider discovery skips
provider-listed plugins, also under the ``airflow.plugins`` entry point. The
task listener only records untracked tasks when ``[steplineage]
track_all_tasks = True``; the DAG-run listener only acts on DAGs that contain
tracked tasks (or with ``track_all_tasks``), so installing steplineage does not
make Airflow touch a catalog for DAGs that do not use it.

Example:
    >>> from steplineage.airflow.plugin import SteplineagePlugin
    >>> SteplineagePlugin.name
    'steplineage'
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from steplineage.airflow.listener import DagRunListener, TaskListener

__all__ = ["SteplineagePlugin"]


class SteplineagePlugin(AirflowPlugin):
    """Listeners recording task tries and DAG runs in the steplineage catalog.

    Example:
        >>> [type(listener).__name__ for listener in SteplineagePlugin.listeners]
        ['TaskListener', 'DagRunListener']
    """

    name = "steplineage"
    listeners = [TaskListener(), DagRunListener()]
