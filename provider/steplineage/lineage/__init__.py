"""Lineage: the graph model and the queries that fill it (``cat.lineage``)."""

from steplineage.lineage.graph import LineageGraph, LineageGraphEdge, LineageNode
from steplineage.lineage.queries import Lineage

__all__ = ["Lineage", "LineageGraph", "LineageGraphEdge", "LineageNode"]
