"""Every error steplineage raises on purpose.

All of them derive from :class:`SteplineageError`, so one ``except`` catches
them all; each subclass names one kind of problem and its message says what
to do about it::

    SteplineageError
    ├── ConfigurationError            bad settings, missing extra
    │   └── CatalogURLError           malformed or unsupported catalog URL
    ├── CatalogError                  the catalog cannot do what was asked
    │   ├── CatalogSchemaError        schema older than this code: run `steplineage db upgrade`
    │   ├── CatalogUnavailableError   the database cannot be reached (or is too slow) right now
    │   ├── ConcurrentWriteError      another writer inserted the same rows first: retry
    │   └── NotFoundError             unknown workflow / execution / resource / asset / dataset
    │       ├── UnknownResourceError
    │       ├── UnknownAssetTableError
    │       └── UnknownAssetTypeError
    ├── ExecutionError                misuse of an execution
    │   ├── StatusTransitionError     e.g. completed -> running
    │   └── InvalidExecutionIdError   a client-chosen execution id that is not a UUID
    ├── StagingError                  moving files in or out
    │   ├── AssetPathError            a name that would escape the working dir
    │   ├── ChecksumMismatchError     staged content differs from its recorded hash
    │   └── ObjectStoreConflictError  different content under one object-store key
    ├── LineageError
    │   ├── LineageConsistencyError   inputs depend on two versions of one ref
    │   ├── LineageConflictError      independent steps write overlapping refs
    │   └── LineageQueryError         a node id, cap or graph lookup that cannot be answered
    │       └── NodeNotInGraphError   LineageGraph.node() of an id the graph lacks
    ├── MetricsError                  e.g. negative ETL counts
    ├── OpenLineageEventError         an incoming OpenLineage event steplineage cannot record
    ├── RegistryError                 model runs registered after the fact
    │   ├── TemplateError             a workflow template that cannot be right
    │   ├── ModelRunValidationError   records that do not fit their template (every problem listed)
    │   └── CsvFormatError            a model-run CSV that cannot be read (names row and column)
    └── TrackingError                 strict mode: the catalog could not record a step

Example:
    >>> import steplineage as sl
    >>> issubclass(sl.AssetPathError, sl.SteplineageError)
    True
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AssetPathError",
    "CatalogError",
    "CatalogSchemaError",
    "CatalogUnavailableError",
    "ConcurrentWriteError",
    "CatalogURLError",
    "ChecksumMismatchError",
    "ConfigurationError",
    "CsvFormatError",
    "ExecutionError",
    "InvalidExecutionIdError",
    "LineageConflictError",
    "LineageConsistencyError",
    "LineageError",
    "LineageQueryError",
    "MetricsError",
    "ModelRunValidationError",
    "NodeNotInGraphError",
    "NotFoundError",
    "ObjectStoreConflictError",
    "OpenLineageEventError",
    "RegistryError",
    "StagingError",
    "StatusTransitionError",
    "SteplineageError",
    "TemplateError",
    "TrackingError",
    "UnknownAssetTableError",
    "UnknownAssetTypeError",
    "UnknownResourceError",
]


class SteplineageError(Exception):
    """Base class of every error steplineage raises on purpose."""


class ConfigurationError(SteplineageError, ValueError):
    """A setting is wrong or an optional dependency is missing."""


class CatalogURLError(ConfigurationError):
    """The catalog URL cannot be parsed or names an unsupported database."""


class CatalogError(SteplineageError):
    """The catalog cannot carry out the request."""


class CatalogSchemaError(CatalogError):
    """The catalog's schema is not the one this version of steplineage expects."""


class CatalogUnavailableError(CatalogError):
    """The catalog database cannot be reached, or did not answer in time.

    The store raises it in place of the driver's error (kept as ``__cause__``);
    a non-strict step spools what it could not write and carries on.
    """


class ConcurrentWriteError(CatalogError):
    """Another writer inserted the same rows in the same moment; the write can be retried.

    Nothing was written (the transaction rolled back); reading again and
    re-applying the same operations is safe, since every write is idempotent.
    """


