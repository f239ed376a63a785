"""Values that cross steplineage's boundary: configs in, records out.

Configs (``ExecutionConfig``, ``DatasetSpec``) forbid unknown fields so a typo
fails loudly; records are frozen snapshots of catalog rows.

Example:
    >>> import steplineage as sl
    >>> sl.ResourceRef("raw").covers(sl.ResourceRef("raw", "jan.csv"))
    True
    >>> sl.ExecutionConfig(workflow="train", parameters={"gamma": 0.01}).upload
    'auto'
"""

from __future__ import annotations

import posixpath
import uuid
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from dataclasses import dataclass

from steplineage.errors import InvalidExecutionIdError
from steplineage.status import Status

__all__ = [
    "AssetBase",
    "AssetRecord",
    "DatasetSpec",
    "ETLMetrics",
    "EdgeRole",
    "ExecutionConfig",
    "ExecutionContext",
    "ExecutionFilter",
    "ExecutionRecord",
    "ExecutionResults",
    "LineageEdgeRecord",
    "OrchestratorIdentity",
    "ResourceRecord",
    "ResourceRef",
    "ResourceRole",
    "StatusChange",
    "Visibility",
    "WorkflowRecord",
    "WorkflowType",
]


class WorkflowType(str, Enum):
    """What kind of code a workflow is."""

    airflow_dag = "airflow-dag"
    prefect_flow = "prefect-flow"
    script = "script"
    notebook = "notebook"
    manual = "manual"


class ResourceRole(str, Enum):
    """What a resource holds (Data Workspaces' roles)."""

    source_data = "source-data"
    intermediate_data = "intermediate-data"
    results = "results"
    code = "code"


class EdgeRole(str, Enum):
    """How an execution relates to a version, asset or dataset."""

    input = "input"
    output = "output"
    code = "code"


@dataclass(frozen=True)
class ResourceRef:
    """A resource, or a path inside one, that a step reads or writes.

    Args:
        name: the registered resource's name.
        subpath: a relative ``/``-separated path inside the resource, or None
            for the whole resource.

    Example:
        >>> ResourceRef("raw", "2024/jan.csv")
        ResourceRef(name='raw', subpath='2024/jan.csv')
    """

    name: str
    subpath: str | None = None

    def __post_init__(self) -> None:
        from steplineage.errors import AssetPathError

        if not isinstance(self.name, str) or (self.subpath is not None
                                              and not isinstance(self.subpath, str)):
            raise AssetPathError(f"ResourceRef takes strings, got {self.name!r}, "
                                 f"{self.subpath!r}")
        if not self.name or "/" in self.name or "\0" in self.name:
            raise AssetPathError(f"resource name {self.name!r} must be non-empty and contain no '/'")
        if self.subpath is not None:
            normalised = posixpath.normpath(self.subpath.replace("\\", "/")).strip("/")
            if (self.subpath.startswith("/") or normalised.startswith("..")
                    or normalised in ("", ".") or "\0" in normalised):
                raise AssetPathError(
                    f"subpath {self.subpath!r} of resource {self.name!r} must be a relative path "
                    "inside the resource (no leading '/', no '..'); use None for the whole resource"
                )
            object.__setattr__(self, "subpath", normalised)

    def covers(self, other: ResourceRef) -> bool:
        """True if this ref is strictly higher in the hierarchy than ``other``.

        Same resource and either this ref is the whole resource and the other a
        subpath, or this subpath is a proper parent directory of the other's.

        Example:
            >>> ResourceRef("r", "a").covers(ResourceRef("r", "a/b"))
            True
            >>> ResourceRef("r", "a").covers(ResourceRef("r", "ab"))
            False
        """
        if self.name != other.name or other.subpath is None or self.subpath == other.subpath:
            return False
        if self.subpath is None:
            return True
        return other.subpath.startswith(self.subpath + "/")

    def overlaps(self, other: ResourceRef) -> bool:
        """True if the two refs name the same data or one contains the other."""
        return self == other or self.covers(other) or other.covers(self)

    def __str__(self) -> str:
        return self.name if self.subpath is None else f"{self.name}:{self.subpath}"


