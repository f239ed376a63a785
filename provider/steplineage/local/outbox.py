"""The OpenLineage outbox: events waiting to be sent, kept in a SQLite file on local disk.

A :class:`~steplineage.local.queue.DurableQueue` (like the
:mod:`~steplineage.local.spool`) at ``$STEPLINEAGE_HOME/openlineage-outbox.db``,
so an event made while the lineage backend is down, slow or not yet started
survives the process and is sent later. Appending is one small local
transaction; a step never waits for the network. A sender claims events before
sending and deletes each once the transport took it, so two processes draining
one outbox never send an event twice.

The events wait for whichever transport is configured when they are sent (one
key): fixing a broken transport config and flushing sends them. The outbox
holds at most ``max_events``; past that new events are dropped with a warning.

Example:
    >>> box = Outbox(Path(tempfile.mkdtemp()) / "outbox.db")  # doctest: +SKIP
    >>> box.append([{"eventType": "START"}]), box.pending()  # doctest: +SKIP
    (1, 1)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.local.queue import DrainResult, DurableQueue

if TYPE_CHECKING:
    from steplineage.settings import Settings

__all__ = ["Outbox", "SendResult"]

OUTBOX_FILE = "openlineage-outbox.db"
OUTBOX_KEY = "openlineage"
# Releases up to 0.1 kept events in this table, without a key.
_LEGACY = ("events", f"SELECT '{OUTBOX_KEY}', body, created_at, attempts, last_error"
                     " FROM events ORDER BY seq")


class SendResult(DrainResult):
    """What one drain of the outbox did (``sent`` is how many events the transport took)."""

    @property
    def sent(self) -> int:
        """Events sent."""
        return self.done


class Outbox:
    """A durable FIFO of OpenLineage events (JSON) on local disk.

    Args:
        path: the SQLite file.
        max_events: most events kept; further appends are dropped with a warning.
        claim_seconds: after this long, events claimed by a sender that never
            finished are sent again.
    """

    def __init__(self, path: Path, max_events: int = 100_000, claim_seconds: float = 120.0):
        self.path = path
        self.queue = DurableQueue(
            path, what="OpenLineage outbox", max_items=max_events, legacy=_LEGACY,
            claim_seconds=claim_seconds,
            when_full="bring the lineage backend back and run `steplineage openlineage flush`, "
                      "or raise STEPLINEAGE_OPENLINEAGE_OUTBOX_MAX_EVENTS")

    @classmethod
    def from_settings(cls, settings: Settings) -> Outbox:
        """This host's outbox, ``$STEPLINEAGE_HOME/openlineage-outbox.db``, bounded as set."""
        return cls(settings.home.expanduser() / OUTBOX_FILE,
                   settings.openlineage_outbox_max_events)

    def close(self) -> None:
        """Close this process's connection (it reopens on next use)."""
        self.queue.close()

    def append(self, events: list[dict[str, Any]]) -> int:
        """Keep ``events``; returns how many were kept (fewer when the outbox is full)."""
        return self.queue.append(OUTBOX_KEY, [json.dumps(e, separators=(",", ":"))
                                              for e in events])

    def pending(self) -> int:
        """How many events wait."""
        return self.queue.pending(OUTBOX_KEY)

    def status(self) -> dict[str, Any]:
        """Waiting events, the oldest one's time (epoch), most attempts and the last error."""
        found = self.queue.status().get(OUTBOX_KEY)
        if found is None:
            return {"events": 0, "oldest": None, "attempts": 0, "last_error": None}
        return {"events": found.items, "oldest": found.oldest, "attempts": found.attempts,
                "last_error": found.last_error}

    def send(self, emit: Callable[[dict[str, Any]], None], batch: int = 200,
             deadline: float | None = None) -> SendResult:
        """Send waiting events in order through ``emit``; stop at the first failure.

        An event is deleted right after ``emit`` returns, so a crash in between
        sends at most that one event again (ingest in steplineage is idempotent).
        """
        result = self.queue.drain(OUTBOX_KEY, lambda body: emit(json.loads(body)), batch=batch,
                                  deadline=deadline)
        return SendResult(result.done, result.failed, result.remaining, result.error)
