"""Catalog writes as replayable operations: the one format of every write.

Every change to the catalog is one of the operations below: a pydantic value
with client-generated ids and client-side timestamps. The store applies them
idempotently (:mod:`steplineage.store.apply`), so the same operation can be
written now, or spooled while the catalog is unreachable and replayed later
with the same result.

Example:
    >>> op = StatusChanged(execution_id="e1", seq=3, status="running", message="epoch 2",
    ...                    at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> parse_op(op.model_dump_json()) == op
    True
"""

from __future__ import annotations

from datetime import datetime, timezone  # noqa: F401 - timezone is used by the example
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from steplineage.models import AssetBase
from steplineage.status import Status

__all__ = ["AssetSpec", "EdgeSpec", "EdgesAdded", "ExecutionCreated", "ExecutionUpdated", "Op",
           "OutputsRegistered", "ResourceAdded", "STUB_MESSAGE", "StatusChanged", "parse_op"]

class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: The status message of an execution known only from a child's parent facet (a stub
#: its own events fill in later).
STUB_MESSAGE = "known from a child's parent facet"


class ExecutionCreated(_Op):
    """A new execution row, its workflow (upserted by id), agent and first history row."""

    op: Literal["execution_created"] = "execution_created"
    execution: dict[str, Any] = Field(description="Columns of the executions row.")
    workflow: dict[str, Any] = Field(description="Columns of the workflows row.")
    agent: str | None = Field(default=None, description="User name linked as operator.")
    at: datetime
    fill: bool = Field(default=False, description=(
        "When the execution exists already, fill in the columns it lacks (another source, "
        "e.g. an OpenLineage event, tells more about it) instead of leaving it alone."))


class StatusChanged(_Op):
    """History row ``seq`` of an execution, and the status it moves to."""

    op: Literal["status_changed"] = "status_changed"
    execution_id: str
    seq: int | None = Field(description="History position; None appends after the last.")
    status: Status
    message: str = ""
    at: datetime


class ExecutionUpdated(_Op):
    """Parameters/metrics merged in, results or stop time set."""

    op: Literal["execution_updated"] = "execution_updated"
    execution_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    results: dict[str, Any] | None = None
    stop_time: datetime | None = None


class EdgeSpec(BaseModel):
    """One lineage edge: to a ref version (by hash), an asset or a dataset version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: Literal["input", "output", "code"]
    resource: str | None = None
    subpath: str | None = None
    hash: str | None = None
    hash_kind: str = "sha256"
    length: int | None = None
    asset_id: str | None = None
    dataset_version_id: str | None = None
    valid: bool = True


class EdgesAdded(_Op):
    """Edges of one execution (inputs read, outputs declared)."""

    op: Literal["edges_added"] = "edges_added"
    execution_id: str
    edges: list[EdgeSpec]
    at: datetime


class AssetSpec(AssetBase):
    """An uploaded file to register as an asset (``asset_id``) and link as an output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_id: str
    edge_id: str


class OutputsRegistered(_Op):
    """Completion in one transaction: assets, output versions, final status."""

    op: Literal["outputs_registered"] = "outputs_registered"
    execution_id: str
    assets: list[AssetSpec]
    outputs: list[EdgeSpec] = Field(description="Declared output edges, now with hashes.")
    status: StatusChanged


class ResourceAdded(_Op):
    """A resource registered by name unless one of that name exists (e.g. by ingest)."""

    op: Literal["resource_added"] = "resource_added"
    id: str
    name: str
    uri: str
    role: str
    description: str = ""
    at: datetime


Op = Annotated[ExecutionCreated | StatusChanged | ExecutionUpdated | EdgesAdded |
               OutputsRegistered | ResourceAdded, Field(discriminator="op")]
_OP_ADAPTER: TypeAdapter[Op] = TypeAdapter(Op)


def parse_op(data: str | bytes) -> Op:
    """An operation from its JSON form."""
    return _OP_ADAPTER.validate_json(data)

