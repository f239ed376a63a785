"""Reading an Airflow DAG run back out of the catalog, for assertions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import steplineage as sl


@dataclass
class RunRecord:
    """A DAG run's parent execution and its children, by execution name."""

    parent: sl.ExecutionRecord
    children: list[sl.ExecutionRecord]

    def tries(self, name: str) -> list[sl.ExecutionRecord]:
        """The executions of one (mapped) task, by try number."""
        found = [c for c in self.children if c.name == name]
        return sorted(found, key=lambda c: c.orchestrator.try_number or 0)

    def only(self, name: str) -> sl.ExecutionRecord:
        """The single execution of a task that ran once."""
        found = self.tries(name)
        assert len(found) == 1, f"{name}: {len(found)} executions"
        return found[0]


def dag_runs(cat: sl.Catalog, dag_id: str) -> list[RunRecord]:
    """Every recorded run of a DAG (parent executions with their children)."""
    execs = cat.list_executions(dag_id=dag_id, limit=None)
    parents = [e for e in execs if e.parent_id is None]
    return [RunRecord(p, [e for e in execs if e.parent_id == p.id]) for p in parents]


def one_run(cat: sl.Catalog, dag_id: str) -> RunRecord:
    """The only recorded run of a DAG."""
    runs = dag_runs(cat, dag_id)
    assert len(runs) == 1, f"{dag_id}: {len(runs)} parent executions"
    return runs[0]


def statuses(rec: sl.ExecutionRecord) -> list[str]:
    """The execution's status history, as values."""
    return [h.status.value for h in rec.history]


def sha256_of(path: Path) -> str:
    """sha256 of a file's content."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edges(cat: sl.Catalog, rec: sl.ExecutionRecord, role: str) -> list[sl.LineageEdgeRecord]:
    """One execution's lineage edges of one role."""
    return cat.list_edges(rec.id, role=role)
