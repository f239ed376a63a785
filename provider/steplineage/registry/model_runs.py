"""Model runs registered after the fact (Provena's model-run records).

A model run that happened on a laptop, an HPC cluster or in a notebook is
described by a :class:`ModelRunRecord` naming its workflow template, the ids
that fill the template's slots, its annotations and its agents. Registering it
creates a completed execution with the same lineage edges a tracked step
would have had, so every lineage query covers it.

Example:
    >>> rec = ModelRunRecord(template="flood-model", display_name="run 1",
    ...                      start_time="2024-01-01T00:00:00Z", end_time="2024-01-01T01:00:00Z",
    ...                      inputs={"rainfall": "rain@1"}, annotations={"region": "north"})
    >>> rec.end_time.isoformat()
    '2024-01-01T01:00:00+00:00'
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from steplineage.errors import ModelRunValidationError

__all__ = ["BatchResult", "ModelRunInfo", "ModelRunRecord", "ModelRunRevision"]


class ModelRunRecord(BaseModel):
    """One model run as its modeller describes it.

    Slot values by kind: dataset ``name`` or ``name@version`` (latest when no
    version); asset: the asset id; ref: ``resource``, ``resource:subpath``,
    either optionally ``@<sha256>`` (the content hash, when known).
    Times without a zone are taken as UTC.

    Example:
        >>> ModelRunRecord(template="t", display_name="r", start_time="2024-01-01T00:00:00",
        ...                end_time="2024-01-01T00:00:05").start_time.tzinfo
        datetime.timezone.utc
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str = Field(description="Workflow template name or id.")
    display_name: str = Field(min_length=1, max_length=255, description="Name of the run.")
    description: str = Field(default="", description="Free text.")
    start_time: datetime = Field(description="When the run started.")
    end_time: datetime = Field(description="When the run ended.")
    inputs: dict[str, str] = Field(default_factory=dict, description="Input slot -> id.")
    outputs: dict[str, str] = Field(default_factory=dict, description="Output slot -> id.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Key -> value.")
    agents: dict[str, str] = Field(default_factory=dict, description=(
        "Role -> agent name (registered with cat.add_agent)."))

    def __init__(self, **data: Any):
        # Built directly by users: say what is wrong in our error, not pydantic's.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ModelRunValidationError(
                [f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
                 for e in exc.errors()]) from None

    @field_validator("start_time", "end_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _order(self) -> ModelRunRecord:
        if self.end_time < self.start_time:
            raise ValueError(f"end_time {self.end_time.isoformat()} is before start_time "
                             f"{self.start_time.isoformat()}")
        return self

    @property
    def duration_seconds(self) -> float:
        """How long the run took."""
        return (self.end_time - self.start_time).total_seconds()


class BatchResult(BaseModel):
    """What registering a batch returns: its id and the new runs' ids, in record order."""

    model_config = ConfigDict(frozen=True)

    batch_id: str = Field(description="Id of the batch (regenerate_csv_from_batch takes it).")
    run_ids: list[str] = Field(description="Execution ids, one per record, in order.")


class ModelRunRevision(BaseModel):
    """An earlier version of a run's record and why it was replaced."""

    model_config = ConfigDict(frozen=True)

    revision: int = Field(description="1 = the record as first registered.")
    reason: str = Field(description="Why it was replaced.")
    replaced_at: datetime = Field(description="When it was replaced (UTC).")
    record: ModelRunRecord = Field(description="The record as it was.")


class ModelRunInfo(BaseModel):
    """A registered model run: its current record and its audit trail."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    template: str
    batch_id: str | None = None
    batch_row: int | None = None
    revision: int = Field(description="Revision of the current record (1 = never updated).")
    record: ModelRunRecord
    history: list[ModelRunRevision] = Field(default_factory=list, description="Oldest first.")


def parse_record(raw: ModelRunRecord | dict[str, Any]) -> ModelRunRecord:
    """``raw`` as a record (pydantic errors propagate for the caller to collect)."""
    return raw if isinstance(raw, ModelRunRecord) else ModelRunRecord.model_validate(raw)
