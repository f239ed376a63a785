"""Where steplineage keeps things and how strict it is: resolved in one place.

Precedence, first match wins:

1. an argument passed in code (``Catalog(url)``, ``Catalog(object_store=...)``);
2. the Airflow connection ``steplineage_default`` (added by the Airflow adapter);
3. environment variables ``STEPLINEAGE_*``;
4. the embedded default: SQLite at ``$STEPLINEAGE_HOME/catalog.db`` and a
   content-addressed object store at ``$STEPLINEAGE_HOME/objects``, with
   ``STEPLINEAGE_HOME`` defaulting to ``~/.steplineage``.

Example:
    >>> from steplineage.settings import Settings
    >>> s = Settings(home="/tmp/sl")
    >>> s.resolved_catalog_url()
    'sqlite:////tmp/sl/catalog.db'
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConsistencyMode", "Settings", "get_settings"]


class ConsistencyMode(str, Enum):
    """What to do when a step's inputs depend on two versions of one ref."""

    error = "error"
    warn = "warn"
    off = "off"


class Settings(BaseSettings):
    """All steplineage settings; each field can be set as ``STEPLINEAGE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="STEPLINEAGE_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path("~/.steplineage").expanduser(),
        description="Directory for the embedded catalog, object store, caches and working dirs.",
    )
    catalog_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the catalog; default: SQLite at $STEPLINEAGE_HOME/catalog.db.",
    )
    object_store: str | None = Field(
        default=None,
        description="fsspec URL of the object store; default: file://$STEPLINEAGE_HOME/objects.",
    )
    working_root: Path | None = Field(
        default=None,
        description="Parent of execution working dirs; default: $STEPLINEAGE_HOME/work.",
    )
    strict: bool = Field(
        default=False,
        description="Fail the step when tracking fails instead of carrying on.",
    )
    timeout_seconds: float = Field(
        default=5.0,
        description="Longest a catalog connection attempt may take before tracking gives up.",
    )
    statement_timeout_seconds: float = Field(
        default=30.0,
        description="Longest one catalog statement may run on a server catalog.",
    )
    heartbeat_seconds: float = Field(
        default=30.0,
        description="How often a running execution touches its heartbeat.",
    )
    cache_seconds: float = Field(
        default=5.0,
        description="How long a catalog object trusts the workflows and resources it read: a "
                    "workflow switched inactive elsewhere skips steps at most this much later.",
    )
    reap_interval_seconds: float = Field(
        default=600.0,
        description="How often (at most) a process reaps dead executions when one starts; "
                    "0 turns lazy reaping off.",
    )
    spool_max_ops: int = Field(
        default=100_000,
        description="Most operations the local spool keeps while the catalog is unreachable.",
    )
    consistency: ConsistencyMode = Field(
        default=ConsistencyMode.error,
        description="Two versions of one ref upstream of a step: error, warn or off.",
    )
    redact_keys: list[str] = Field(
        default_factory=lambda: ["password", "passwd", "secret", "token", "api_key", "apikey",
                                 "private_key", "credential", "access_key"],
        description="Parameter keys containing any of these words are redacted.",
    )
    ui_url: str | None = Field(
        default=None,
        description="Base URL of the standalone lineage web UI; orchestrator pages link to it.",
    )
    openlineage: bool = Field(
        default=False,
        description="Emit OpenLineage RunEvents for every execution (needs "
                    "steplineage[openlineage]); sent in the background from a local outbox.",
    )
    openlineage_transport: str | None = Field(
        default=None,
        description="openlineage-python transport config as JSON, e.g. "
                    '{"type": "http", "url": "http://host:8765"}; default: openlineage-python\'s '
                    "own configuration (OPENLINEAGE_URL, OPENLINEAGE_CONFIG, openlineage.yml).",
    )
    openlineage_namespace: str = Field(
        default="steplineage",
        description="OpenLineage job namespace of the events steplineage emits.",
    )
    openlineage_outbox_max_events: int = Field(
        default=100_000,
        description="Most OpenLineage events the local outbox keeps while they cannot be sent.",
    )
    openlineage_flush_seconds: float = Field(
        default=5.0,
        description="Longest a process waits at exit for queued OpenLineage events to be sent.",
    )
    progress_min_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="Show a progress bar for transfers larger than this many bytes.",
    )

    def resolved_catalog_url(self) -> str:
        """The catalog URL after applying the embedded default."""
        if self.catalog_url:
            return self.catalog_url
        return f"sqlite:///{(self.home / 'catalog.db').expanduser()}"

    def resolved_object_store(self) -> str:
        """The object-store URL after applying the embedded default."""
        if self.object_store:
            return self.object_store
        return f"file://{(self.home / 'objects').expanduser()}"

    def resolved_working_root(self) -> Path:
        """The directory under which execution working dirs are made."""
        return (self.working_root or self.home / "work").expanduser()


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit values taking precedence.

    ``None`` overrides are ignored so callers can pass their optional arguments
    straight through.

    Example:
        >>> get_settings(catalog_url="sqlite:///x.db").catalog_url
        'sqlite:///x.db'
    """
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
