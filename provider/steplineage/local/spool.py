"""The durable spool: catalog writes that could not be made yet, kept on local disk.

When the catalog is unreachable (or slower than ``STEPLINEAGE_TIMEOUT_SECONDS``)
and tracking is not strict, an execution appends its remaining operations
here instead of failing the step: a :class:`~steplineage.local.queue.DurableQueue`
at ``$STEPLINEAGE_HOME/spool.db``, keyed by the catalog's identity (its URL with
the password masked, :attr:`Store.identity <steplineage.store.store.Store.identity>`),
so a password never reaches the disk. They are replayed in order, each idempotent
(client-generated ids), by the next tracked step that reaches the catalog, by
``steplineage spool flush``, or by :meth:`Spool.flush`.

The spool holds at most ``STEPLINEAGE_SPOOL_MAX_OPS`` operations; past that new
operations are refused with a warning naming the execution, so a long outage
cannot fill the disk. A spool file written by an earlier release (its ``ops``
table) is taken over when opened.

Example:
    >>> spool = Spool.from_settings(sl.Settings(home=tempfile.mkdtemp()))  # doctest: +SKIP
    >>> spool.status()  # doctest: +SKIP
    {}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from steplineage.local.queue import DurableQueue
from steplineage.ops import Op, parse_op

if TYPE_CHECKING:
    from collections.abc import Sequence

    from steplineage.settings import Settings

__all__ = ["FlushResult", "Spool"]

log = logging.getLogger("steplineage")

SPOOL_FILE = "spool.db"
# Releases up to 0.1 kept operations in this table, created_at as ISO text.
_LEGACY = ("ops", "SELECT catalog_url, body, (julianday(created_at) - 2440587.5) * 86400.0,"
                  " attempts, last_error FROM ops ORDER BY seq")


class ReplayTarget(Protocol):
    """Where spooled operations go: a :class:`~steplineage.store.store.Store`."""

    identity: str

    def apply(self, ops: Sequence[Op], *, strict: bool = True) -> None:
        """Write ``ops`` in one transaction, idempotently."""


@dataclass(frozen=True)
class FlushResult:
    """What one flush did."""

    applied: int
    failed: int
    remaining: int


class Spool:
    """Catalog operations waiting for their catalog, per catalog identity, on local disk.

    Args:
        path: the spool file.
        max_ops: most operations kept; further appends are refused with a warning.
    """

    def __init__(self, path: Path, max_ops: int = 100_000):
        self.path = path
        self.queue = DurableQueue(
            path, what="spool", max_items=max_ops, legacy=_LEGACY,
            when_full="bring the catalog back and run `steplineage spool flush`, or raise "
                      "STEPLINEAGE_SPOOL_MAX_OPS")

    @classmethod
    def from_settings(cls, settings: Settings) -> Spool:
        """This host's spool: ``$STEPLINEAGE_HOME/spool.db``, bounded by the settings."""
        return cls(settings.home.expanduser() / SPOOL_FILE, settings.spool_max_ops)

    def append(self, key: str, op: Op) -> bool:
        """Keep ``op`` for the catalog named ``key``; False (and a warning) when full."""
        return self.queue.append(key, [op.model_dump_json()],
                                 about=f"of execution {_execution_id(op) or '?'}") == 1

    def pending(self, key: str | None = None) -> int:
        """How many operations wait (for one catalog, or in all)."""
        return self.queue.pending(key)

    def peek(self, key: str, limit: int = 1000) -> list[Op]:
        """The first operations waiting for ``key``, in order (left in the spool)."""
        return [parse_op(body) for body in self.queue.peek(key, limit)]

    def status(self) -> dict[str, dict[str, Any]]:
        """Per catalog: waiting operations, oldest time (ISO), most attempts, last error."""
        return {key: {"operations": s.items,
                      "oldest": datetime.fromtimestamp(s.oldest, timezone.utc).isoformat(),
                      "attempts": s.attempts, "last_error": s.last_error}
                for key, s in self.queue.status().items()}

    def flush(self, store: ReplayTarget) -> FlushResult:
        """Replay the operations kept for ``store.identity`` in order; stop at the first failure.

        Each operation is applied in its own transaction and then deleted, so a
        crash mid-flush replays at most the one in flight, harmlessly.
        """
        result = self.queue.drain(store.identity,
                                  lambda body: store.apply([parse_op(body)], strict=False))
        if result.failed:
            log.warning("steplineage spool: replay into %s stopped (%s); %d operation(s) wait",
                        store.identity, result.error, result.remaining)
        if result.done:
            log.info("steplineage spool: replayed %d operation(s) into %s", result.done,
                     store.identity)
        return FlushResult(result.done, result.failed, result.remaining)

    def close(self) -> None:
        """Close this process's connection to the spool file."""
        self.queue.close()


def _execution_id(op: Op) -> str | None:
    return getattr(op, "execution_id", None) or (
        op.execution.get("id") if hasattr(op, "execution") else None)
