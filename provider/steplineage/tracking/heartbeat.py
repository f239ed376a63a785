"""Liveness: running executions beat; executions whose beat stopped are reaped.

One daemon thread per process touches ``heartbeat_at`` of every running
execution every ``STEPLINEAGE_HEARTBEAT_SECONDS``; :func:`reap` marks those
silent for too long as ``aborted`` (their process died without saying so).

Example:
    >>> reap(cat, stale_after_seconds=600)  # doctest: +SKIP
    ['5b8470d0-...']
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from steplineage.errors import ConfigurationError
from steplineage.ids import utcnow
from steplineage.ops import StatusChanged
from steplineage.status import Status
from steplineage.store.executions import last_seq, silent_executions, touch_heartbeats

if TYPE_CHECKING:
    from steplineage.tracking.ports import TrackingCatalog

__all__ = ["HEARTBEATS", "Heartbeats", "check_reap_threshold", "maybe_reap", "reap"]

log = logging.getLogger("steplineage")



class Heartbeats:
    """One daemon thread per process touching ``heartbeat_at`` of every running execution.

    Started on first use; each beat is one UPDATE per catalog. Bounded: a dict of
    running executions, no queue.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, TrackingCatalog] = {}
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def add(self, catalog: TrackingCatalog, execution_id: str) -> None:
        with self._lock:
            self._running[execution_id] = catalog
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="steplineage-heartbeat",
                                                daemon=True)
                self._thread.start()

    def remove(self, execution_id: str) -> None:
        with self._lock:
            self._running.pop(execution_id, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                every = min((c.settings.heartbeat_seconds for c in self._running.values()),
                            default=30.0)
            self._wake.wait(every)
            with self._lock:
                by_catalog: dict[int, tuple[TrackingCatalog, list[str]]] = {}
                for exe_id, cat in self._running.items():
                    by_catalog.setdefault(id(cat), (cat, []))[1].append(exe_id)
            for cat, ids in by_catalog.values():
                try:
                    touch_heartbeats(cat.store, ids)
                except Exception as exc:  # noqa: BLE001 - a missed beat is not worth a crash
                    log.debug("steplineage heartbeat failed: %s", exc)


HEARTBEATS = Heartbeats()


def check_reap_threshold(stale_after_seconds: float, heartbeat_seconds: float) -> None:
    """Refuse a reap threshold that cannot tell a live execution from a dead one.

    A live execution beats every ``heartbeat_seconds``, so between two beats it
    is silent for up to one interval; only one silent for two intervals has
    surely missed a beat.

    Raises:
        ConfigurationError: ``stale_after_seconds`` is not positive or is below
            ``2 * heartbeat_seconds``.

    Example:
        >>> check_reap_threshold(600, heartbeat_seconds=30)
        >>> check_reap_threshold(0, heartbeat_seconds=30)
        Traceback (most recent call last):
        ...
        steplineage.errors.ConfigurationError: cannot reap executions silent for 0s: ...
    """
    minimum = 2 * heartbeat_seconds
    if stale_after_seconds <= 0 or stale_after_seconds < minimum:
        raise ConfigurationError(
            f"cannot reap executions silent for {stale_after_seconds:g}s: live ones beat every "
            f"{heartbeat_seconds:g}s (STEPLINEAGE_HEARTBEAT_SECONDS), so the threshold "
            f"(--older-than, stale_after_seconds) must be at least {minimum:g}s")


def reap(catalog: TrackingCatalog, stale_after_seconds: float = 600.0) -> list[str]:
    """Mark executions whose heartbeat stopped as ``aborted``; returns their ids.

    Their declared outputs stay not valid (outputs are registered only on completion).

    Raises:
        ConfigurationError: the threshold could abort live executions (see
            :func:`check_reap_threshold`).
    """
    check_reap_threshold(stale_after_seconds, catalog.settings.heartbeat_seconds)
    cutoff = utcnow() - timedelta(seconds=stale_after_seconds)
    reaped = []
    for exe_id, beat in silent_executions(catalog.store, cutoff):
        catalog.store.apply([StatusChanged(
            execution_id=exe_id, seq=last_seq(catalog.store, exe_id) + 1, status=Status.aborted,
            message=f"reaped: no heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC "
                    f"(more than {stale_after_seconds:g}s); the process died",
            at=utcnow())], strict=False)
        reaped.append(exe_id)
    return reaped


_last_lazy_reap: dict[str, float] = {}


def maybe_reap(catalog: TrackingCatalog) -> None:
    """Reap lazily: at most once per ``reap_interval_seconds`` per process and catalog.

    Called when an execution starts, so dead executions get their ``aborted``
    status without anyone running ``steplineage reap``. An execution counts as
    dead after ``max(600 s, 10 heartbeats)`` of silence. Never raises.
    """
    import time

    now = time.monotonic()
    key = catalog.store.identity
    interval = catalog.settings.reap_interval_seconds
    if interval <= 0 or now - _last_lazy_reap.get(key, float("-inf")) < interval:
        return
    _last_lazy_reap[key] = now
    try:
        reaped = reap(catalog, max(600.0, 10 * catalog.settings.heartbeat_seconds))
    except Exception as exc:  # noqa: BLE001 - housekeeping must not fail a step
        log.debug("steplineage: lazy reap failed: %s", exc)
        return
    if reaped:
        log.warning("steplineage: marked %d execution(s) without heartbeat as aborted: %s",
                    len(reaped), ", ".join(reaped))
