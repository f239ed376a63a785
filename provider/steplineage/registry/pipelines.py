"""Pipeline configs (Watcher): a named pipeline with an on/off switch and watermark settings.

``cat.sync_pipeline_config(config)`` creates the pipeline or updates it, every
time the code starts, and returns what the catalog holds now, including the
``active`` flag an operator may have switched off since. The pipeline's
executions belong to the workflow of the same name; the watermark of a run is
the ``next_watermark`` of the pipeline's last completed run (the config's
``default_watermark`` for the first run).

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> synced = cat.sync_pipeline_config(sl.PipelineConfig(name="orders",
    ...                                                     default_watermark="2024-01-01"))
    >>> synced.active, synced.default_watermark
    (True, '2024-01-01')
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from steplineage.errors import NotFoundError

if TYPE_CHECKING:  # the store is imported where used: the models stay free of SQLAlchemy
    from steplineage.registry.ports import RegistryCatalog
    from steplineage.store.pipelines import PipelineRow
    from steplineage.store.store import Store

__all__ = ["PipelineConfig", "PipelineRecord", "get_pipeline", "last_watermark",
           "list_pipelines", "set_pipeline_active", "sync_pipeline_config"]

_NAMESPACE = uuid.UUID("3c8e2f4a-9d1b-4e6f-a2c7-8b5d0f1e3a64")


class PipelineConfig(BaseModel):
    """A pipeline as its code declares it.

    ``active=None`` (the default) keeps whatever the catalog holds (True for a
    new pipeline), so an operator's switch survives the next deploy; a bool sets it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=255, description="Pipeline (= workflow) name.")
    description: str = Field(default="", description="What the pipeline does.")
    active: bool | None = Field(default=None, description="Set the switch; None keeps it.")
    default_watermark: str | None = Field(default=None, description=(
        "The watermark of the first run (before any run completed)."))
    next_watermark: Literal["now"] | None = Field(default=None, description=(
        "'now': a run's next_watermark is its start time (UTC, ISO 8601) unless the "
        "decorator gives one."))

    @field_validator("default_watermark", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return None if value is None else str(value)


class PipelineRecord(BaseModel):
    """A synced pipeline: its id and the catalog's current settings."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str
    active: bool
    default_watermark: str | None
    next_watermark: str | None

    @property
    def pipeline(self) -> PipelineRecord:
        """Watcher's ``synced_config.pipeline.id`` spelling."""
        return self


def pipeline_id(name: str) -> str:
    """The deterministic id of the pipeline called ``name``.

    Example:
        >>> pipeline_id("orders")
        '09d7520e-0a24-534a-993c-c09bf273fe12'
    """
    return str(uuid.uuid5(_NAMESPACE, name))


def _record(row: PipelineRow) -> PipelineRecord:
    return PipelineRecord.model_validate(row, from_attributes=True)


def sync_pipeline_config(catalog: RegistryCatalog, config: PipelineConfig) -> PipelineRecord:
    """Create or update the pipeline (idempotent); returns the catalog's current state.

    Example:
        >>> sync_pipeline_config(cat, PipelineConfig(name="orders")).active  # doctest: +SKIP
        True
    """
    from steplineage.store.pipelines import PipelineRow, sync_pipeline

    catalog.add_workflow(config.name, workflow_type="script", description=config.description)
    return _record(sync_pipeline(catalog.store, PipelineRow(
        id=pipeline_id(config.name), name=config.name, description=config.description,
        active=True if config.active is None else config.active,
        default_watermark=config.default_watermark, next_watermark=config.next_watermark),
        keep_active=config.active is None))


def get_pipeline(store: Store, name_or_id: str) -> PipelineRecord:
    """A pipeline by id or name.

    Raises:
        NotFoundError: no such pipeline.

    Example:
        >>> get_pipeline(cat.store, "orders").id  # doctest: +SKIP
        '09d7520e-0a24-534a-993c-c09bf273fe12'
    """
    from steplineage.store.pipelines import find_pipeline

    row = find_pipeline(store, name_or_id, pipeline_id(name_or_id))
    if row is None:
        raise NotFoundError(f"no pipeline {name_or_id!r}: create it with "
                            "cat.sync_pipeline_config(sl.PipelineConfig(name=...))")
    return _record(row)


def list_pipelines(store: Store) -> list[PipelineRecord]:
    """Every pipeline, by name.

    Example:
        >>> [p.name for p in list_pipelines(cat.store)]  # doctest: +SKIP
        ['orders']
    """
    from steplineage.store import pipelines

    return [_record(r) for r in pipelines.list_pipelines(store)]


def set_pipeline_active(store: Store, name_or_id: str, active: bool) -> PipelineRecord:
    """Switch a pipeline on or off (off: its runs are recorded as skipped and do not run).

    Example:
        >>> set_pipeline_active(cat.store, "orders", False).active  # doctest: +SKIP
        False
    """
    from steplineage.store import pipelines

    row = pipelines.set_pipeline_active(store, get_pipeline(store, name_or_id).id, active)
    assert row is not None  # pipelines are never deleted
    return _record(row)


def last_watermark(store: Store, workflow: str) -> str | None:
    """The ``next_watermark`` of the newest completed run of ``workflow`` that set one.

    Example:
        >>> last_watermark(cat.store, "orders")  # doctest: +SKIP
        '2024-05-01T00:00:00+00:00'
    """
    from steplineage.store import pipelines

    return pipelines.last_watermark(store, workflow)