class DatasetSpec(BaseModel):
    """A dataset version an execution reads.

    Args:
        name: dataset name.
        version: version number; None means the latest.
        materialize: copy member files into the working dir (False: metadata only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Dataset name.")
    version: int | None = Field(default=None, description="Dataset version; None = latest.")
    materialize: bool = Field(default=True, description="Download member files, or metadata only.")


class OrchestratorIdentity(BaseModel):
    """Which orchestrator run this execution is (Airflow or Prefect ids)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    orchestrator: Literal["airflow", "prefect"] | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    flow_run_id: str | None = None
    task_run_id: str | None = None
    run_count: int | None = None


InputSpec = ResourceRef | str | Path


class ExecutionConfig(BaseModel):
    """Everything needed to start an execution (DerivaML's ExecutionConfiguration).

    Example:
        >>> cfg = ExecutionConfig(workflow="train", inputs=[ResourceRef("raw", "jan.csv")],
        ...                       parameters={"gamma": 0.01}, description="nightly")
        >>> cfg.inputs[0]
        ResourceRef(name='raw', subpath='jan.csv')
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    workflow: str | WorkflowRecord | None = Field(
        default=None, description="Workflow name or record; created as a script workflow if new."
    )
    name: str | None = Field(default=None, description="Step name; defaults to the workflow name.")
    description: str = Field(default="", description="Free text shown with the execution.")
    inputs: list[InputSpec] = Field(
        default_factory=list, description="Refs or local paths read by the step."
    )
    outputs: list[InputSpec] = Field(
        default_factory=list, description="Refs or local paths the step will write."
    )
    code: list[InputSpec] = Field(
        default_factory=list, description="Refs or local paths of code the step runs."
    )
    datasets: list[DatasetSpec | str] = Field(
        default_factory=list, description="Dataset versions to stage into the working dir."
    )
    assets: list[str] = Field(
        default_factory=list, description="Asset ids to download and verify into the working dir."
    )
    parameters: dict[str, Any] = Field(default_factory=dict, description="Step parameters.")
    results: InputSpec | None = Field(
        default=None, description="Where write_results puts results.json (ref or local dir)."
    )
    parent_execution_id: str | None = Field(default=None, description="Enclosing execution.")
    upload: Literal["auto", "manual"] = Field(
        default="auto",
        description="'auto' uploads outputs on clean exit; 'manual' waits for "
        "upload_execution_outputs().",
    )
    watermark: str | None = Field(default=None, description="Where this run starts (Watcher).")
    next_watermark: str | None = Field(default=None, description="Where the next run starts.")
    working_dir: Path | None = Field(default=None, description="Override the working dir.")
    orchestrator: OrchestratorIdentity | None = Field(
        default=None, description="Airflow/Prefect identity of the run."
    )
    execution_id: str | None = Field(
        default=None, description="Client-chosen id; re-creating with the same id is idempotent."
    )

    @field_validator("execution_id")
    @classmethod
    def _check_execution_id(cls, value: str | None) -> str | None:
        return None if value is None else canonical_execution_id(value)

    @field_validator("watermark", "next_watermark", mode="before")
    @classmethod
    def _stringify_watermark(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return None if value is None else str(value)


def canonical_execution_id(value: str) -> str:
    """An execution id in its canonical form (a lowercase hyphenated UUID).

    Raises:
        InvalidExecutionIdError: ``value`` is not a UUID (ids name directories,
            so ``..`` or a path must never get through).

    Example:
        >>> canonical_execution_id("11111111-2222-3333-4444-55555555555A")
        '11111111-2222-3333-4444-55555555555a'
    """
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) and len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value.lower():
        raise InvalidExecutionIdError(
            f"execution id {value!r} is not a uuid: pass str(uuid.uuid4()) (or a uuid5 of your "
            "run's identity), or leave execution_id unset to get a fresh one")
    return str(parsed)


class WorkflowRecord(BaseModel):
    """A workflow row: the code that executions run."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    workflow_type: str
    version: str | None = None
    url: str | None = None
    checksum: str | None = None
    description: str = ""
    active: bool = True
    dirty: bool | None = None


class StatusChange(BaseModel):
    """One row of an execution's status history."""

    model_config = ConfigDict(frozen=True)

    seq: int
    status: Status
    message: str
    at: datetime


