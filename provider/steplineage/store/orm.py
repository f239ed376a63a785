"""The catalog's tables as SQLAlchemy 2 typed ORM classes.

The schema itself is created and changed only by the Alembic migrations in
``steplineage/store/migrations``; these classes must agree with them (a test
compares the two).

Lineage is one table of edges, ``lineage_edges``: an execution reads (input),
writes (output) or runs (code) exactly one of a ref version, an asset or a
dataset version. Keeping every kind of edge in one table lets lineage queries
be a single recursive CTE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from steplineage.ids import new_id, utcnow

__all__ = [
    "Agent",
    "Asset",
    "AssetTable",
    "AssetType",
    "AssetTypeLink",
    "Base",
    "Dataset",
    "DatasetMember",
    "DatasetVersion",
    "Execution",
    "ExecutionAgent",
    "LineageEdge",
    "ModelRun",
    "ModelRunBatch",
    "ModelRunRevision",
    "Pipeline",
    "Resource",
    "StatusHistory",
    "Version",
    "Workflow",
    "WorkflowTemplate",
    "new_id",
    "utcnow",
]

# Plain JSON (text) on every database: JSONB would turn 6.4e16 into an integer, and
# what a step recorded must come back exactly as it was.
JSONType = JSON()


class Base(DeclarativeBase):
    """Declarative base of every catalog table."""

    type_annotation_map = {dict[str, Any]: JSONType, datetime: DateTime(timezone=True)}


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_name", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    workflow_type: Mapped[str] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    dirty: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_workflow_created", "workflow_id", "created_at"),
        Index("ix_executions_parent", "parent_id"),
        Index("ix_executions_status", "status"),
        Index("ix_executions_dag_created", "dag_id", "created_at"),
        Index("ix_executions_flow_run", "flow_run_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    workflow_id: Mapped[str | None] = mapped_column(ForeignKey("workflows.id"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("executions.id"))
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    start_time: Mapped[datetime | None]
    stop_time: Mapped[datetime | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[datetime | None]
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    watermark: Mapped[str | None] = mapped_column(Text)
    next_watermark: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    user: Mapped[str | None] = mapped_column(String(255))
    working_dir: Mapped[str | None] = mapped_column(Text)
    orchestrator: Mapped[str | None] = mapped_column(String(16))
    dag_id: Mapped[str | None] = mapped_column(String(250))
    run_id: Mapped[str | None] = mapped_column(String(250))
    task_id: Mapped[str | None] = mapped_column(String(250))
    map_index: Mapped[int | None] = mapped_column(Integer)
    try_number: Mapped[int | None] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    task_run_id: Mapped[str | None] = mapped_column(String(64))
    run_count: Mapped[int | None] = mapped_column(Integer)

    history: Mapped[list[StatusHistory]] = relationship(
        order_by="StatusHistory.seq", cascade="all, delete-orphan", lazy="select"
    )


class StatusHistory(Base):
    __tablename__ = "status_history"
    __table_args__ = (UniqueConstraint("execution_id", "seq", name="uq_status_history_seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    uri: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Version(Base):
    """What one ref held: a content hash, or a placeholder when content can't be read."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("resource_id", "subpath", "hash", name="uq_versions_ref_hash"),
        Index("ix_versions_ref", "resource_id", "subpath"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    # '' (not NULL) for the whole resource, so the unique constraint holds on every database.
    subpath: Mapped[str] = mapped_column(Text, default="")
    hash: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # 'sha256' or 'placeholder'
    length: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetTable(Base):
    __tablename__ = "asset_tables"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class AssetType(Base):
    __tablename__ = "asset_types"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("asset_table", "sha256", "filename", name="uq_assets_content"),
        Index("ix_assets_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    asset_table: Mapped[str] = mapped_column(ForeignKey("asset_tables.name"))
    url: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    length: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    asset_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    types: Mapped[list[AssetTypeLink]] = relationship(cascade="all, delete-orphan",
                                                      lazy="selectin")


class AssetTypeLink(Base):
    __tablename__ = "asset_type_links"

    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"),
                                          primary_key=True)
    type_name: Mapped[str] = mapped_column(ForeignKey("asset_types.name"), primary_key=True)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_dataset_versions"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetMember(Base):
    __tablename__ = "dataset_members"
    __table_args__ = (
        CheckConstraint("(asset_id IS NULL) <> (version_id IS NULL)", name="ck_member_one_target"),
        Index("ix_dataset_members_dv", "dataset_version_id"),
        Index("ix_dataset_members_version", "version_id"),
        Index("ix_dataset_members_asset", "asset_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    dataset_version_id: Mapped[str] = mapped_column(ForeignKey("dataset_versions.id"))
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    version_id: Mapped[str | None] = mapped_column(ForeignKey("versions.id"))


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # person, organisation, service
    description: Mapped[str] = mapped_column(Text, default="")


class ExecutionAgent(Base):
    __tablename__ = "execution_agents"
    __table_args__ = (Index("ix_execution_agents_agent", "agent_id"),)

    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"),
                                              primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), default="operator")


class LineageEdge(Base):
    """An execution read, wrote or ran one thing.

    Output edges start ``valid=False`` when declared and become valid only when
    the execution completes and the content has been hashed; a failed or
    aborted step leaves them invalid (Data Workspaces' "unknown" state).
    """

    __tablename__ = "lineage_edges"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN asset_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN dataset_version_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN resource_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_edge_one_target",
        ),
        Index("ix_edges_execution", "execution_id", "role"),
        Index("ix_edges_version", "version_id", "role"),
        Index("ix_edges_asset", "asset_id", "role"),
        Index("ix_edges_dataset_version", "dataset_version_id", "role"),
        Index("ix_edges_ref", "resource_id", "subpath"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    resource_id: Mapped[str | None] = mapped_column(ForeignKey("resources.id"))
    subpath: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(ForeignKey("versions.id"))
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    dataset_version_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_versions.id"))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- registry (migration 0003): model runs registered after the fact, pipeline configs --


class WorkflowTemplate(Base):
    """A workflow's declared input/output slots and annotations (Provena's template)."""

    __tablename__ = "workflow_templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelRunBatch(Base):
    __tablename__ = "model_run_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("workflow_templates.id"))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelRun(Base):
    """An execution registered from a model-run record; ``record`` is the record as given."""

    __tablename__ = "model_runs"
    __table_args__ = (Index("ix_model_runs_batch", "batch_id", "batch_row"),)

    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"),
                                              primary_key=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("workflow_templates.id"))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("model_run_batches.id"))
    batch_row: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelRunRevision(Base):
    """An earlier version of a model run's record and why it was replaced (the audit trail)."""

    __tablename__ = "model_run_revisions"
    __table_args__ = (UniqueConstraint("execution_id", "revision", name="uq_model_run_revisions"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Pipeline(Base):
    """A Watcher pipeline config: the workflow of the same name plus its switch and watermarks."""

    __tablename__ = "pipelines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    default_watermark: Mapped[str | None] = mapped_column(Text)
    next_watermark: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
