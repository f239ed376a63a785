"""Where a live execution's writes go: the catalog, else the spool; observers afterwards.

Every write is an :mod:`~steplineage.ops` operation. Writes that no status
depends on (parameters, metrics, declared outputs) are held briefly and go
out with the next write, after ``DEFER_SECONDS``, on :meth:`StepWriter.flush`,
or at interpreter exit, so a step costs three transactions. When the catalog
is unreachable (:class:`~steplineage.errors.CatalogUnavailableError`) and
tracking is not strict, this and every later write of the step goes to the
durable spool instead; with ``strict=True`` it raises :class:`TrackingError`.
A status change the catalog no longer allows because another process moved the
record (the reaper aborted a step that was alive) is kept in the history as not
applied, as a spool replay does, and the step goes on.
Observers (OpenLineage export) hear of each write after it was made.

Example:
    >>> writer = StepWriter(cat, exe_id, announce=lambda ops: None)  # doctest: +SKIP
    >>> writer.write(StatusChanged(...))  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from steplineage.errors import CatalogUnavailableError, StatusTransitionError, TrackingError
from steplineage.ops import Op

if TYPE_CHECKING:
    from steplineage.tracking.ports import TrackingCatalog

__all__ = ["DEFER_SECONDS", "Check", "StepWriter", "tracking_failed"]

log = logging.getLogger("steplineage")

#: Longest time a parameter/metric/output write waits for the next transaction.
DEFER_SECONDS = 1.0

#: A check run inside the write's transaction (it sees the store's session); raising
#: rolls the write back.
Check = Callable[[Any], None]
_Item = tuple[Op, "Check | None"]
# Writers holding deferred writes: flushed at interpreter exit if nothing else did.
_HOLDING: weakref.WeakSet[StepWriter] = weakref.WeakSet()


class StepWriter:
    """The writes of one execution.

    Args:
        catalog: where to write (its store) and spool.
        execution_id: whose writes these are (for messages).
        online: False when the catalog was already unreachable at creation.
        announce: called with the operations after each write (catalog or spool).
    """

    def __init__(self, catalog: TrackingCatalog, execution_id: str, *, online: bool = True,
                 announce: Callable[[list[Op]], None]):
        self.catalog = catalog
        self.execution_id = execution_id
        self.offline = not online
        self._announce = announce
        self._batch: list[_Item] | None = None
        self._deferred: list[_Item] = []
        self._deferred_since = 0.0

    def write(self, op: Op, check: Check | None = None) -> None:
        """Apply ``op`` (after any held ones), or add it to the open batch."""
        if self._batch is not None:
            self._batch.append((op, check))
        else:
            self.apply([*self._take_deferred(), (op, check)])

    def defer(self, op: Op) -> None:
        """Hold ``op`` for the next transaction (at most ``DEFER_SECONDS``)."""
        if self._batch is not None:
            self._batch.append((op, None))
            return
        now = time.monotonic()
        if not self._deferred:
            self._deferred_since = now
            _HOLDING.add(self)
        self._deferred.append((op, None))
        if now - self._deferred_since >= DEFER_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write held operations now."""
        self.apply(self._take_deferred())

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Collect writes and apply them in one transaction at the end (nesting joins)."""
        if self._batch is not None:
            yield
            return
        with self.collecting() as items:
            yield
        self.apply([*self._take_deferred(), *items])

    @contextlib.contextmanager
    def collecting(self) -> Iterator[list[_Item]]:
        """Collect writes into the yielded list without applying them (the caller does)."""
        self._batch = items = []
        try:
            yield items
        finally:
            self._batch = None

    def apply(self, items: list[_Item]) -> None:
        """Write ``items`` in one transaction, or spool them if the catalog is unreachable."""
        if not items:
            return
        ops = [op for op, _ in items]
        if not self.offline:
            checks = [c for _, c in items if c is not None]
            try:
                try:
                    self.catalog.store.apply(ops, checks=checks)
                except StatusTransitionError as exc:
                    # Another process moved the record (e.g. the reaper aborted it): the step
                    # goes on, and its history keeps this change as not applied, as a replay does.
                    log.warning("steplineage: execution %s is already %s in the catalog; its "
                                "change to %s is kept in the history, not applied",
                                self.execution_id, exc.current, exc.requested)
                    self.catalog.store.apply(ops, strict=False, checks=checks)
                self._announce(ops)
                return
            except CatalogUnavailableError as exc:
                tracking_failed(self.catalog, exc, f"write {ops[0].op}", self.execution_id)
                self.offline = True
        for op in ops:
            self.catalog.spool.append(self.catalog.store.identity, op)
        self._announce(ops)

    def _take_deferred(self) -> list[_Item]:
        items, self._deferred = self._deferred, []
        return items


def tracking_failed(catalog: TrackingCatalog, exc: BaseException, what: str,
                    execution_id: str) -> None:
    """Strict: raise :class:`TrackingError`. Otherwise warn that writes go to the spool."""
    if catalog.settings.strict:
        raise TrackingError(f"steplineage could not {what} (execution {execution_id}): the "
                            f"catalog is unreachable ({type(exc).__name__}: {exc}); strict mode "
                            "fails the step. Set strict=False to spool and carry on") from exc
    log.warning("steplineage: catalog unreachable while trying to %s (execution %s): %s; "
                "spooling to %s for replay", what, execution_id, exc, catalog.spool.path)


@atexit.register
def _flush_held_writes() -> None:
    for writer in list(_HOLDING):
        with contextlib.suppress(Exception):  # logged by apply; exit must go on
            writer.flush()