class ExecutionRecord(BaseModel):
    """An execution row with its status history."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    workflow_id: str | None
    parent_id: str | None
    status: Status
    status_message: str
    description: str
    created_at: datetime
    start_time: datetime | None
    stop_time: datetime | None
    duration_seconds: float | None
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    results: dict[str, Any] | None
    watermark: str | None
    next_watermark: str | None
    host: str | None
    user: str | None
    working_dir: str | None
    orchestrator: OrchestratorIdentity
    history: list[StatusChange] = Field(default_factory=list)


@dataclass(frozen=True)
class Visibility:
    """Which executions a reader may see: a filter the store applies in its queries.

    The web app derives it from its viewer (Airflow's authorized DAGs, a token);
    the store knows nothing of viewers, only of this value.

    Args:
        dag_ids: the DAGs whose executions are visible; None means every DAG.
        include_non_airflow: whether executions of no DAG (Prefect runs, scripts) are.

    Example:
        >>> v = Visibility(frozenset({"etl"}), include_non_airflow=False)
        >>> v.allows("etl"), v.allows("billing"), v.allows(None)
        (True, False, False)
    """

    dag_ids: frozenset[str] | None = None
    include_non_airflow: bool = True

    def allows(self, dag_id: str | None) -> bool:
        """Whether executions of ``dag_id`` (None: of no DAG) are visible.

        Example:
            >>> Visibility().allows("any_dag")
            True
        """
        if dag_id is None:
            return self.include_non_airflow
        return self.dag_ids is None or dag_id in self.dag_ids


@dataclass(frozen=True)
class ExecutionFilter:
    """Filters of an executions list; None (or False) means "any".

    Example:
        >>> ExecutionFilter(dag_id="etl", status=Status.failed).run_id is None
        True
    """

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: the execution's name contains this (``%`` and ``_`` are literal)
    text: str | None = None
    parent_id: str | None = None
    #: only executions without a parent (DAG runs, pipelines, lone steps)
    top_level: bool = False


class ResourceRecord(BaseModel):
    """A registered resource."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    uri: str
    role: str
    description: str = ""


class AssetBase(BaseModel):
    """What an asset is wherever it appears: a catalog record, the operation registering it.

    Example:
        >>> AssetBase(asset_table="Model", url="file:///o/ab", filename="best.pt", length=7,
        ...           md5="0" * 32, sha256="0" * 64).asset_types
        []
    """

    model_config = ConfigDict(frozen=True)

    asset_table: str
    url: str
    filename: str
    length: int
    md5: str
    sha256: str
    description: str = ""
    asset_types: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class AssetRecord(AssetBase):
    """A file in the object store (DerivaML asset table row)."""

    id: str


class LineageEdgeRecord(BaseModel):
    """One (execution, thing, role) edge."""

    model_config = ConfigDict(frozen=True)

    execution_id: str
    role: EdgeRole
    valid: bool
    ref: ResourceRef | None = None
    version_hash: str | None = None
    asset_id: str | None = None
    dataset_version_id: str | None = None


class ETLMetrics(BaseModel):
    """Row counts an ETL step reports (Watcher); counts must not be negative.

    Subclass it to report more fields; they come back in ``ExecutionResults``.

    Example:
        >>> ETLMetrics(inserts=10, total_rows=10).inserts
        10
    """

    inserts: int | None = Field(default=None, ge=0, description="Rows inserted.")
    updates: int | None = Field(default=None, ge=0, description="Rows updated.")
    soft_deletes: int | None = Field(default=None, ge=0, description="Rows soft-deleted.")
    total_rows: int | None = Field(default=None, ge=0, description="Rows in the target after.")
    execution_metadata: dict[str, Any] | None = Field(default=None, description="Anything else.")

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            from steplineage.errors import MetricsError

            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise MetricsError(f"invalid ETL metrics ({problems}); counts are whole numbers "
                               ">= 0, or None when not measured") from None


class ExecutionResults(BaseModel):
    """What a ``track_pipeline_execution`` function returns to its caller."""

    model_config = ConfigDict(frozen=True)

    execution_id: str
    status: Status
    metrics: ETLMetrics | None = None


class ExecutionContext(BaseModel):
    """Injected into a tracked function that has a parameter annotated with it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    execution_id: str
    workflow: str
    pipeline_id: str | None = Field(default=None, description="The synced pipeline, if any.")
    watermark: str | None = None
    next_watermark: str | None = None
    parent_execution_id: str | None = None
    execution: Any = Field(default=None, exclude=True, description="The live Execution.")


ExecutionConfig.model_rebuild()
