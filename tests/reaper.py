"""The reaper's verdict on an execution, given now: what a lost heartbeat leads to, without waiting.

``steplineage.tracking.heartbeat.reap`` refuses thresholds that could catch a
live step, and a real heartbeat ages only with time; tests that need a live
step aborted under it write the very operation the reaper writes.
"""

from __future__ import annotations

from steplineage.ids import utcnow
from steplineage.ops import StatusChanged
from steplineage.status import Status
from steplineage.store.executions import last_seq


def reap_now(catalog, *execution_ids: str) -> None:
    """Mark these executions ``aborted`` as the reaper does (its message, its seq, not strict)."""
    for exe_id in execution_ids:
        catalog.store.apply([StatusChanged(
            execution_id=exe_id, seq=last_seq(catalog.store, exe_id) + 1, status=Status.aborted,
            message="reaped: no heartbeat (lost); the process died", at=utcnow())],
            strict=False)
