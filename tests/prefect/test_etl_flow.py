"""The ETL example on a real Prefect API: hierarchy, mapped tasks, shared refs, checksums, artifacts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from uuid import UUID

import pytest

import steplineage as sl

UI_URL = "http://lineage.test:8000"


@dataclass
class EtlRun:
    cat: sl.Catalog
    base: Path
    result: dict[str, float]
    executions: list[sl.ExecutionRecord]

    def named(self, prefix: str) -> list[sl.ExecutionRecord]:
        return [r for r in self.executions if r.name == prefix or r.name.startswith(prefix + "-")]

    def one(self, prefix: str) -> sl.ExecutionRecord:
        found = self.named(prefix)
        assert len(found) == 1, [r.name for r in found]
        return found[0]


@pytest.fixture(scope="module")
def etl_run(etl_example: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtlRun]:
    """One run of the ETL example with its own catalog (shared by this module's tests)."""
    home = tmp_path_factory.mktemp("etl-home")
    base = tmp_path_factory.mktemp("etl-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEPLINEAGE_HOME", str(home))
        mp.delenv("STEPLINEAGE_CATALOG_URL", raising=False)
        mp.setenv("STEPLINEAGE_UI_URL", UI_URL)
        mp.setenv("STEPLINEAGE_STRICT", "true")  # a tracking failure fails the run, visibly
        result = etl_example.etl(base=str(base), days=["2024-01-01", "2024-01-02", "2024-01-03"])
        cat = sl.Catalog(home=home)
        yield EtlRun(cat, base, result, cat.list_executions(limit=None))
        cat.close()


def test_the_flow_result_is_prefects(etl_run: EtlRun) -> None:
    assert set(etl_run.result) == {"north", "south", "east", "west"}
    assert (etl_run.base / "warehouse" / "report.md").read_text().startswith("# Revenue")


def test_flow_run_is_the_parent_of_subflows_and_tasks(etl_run: EtlRun, prefect_client) -> None:
    root = etl_run.one("etl")
    assert root.parent_id is None
    children = {r.name.split("-")[0] for r in etl_run.executions if r.parent_id == root.id}
    assert children == {"extract", "transform", "load"}
    extracts = etl_run.named("extract")
    assert len(extracts) == 2 and all(r.parent_id == root.id for r in extracts)
    # The mapped task: one execution per day under each extract subflow.
    for sub in extracts:
        days = [r for r in etl_run.executions if r.parent_id == sub.id]
        assert len(days) == 3 and {r.name.split("-")[0] for r in days} == {"extract_day"}
        assert {r.parameters["day"] for r in days} == {"2024-01-01", "2024-01-02", "2024-01-03"}
    load = etl_run.one("load")
    assert {r.name.split("-")[0] for r in etl_run.executions if r.parent_id == load.id} == {
        "load_table", "write_report"}
    assert len(etl_run.executions) == 1 + 2 + 6 + 1 + 1 + 2

    # The catalog's ids are Prefect's: the subflow's flow run was started by the root's.
    assert root.orchestrator.orchestrator == "prefect" and root.orchestrator.run_count == 1
    sub_run = prefect_client.read_flow_run(UUID(extracts[0].orchestrator.flow_run_id))
    parent_task_run = prefect_client.read_task_run(sub_run.parent_task_run_id)
    assert str(parent_task_run.flow_run_id) == root.orchestrator.flow_run_id
    task = etl_run.named("extract_day")[0]
    task_run = prefect_client.read_task_run(UUID(task.orchestrator.task_run_id))
    assert task_run.name == task.name and str(task_run.flow_run_id) == \
        etl_run.cat.get_execution(task.parent_id).orchestrator.flow_run_id


def test_statuses_and_history(etl_run: EtlRun) -> None:
    assert {r.status for r in etl_run.executions} == {sl.Status.completed}
    task = etl_run.one("transform")
    assert [h.status.value for h in task.history] == [
        "created", "initializing", "running", "uploading", "completed"]
    assert task.start_time and task.stop_time and task.duration_seconds is not None
    root = etl_run.one("etl")
    assert root.parameters["days"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert root.start_time <= task.start_time and task.stop_time <= root.stop_time
    workflow = etl_run.cat.get_workflow(root.workflow_id)
    assert (workflow.name, workflow.workflow_type) == ("etl", "prefect-flow")
    assert workflow.checksum == hashlib.sha256(
        (Path(__file__).parents[2] / "flows" / "etl.py").read_bytes()).hexdigest()
    # Tasks belong to their flow's workflow.
    assert task.workflow_id == root.workflow_id


def _edges(run: EtlRun, record: sl.ExecutionRecord, role: str) -> dict[str, str]:
    return {str(e.ref): e.version_hash for e in run.cat.list_edges(record.id, role=role)
            if e.ref is not None and e.valid}


def test_steps_meet_through_shared_ref_versions(etl_run: EtlRun) -> None:
    written: dict[str, str] = {}
    for day in etl_run.named("extract_day"):
        written.update(_edges(etl_run, day, "output"))
    read = _edges(etl_run, etl_run.one("transform"), "input")
    assert len(read) == 6 and read == {k: v for k, v in written.items() if k in read}
    # load_table's file:// URI output is the warehouse ref that write_report reads.
    table = _edges(etl_run, etl_run.one("load_table"), "output")
    assert table == {"etl-warehouse:revenue_by_region.csv": table[
        "etl-warehouse:revenue_by_region.csv"]}
    assert _edges(etl_run, etl_run.one("write_report"), "input") == table

    report = [e for e in etl_run.cat.list_edges(etl_run.one("write_report").id, role="output")][0]
    with etl_run.cat.session() as s:
        from sqlalchemy import select

        from steplineage.store import orm

        version_id = s.scalars(select(orm.LineageEdge.version_id).where(
            orm.LineageEdge.execution_id == report.execution_id,
            orm.LineageEdge.role == "output")).one()
    upstream = {f"{v.resource_name}:{v.subpath}" for v in
                etl_run.cat.lineage.upstream_versions([version_id])}
    assert "etl-raw:orders/2024-01-02.csv" in upstream
    assert "etl-raw:customers/2024-01-03.csv" in upstream


def test_version_hashes_are_the_files_sha256(etl_run: EtlRun) -> None:
    checked = 0
    for record in etl_run.executions:
        for edge in etl_run.cat.list_edges(record.id):
            if edge.ref is None or not edge.valid:
                continue
            root = {"etl-raw": "raw", "etl-staging": "staging",
                    "etl-warehouse": "warehouse"}[edge.ref.name]
            path = etl_run.base / root / edge.ref.subpath
            assert edge.version_hash == hashlib.sha256(path.read_bytes()).hexdigest(), path
            checked += 1
    assert checked >= 20


def _artifacts(client, flow_run_id: str) -> dict[str, object]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    found = client.read_artifacts(flow_run_filter=FlowRunFilter(
        id=FlowRunFilterId(any_=[UUID(flow_run_id)])))
    return {a.key: a for a in found}


def test_flow_run_publishes_lineage_table_and_link(etl_run: EtlRun, prefect_client) -> None:
    root = etl_run.one("etl")
    arts = _artifacts(prefect_client, root.orchestrator.flow_run_id)
    assert set(arts) == {"steplineage-lineage-etl", "steplineage-executions-etl",
                         "steplineage-ui-etl"}

    markdown = arts["steplineage-lineage-etl"]
    assert markdown.type == "markdown"
    text = markdown.data
    assert "```mermaid\nflowchart LR" in text
    for record in etl_run.executions:
        assert record.name in text
    raw = etl_run.base / "raw" / "orders" / "2024-01-01.csv"
    assert f"| etl-raw:orders/2024-01-01.csv | ref | `{hashlib.sha256(raw.read_bytes()).hexdigest()}`" in text
    assert "### Inputs" in text and "### Outputs" in text
    assert f"{UI_URL}/executions/{root.id}" in text

    table = arts["steplineage-executions-etl"]
    rows = json.loads(table.data)
    assert {row["id"] for row in rows} == {r.id for r in etl_run.executions}
    assert rows[0]["id"] == root.id and rows[0]["status"] == "completed"
    assert all(row["status"] == "completed" and row["attempt"] == 1 for row in rows)

    link = arts["steplineage-ui-etl"]
    assert link.type == "markdown" and f"({UI_URL}/executions/{root.id})" in link.data

    # Each subflow run publishes its own summary, covering only its subtree.
    sub = etl_run.named("extract")[0]
    sub_arts = _artifacts(prefect_client, sub.orchestrator.flow_run_id)
    sub_rows = json.loads(sub_arts["steplineage-executions-extract"].data)
    assert len(sub_rows) == 4 and sub_rows[0]["id"] == sub.id
