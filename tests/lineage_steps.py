"""``Steps``: known pipelines over placeholder refs in a non-file resource (fast, exact).

A module of its own (not conftest) so test modules in any directory can import
it (``tests/`` is on the path) without clashing with the directories' conftest modules.
"""

from __future__ import annotations

from typing import Any

import steplineage as sl

__all__ = ["Steps"]


class Steps:
    """Known graphs: ``step("join", reads=["b", "c"], writes=["d"])`` records one execution."""

    def __init__(self, cat: sl.Catalog):
        self.cat = cat
        cat.add_resource("db", uri="postgresql://warehouse/analytics", role="intermediate-data")
        self.ids: dict[str, str] = {}

    def step(self, name: str, reads: list[str] = (), writes: list[str] = (),  # type: ignore[assignment]
             code: list[str] = (), fail: bool = False, **config: Any) -> str:  # type: ignore[assignment]
        cfg = sl.ExecutionConfig(workflow=name, inputs=[sl.ResourceRef("db", r) for r in reads],
                                 outputs=[sl.ResourceRef("db", w) for w in writes],
                                 code=[sl.ResourceRef("db", c) for c in code], **config)
        try:
            with self.cat.create_execution(cfg) as exe:
                if fail:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass
        self.ids[name] = exe.id
        return exe.id

    def v(self, ref: str) -> str:
        """Node id of the current version of ``db:<ref>``."""
        return f"version:{self.cat.lineage.current_version_id(sl.ResourceRef('db', ref))}"

    def e(self, name: str) -> str:
        return f"execution:{self.ids[name]}"

    @staticmethod
    def labels(graph: sl.LineageGraph) -> dict[str, str]:
        return {n.id: n.label for n in graph.nodes}

    @staticmethod
    def label_set(graph: sl.LineageGraph) -> set[str]:
        return {n.label for n in graph.nodes}

    @staticmethod
    def edge_set(graph: sl.LineageGraph) -> set[tuple[str, str, str]]:
        """Edges as (source label, target label, relation)."""
        labels = {n.id: n.label for n in graph.nodes}
        return {(labels[e.source], labels[e.target], e.relation) for e in graph.edges}
