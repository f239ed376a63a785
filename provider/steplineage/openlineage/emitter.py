"""Sending executions' OpenLineage events: outbox in the step, transport in the background.

Off by default. With ``STEPLINEAGE_OPENLINEAGE=true`` every catalog write of an
execution goes through :func:`enqueue`, which turns it into RunEvents
(:mod:`~steplineage.openlineage.events`) and appends them to the durable
:mod:`~steplineage.local.outbox`: a local SQLite insert, never the
network, and never an exception into the step. A daemon thread per process
sends the outbox through openlineage-python, whose transports (console, file,
http, kafka, composite, ...) and configuration are used as they are:

1. ``STEPLINEAGE_OPENLINEAGE_TRANSPORT``: a transport config as JSON, e.g.
   ``{"type": "http", "url": "http://127.0.0.1:8765", "endpoint": "api/v1/lineage"}``;
2. otherwise openlineage-python's own: ``OPENLINEAGE_CONFIG`` / ``openlineage.yml``,
   ``OPENLINEAGE__TRANSPORT__*``, ``OPENLINEAGE_URL``.

A failed send keeps the event and retries with backoff (1 s doubling to 60 s);
at exit the thread gets ``STEPLINEAGE_OPENLINEAGE_FLUSH_SECONDS`` to finish.
What is left is sent by the next tracked step on this host or by
``steplineage openlineage flush``.

Example:
    $ export STEPLINEAGE_OPENLINEAGE=true
    $ export STEPLINEAGE_OPENLINEAGE_TRANSPORT='{"type": "file", "log_file_path": "ol.jsonl",
    >     "append": true}'
    $ python my_pipeline.py && steplineage openlineage status
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from steplineage.errors import ConfigurationError
from steplineage.openlineage.events import EventBuilder
from steplineage.local.outbox import Outbox, SendResult

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution
    from steplineage.ops import Op
    from steplineage.settings import Settings

__all__ = ["Emitter", "emitter_for", "enqueue", "to_client_event"]

log = logging.getLogger("steplineage")

_EMITTERS: dict[tuple[str, str | None, str], Emitter] = {}
_EMITTERS_LOCK = threading.Lock()


def to_client_event(event: dict[str, Any]) -> Any:
    """An openlineage-python ``RunEvent`` for one of our event dicts (what transports take).

    Example:
        >>> to_client_event(event).eventType.value  # doctest: +SKIP
        'START'
    """
    from openlineage.client import event_v2 as ev
    from openlineage.client.facet_v2 import parent_run

    run_facets = dict(event["run"].get("facets") or {})
    parent = run_facets.get("parent")
    if parent is not None:
        # Transports such as kafka read the parent facet's attributes for partitioning.
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run"]["runId"]),
            job=parent_run.Job(namespace=parent["job"]["namespace"], name=parent["job"]["name"]))
    return ev.RunEvent(
        eventType=ev.RunState[event["eventType"]], eventTime=event["eventTime"],
        producer=event["producer"],
        run=ev.Run(runId=event["run"]["runId"], facets=run_facets),
        job=ev.Job(namespace=event["job"]["namespace"], name=event["job"]["name"],
                   facets=event["job"].get("facets") or {}),
        inputs=[ev.InputDataset(namespace=d["namespace"], name=d["name"],
                                facets=d.get("facets") or {}) for d in event.get("inputs", [])],
        outputs=[ev.OutputDataset(namespace=d["namespace"], name=d["name"],
                                  facets=d.get("facets") or {})
                 for d in event.get("outputs", [])])


class Emitter:
    """The outbox, event builder, client and sender thread of one configuration.

    Args:
        settings: steplineage settings (home, namespace, transport, limits).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.outbox = Outbox.from_settings(settings)
        self.builder = EventBuilder(settings.openlineage_namespace)
        self._client: Any = None
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._send_lock = threading.Lock()
        self.build_lock = threading.Lock()

    def client(self) -> Any:
        """The openlineage-python client, configured as the module docstring says."""
        if self._client is None:
            try:
                from openlineage.client import OpenLineageClient
            except ImportError as exc:
                raise ConfigurationError(
                    f"OpenLineage emission needs openlineage-python ({exc}): "
                    "pip install 'steplineage[openlineage]', or unset STEPLINEAGE_OPENLINEAGE"
                ) from None
            raw = self.settings.openlineage_transport
            if raw:
                try:
                    transport = json.loads(raw)
                except ValueError as exc:
                    raise ConfigurationError(
                        f"STEPLINEAGE_OPENLINEAGE_TRANSPORT is not JSON ({exc}); give a "
                        'transport config such as {"type": "console"}') from None
                self._client = OpenLineageClient(config={"transport": transport})
            else:
                self._client = OpenLineageClient()
        return self._client

    def emit(self, event: dict[str, Any]) -> None:
        """Send one event now through the configured transport (raises on failure)."""
        self.client().emit(to_client_event(event))

    def flush(self, timeout: float | None = None) -> SendResult:
        """Send what waits in the outbox, for at most ``timeout`` seconds.

        Example:
            >>> emitter_for(cat.settings).flush(timeout=10).remaining  # doctest: +SKIP
            0
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._send_lock:
            return self.outbox.send(self.emit, deadline=deadline)

    def wake(self) -> None:
        """Make sure the sender thread of this process runs, and nudge it."""
        with self.build_lock:  # two steps' threads must not start two senders
            if self._thread is None or self._pid != os.getpid() or \
                    not self._thread.is_alive():
                self._pid = os.getpid()
                self._stopping = False
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="steplineage-openlineage")
                self._thread.start()
                atexit.register(self._at_exit, os.getpid())
        self._wake.set()

    def _run(self) -> None:
        backoff = 1.0
        try:
            # Made now, while the step runs: a client made at interpreter exit cannot register
            # its own exit hooks, and importing openlineage-python stays off the step's thread.
            self.client()
        except Exception as exc:  # noqa: BLE001 - reported by the first send below
            log.debug("steplineage: OpenLineage client not ready: %s", exc)
        while True:
            self._wake.wait(timeout=backoff if backoff > 1.0 else None)
            self._wake.clear()
            if self._stopping and self._client is None:
                return  # exiting before the client was made: the events wait for next time
            try:
                result = self.flush()
            except Exception as exc:  # noqa: BLE001 - e.g. a bad transport config; keep events
                log.warning("steplineage: OpenLineage events could not be sent (%s); they stay "
                            "in %s", exc, self.outbox.path)
                result = SendResult(0, 1, -1, str(exc))
            if self._stopping:
                return
            if result.failed:
                log.warning("steplineage: OpenLineage transport failed (%s); %d event(s) kept "
                            "in %s, retrying in %.0f s", result.error, result.remaining,
                            self.outbox.path, backoff * 2)
                backoff = min(backoff * 2, 60.0)
            else:
                backoff = 1.0

    def _at_exit(self, pid: int) -> None:
        if pid != os.getpid() or self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=self.settings.openlineage_flush_seconds)
        left = self.outbox.pending()
        if left:
            log.warning("steplineage: %d OpenLineage event(s) not sent yet; they stay in %s "
                        "(`steplineage openlineage flush` sends them)", left, self.outbox.path)


def emitter_for(settings: Settings) -> Emitter:
    """The process-wide emitter for these settings (one outbox per STEPLINEAGE_HOME)."""
    key = (str(settings.home.expanduser()), settings.openlineage_transport,
           settings.openlineage_namespace)
    with _EMITTERS_LOCK:
        found = _EMITTERS.get(key)
        if found is None:
            found = _EMITTERS[key] = Emitter(settings)
        return found


def enqueue(execution: Execution, ops: list[Op]) -> None:
    """Queue the RunEvents of ``ops`` just written for ``execution``; never raises.

    Called by :class:`~steplineage.tracking.execution.Execution` after each catalog write
    when emission is on.
    """
    try:
        emitter = emitter_for(execution.catalog.settings)
        catalog = execution.catalog

        def resource_uri(name: str) -> str | None:
            try:
                return catalog.get_resource(name).uri
            except Exception:  # noqa: BLE001 - unknown or unreachable: name the ref instead
                return None

        with emitter.build_lock:  # steps in several threads share the builder's memory
            events = emitter.builder.events(execution, ops, resource_uri)
        if events:
            emitter.outbox.append(events)
            emitter.wake()
    except Exception:  # noqa: BLE001 - lineage export must never fail the step
        log.warning("steplineage: could not queue OpenLineage events for execution %s",
                    getattr(execution, "id", "?"), exc_info=True)

