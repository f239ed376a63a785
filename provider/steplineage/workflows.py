"""Workflow records computed from code alone: deterministic ids, source checksum, git URL.

The same code registers once on any host, and a step that starts while the
catalog is unreachable still knows its workflow's id.

Example:
    >>> describe_workflow("etl", "script", version="2").id == describe_workflow(
    ...     "etl", "script", version="2").id
    True
"""

from __future__ import annotations

import uuid
from pathlib import Path

from steplineage.models import WorkflowRecord, WorkflowType

__all__ = ["describe_workflow", "workflow_id"]

_WORKFLOW_NAMESPACE = uuid.UUID("6f1c1b52-5b7e-4d8c-9d0e-2c1e5f7a9b10")


def describe_workflow(name: str, workflow_type: WorkflowType | str = WorkflowType.script,
                      url: str | None = None, version: str | None = None, description: str = "",
                      source: str | Path | None = None, active: bool = True) -> WorkflowRecord:
    """The record :meth:`Catalog.add_workflow` stores, computed without a catalog.

    A step that starts while the catalog is unreachable still knows its workflow's
    id this way (the id is deterministic), so its spooled records replay onto it.

    Example:
        >>> describe_workflow("etl", "script", version="2").id == describe_workflow(
        ...     "etl", "script", version="2").id
        True
    """
    workflow_type = WorkflowType(workflow_type).value
    checksum = dirty = None
    if source is not None:
        from steplineage.gitinfo import source_info

        info = source_info(source)
        checksum, dirty = info.checksum, info.dirty
        url = url or info.url
        version = version or (info.commit[:12] if info.commit else None)
    return WorkflowRecord(id=workflow_id(name, workflow_type, version, url, checksum), name=name,
                          workflow_type=workflow_type, version=version, url=url,
                          checksum=checksum, description=description, active=active,
                          dirty=dirty)


def workflow_id(name: str, workflow_type: str, version: str | None, url: str | None,
                checksum: str | None) -> str:
    """The deterministic id of a workflow: the same code registers once, on any host."""
    key = "\0".join(str(p) for p in (name, workflow_type, version, url, checksum))
    return str(uuid.uuid5(_WORKFLOW_NAMESPACE, key))
