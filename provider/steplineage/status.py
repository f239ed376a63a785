"""The execution status state machine.

::

    created -> initializing -> running -> (uploading) -> completed
         \\            \\            \\           \\-> failed | aborted
          \\            \\            \\-> skipped | failed | aborted
           \\            \\-> skipped | failed | aborted
            \\-> skipped | failed | aborted

``completed``, ``failed``, ``aborted`` and ``skipped`` are final. A step may
turn out to have nothing to do after it was set up or started (an inactive
workflow, an orchestrator's skip such as Airflow's ``AirflowSkipException`` or
an upstream failure), so ``skipped`` is reachable until the step finishes.

Example:
    >>> from steplineage.status import Status, can_transition
    >>> can_transition(Status.running, Status.completed)
    True
    >>> can_transition(Status.completed, Status.running)
    False
"""

from __future__ import annotations

from enum import Enum

__all__ = ["FINAL_STATUSES", "Status", "allowed_next", "can_transition"]


class Status(str, Enum):
    """Where an execution is in its life cycle."""

    created = "created"
    initializing = "initializing"
    running = "running"
    uploading = "uploading"
    completed = "completed"
    failed = "failed"
    aborted = "aborted"
    skipped = "skipped"

    def __str__(self) -> str:
        return self.value


FINAL_STATUSES = frozenset({Status.completed, Status.failed, Status.aborted, Status.skipped})

_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.created: frozenset(
        {Status.initializing, Status.running, Status.skipped, Status.failed, Status.aborted}
    ),
    Status.initializing: frozenset({Status.running, Status.skipped, Status.failed,
                                    Status.aborted}),
    Status.running: frozenset(
        {Status.running, Status.uploading, Status.completed, Status.skipped, Status.failed,
         Status.aborted}
    ),
    Status.uploading: frozenset({Status.completed, Status.failed, Status.aborted}),
}


def allowed_next(current: Status) -> list[Status]:
    """Statuses reachable in one step from ``current`` (empty when final)."""
    return sorted(_TRANSITIONS.get(current, frozenset()), key=list(Status).index)


def can_transition(current: Status, requested: Status) -> bool:
    """Whether ``current -> requested`` is a legal change.

    ``running -> running`` is allowed so progress messages can be recorded.
    """
    return requested in _TRANSITIONS.get(current, frozenset())