class NotFoundError(CatalogError, LookupError):
    """Something asked for by name or id is not in the catalog."""


class UnknownResourceError(NotFoundError):
    """A resource name (or a local path) that no registered resource covers."""


class UnknownAssetTableError(NotFoundError):
    """An asset table that was never created with ``Catalog.create_asset_table``."""


class UnknownAssetTypeError(NotFoundError):
    """An asset type that is not a term of the asset-type vocabulary."""


class ExecutionError(SteplineageError):
    """An execution was used in a way its life cycle does not allow."""


class StatusTransitionError(ExecutionError):
    """A status change the execution state machine forbids."""

    def __init__(self, execution_id: str, current: str, requested: str, allowed: list[str]):
        self.execution_id = execution_id
        self.current = current
        self.requested = requested
        super().__init__(
            f"execution {execution_id}: cannot go from {current!r} to {requested!r}; "
            f"from {current!r} the allowed next statuses are: {', '.join(allowed) or 'none (final)'}"
        )


class InvalidExecutionIdError(ExecutionError):
    """A client-chosen execution id that is not in steplineage's id format (a UUID).

    Ids name working directories, so anything else (``..``, a path) is refused
    before any file or row is touched.
    """


class StagingError(SteplineageError):
    """Files could not be staged into or out of an execution."""


class AssetPathError(StagingError, ValueError):
    """An asset or file name that would place a file outside its directory."""


class ChecksumMismatchError(StagingError):
    """Content read back does not hash to the value the catalog recorded."""

    def __init__(self, what: str, path: Path | str, expected: str, actual: str):
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"checksum mismatch for {what} at {path}: expected sha256 {expected}, got {actual}. "
            "The stored copy was changed or corrupted; restore it or re-register the asset."
        )


class ObjectStoreConflictError(StagingError):
    """An object-store key already holds different content."""


class LineageError(SteplineageError):
    """The lineage a step declares is not coherent."""


class LineageConsistencyError(LineageError):
    """A step depends, directly or transitively, on two versions of one ref."""


class LineageConflictError(LineageError):
    """Two independent steps of one parent execution write overlapping refs."""


class LineageQueryError(LineageError, ValueError):
    """A lineage question asked wrongly: a malformed node id, a cap below 1."""


class NodeNotInGraphError(LineageQueryError, KeyError):
    """:meth:`LineageGraph.node` was asked for an id the graph does not hold."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class MetricsError(SteplineageError, ValueError):
    """Metrics that cannot be right, such as a negative row count."""


class RegistryError(SteplineageError):
    """A model run, workflow template or model-run CSV the registry cannot accept."""


class TemplateError(RegistryError, ValueError):
    """A workflow template whose slots or annotations cannot be right (e.g. a name used twice)."""


class ModelRunValidationError(RegistryError, ValueError):
    """Model-run records that do not fit their template; ``problems`` lists every one.

    Each problem names the record (``row N`` in a batch or CSV) and what to fix;
    nothing was written.
    """

    def __init__(self, problems: list[str], what: str = "model run"):
        self.problems = list(problems)
        shown = self.problems[:50]
        more = len(self.problems) - len(shown)
        super().__init__(
            f"{len(self.problems)} problem(s) with the {what}; nothing was registered. Fix "
            "these and register again:\n  - " + "\n  - ".join(shown)
            + (f"\n  ... and {more} more (see .problems)" if more else ""))


class CsvFormatError(RegistryError, ValueError):
    """A model-run CSV that cannot be read; names the row (1 = header) and column."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        self.row = row
        self.column = column
        where = ", ".join(p for p in (f"row {row}" if row is not None else "",
                                      f"column {column!r}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class OpenLineageEventError(SteplineageError, ValueError):
    """An incoming OpenLineage event is malformed; the message names the field and the problem."""


class TrackingError(SteplineageError):
    """In strict mode: recording a step in the catalog failed, so the step fails too."""
