"""steplineage: step-level execution provenance and data lineage for Airflow and Prefect.

Importing the package is cheap (it runs in every task process): names are
loaded from their modules on first use.

Example:
    >>> import steplineage as sl
    >>> sl.ResourceRef("raw", "jan.csv")
    ResourceRef(name='raw', subpath='jan.csv')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Catalog": "steplineage.catalog.catalog",
    "Execution": "steplineage.tracking.execution",
    "LineageBuilder": "steplineage.lineage_builder",
    "track_pipeline_execution": "steplineage.pipeline_decorator",
    "Settings": "steplineage.settings",
    "Status": "steplineage.status",
    **{name: "steplineage.lineage.graph" for name in (
        "LineageGraph", "LineageGraphEdge", "LineageNode")},
    **{name: "steplineage.models" for name in (
        "AssetRecord", "DatasetSpec", "ETLMetrics", "EdgeRole", "ExecutionConfig",
        "ExecutionContext", "ExecutionRecord", "ExecutionResults", "LineageEdgeRecord",
        "OrchestratorIdentity", "ResourceRecord", "ResourceRef", "ResourceRole", "StatusChange",
        "WorkflowRecord", "WorkflowType")},
    **{name: "steplineage.registry.templates" for name in (
        "SlotKind", "TemplateSlot", "WorkflowTemplate")},
    **{name: "steplineage.registry.model_runs" for name in (
        "BatchResult", "ModelRunInfo", "ModelRunRecord", "ModelRunRevision")},
    **{name: "steplineage.registry.csv_io" for name in (
        "generate_csv_template", "import_model_runs_csv", "regenerate_csv_from_batch")},
    **{name: "steplineage.registry.pipelines" for name in ("PipelineConfig", "PipelineRecord")},
    **{name: "steplineage.registry.agents" for name in ("AgentLink", "AgentRecord")},
    **{name: "steplineage.registry.health" for name in ("HealthCheck", "HealthReport")},
    **{name: "steplineage.errors" for name in (
        "AssetPathError", "CatalogError", "CatalogSchemaError", "CatalogURLError",
        "CatalogUnavailableError", "ConcurrentWriteError",
        "ChecksumMismatchError", "ConfigurationError", "CsvFormatError", "ExecutionError",
        "InvalidExecutionIdError",
        "LineageConflictError", "LineageConsistencyError", "LineageError", "MetricsError",
        "LineageQueryError", "NodeNotInGraphError",
        "ModelRunValidationError", "NotFoundError", "RegistryError", "TemplateError",
        "ObjectStoreConflictError", "OpenLineageEventError", "StagingError",
        "StatusTransitionError", "SteplineageError",
        "TrackingError", "UnknownAssetTableError", "UnknownAssetTypeError", "UnknownResourceError")},
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'steplineage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from steplineage.catalog.catalog import Catalog
    from steplineage.errors import (AssetPathError, CatalogError, CatalogSchemaError,
                                    CatalogUnavailableError, ConcurrentWriteError,
                                    CatalogURLError, ChecksumMismatchError, ConfigurationError,
                                    ExecutionError, InvalidExecutionIdError,
                                    LineageConflictError,
                                    LineageConsistencyError, LineageError,
                                    LineageQueryError, MetricsError, NodeNotInGraphError,
                                    NotFoundError, ObjectStoreConflictError,
                                    OpenLineageEventError, StagingError,
                                    StatusTransitionError, SteplineageError,
                                    TrackingError, UnknownAssetTableError, UnknownAssetTypeError,
                                    UnknownResourceError)
    from steplineage.errors import (CsvFormatError, ModelRunValidationError, RegistryError,
                                    TemplateError)
    from steplineage.tracking.execution import Execution
    from steplineage.lineage.graph import LineageGraph, LineageGraphEdge, LineageNode
    from steplineage.lineage_builder import LineageBuilder
    from steplineage.models import (AssetRecord, DatasetSpec, EdgeRole, ETLMetrics,
                                    ExecutionConfig, ExecutionContext, ExecutionRecord,
                                    ExecutionResults, LineageEdgeRecord, OrchestratorIdentity,
                                    ResourceRecord, ResourceRef, ResourceRole, StatusChange,
                                    WorkflowRecord, WorkflowType)
    from steplineage.registry.agents import AgentLink, AgentRecord
    from steplineage.registry.csv_io import (generate_csv_template, import_model_runs_csv,
                                             regenerate_csv_from_batch)
    from steplineage.registry.health import HealthCheck, HealthReport
    from steplineage.registry.model_runs import (BatchResult, ModelRunInfo, ModelRunRecord,
                                                 ModelRunRevision)
    from steplineage.registry.pipelines import PipelineConfig, PipelineRecord
    from steplineage.registry.templates import SlotKind, TemplateSlot, WorkflowTemplate
    from steplineage.settings import Settings
    from steplineage.status import Status
    from steplineage.pipeline_decorator import track_pipeline_execution
