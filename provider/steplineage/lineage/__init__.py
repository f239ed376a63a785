"""Lineage: the graph model and the queries that fill it (``cat.lineage``).

``Lineage`` is loaded on first use: the graph values (``steplineage.lineage.graph``)
are used where no catalog is (exports, the web page's JSON), and importing them
must not pull in SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from steplineage.lineage.graph import LineageGraph, LineageGraphEdge, LineageNode

if TYPE_CHECKING:
    from steplineage.lineage.queries import Lineage

__all__ = ["Lineage", "LineageGraph", "LineageGraphEdge", "LineageNode"]


def __getattr__(name: str) -> Any:
    if name == "Lineage":
        return importlib.import_module("steplineage.lineage.queries").Lineage
    raise AttributeError(f"module 'steplineage.lineage' has no attribute {name!r}")
