"""What lives on the worker's disk: the durable spool and outbox, caches, atomic writes."""
