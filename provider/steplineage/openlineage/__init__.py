"""OpenLineage interoperability: emit RunEvents for executions, and accept them.

* :mod:`~steplineage.openlineage.facets` — our custom facets and their published JSON schemas;
* :mod:`~steplineage.openlineage.naming` — dataset URIs <-> OpenLineage namespace/name;
* :mod:`~steplineage.openlineage.events` — journal operations -> RunEvents (emission side);
* :mod:`~steplineage.local.outbox` — the durable local queue of events to send;
* :mod:`~steplineage.openlineage.emitter` — the background sender (openlineage-python transports);
* :mod:`~steplineage.openlineage.ingest` — RunEvents -> executions, refs, versions (accepting side).

Emission is off by default (``STEPLINEAGE_OPENLINEAGE=true`` turns it on) and
needs ``pip install 'steplineage[openlineage]'``; accepting events needs nothing extra.

Example:
    >>> from steplineage.openlineage.ingest import ingest_events  # doctest: +SKIP
    >>> ingest_events(cat, [event]).accepted  # doctest: +SKIP
    1
"""
