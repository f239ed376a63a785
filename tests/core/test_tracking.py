"""@track_pipeline_execution (Watcher's shape) and LineageBuilder (Data Workspaces' shape)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import steplineage as sl


def test_metrics_and_context_are_passed_through(catalog: sl.Catalog) -> None:
    seen: list[sl.ExecutionContext] = []

    @sl.track_pipeline_execution(workflow="load_orders", catalog=catalog, watermark=5,
                                 next_watermark="2024-02-01")
    def load(batch: int, ctx: sl.ExecutionContext) -> sl.ETLMetrics:
        seen.append(ctx)
        return sl.ETLMetrics(inserts=batch, updates=2, total_rows=batch + 2)

    result = load(10)
    assert isinstance(result, sl.ExecutionResults)
    assert result.status is sl.Status.completed and result.metrics.inserts == 10
    assert seen[0].execution_id == result.execution_id
    assert (seen[0].watermark, seen[0].next_watermark) == ("5", "2024-02-01")
    rec = catalog.get_execution(result.execution_id)
    assert rec.metrics == {"inserts": 10, "updates": 2, "total_rows": 12}
    assert rec.parameters == {"batch": 10}
    assert (rec.watermark, rec.next_watermark) == ("5", "2024-02-01")


def test_inactive_workflow_is_skipped_and_function_not_run(catalog: sl.Catalog) -> None:
    calls: list[int] = []
    catalog.add_workflow("nightly")
    catalog.set_workflow_active("nightly", False)

    @sl.track_pipeline_execution(workflow="nightly", catalog=catalog)
    def nightly() -> sl.ETLMetrics:
        calls.append(1)
        return sl.ETLMetrics(inserts=1)

    result = nightly()
    assert calls == [] and result.status is sl.Status.skipped and result.metrics is None
    rec = catalog.get_execution(result.execution_id)
    assert rec.status is sl.Status.skipped and "inactive" in rec.status_message

    @sl.track_pipeline_execution(workflow="nightly", catalog=catalog, active=True)
    def forced() -> None:
        calls.append(2)

    assert forced().status is sl.Status.completed and calls == [2]


def test_negative_counts_are_refused(catalog: sl.Catalog) -> None:
    with pytest.raises(sl.MetricsError, match="inserts"):
        sl.ETLMetrics(inserts=-1)

    @sl.track_pipeline_execution(workflow="bad", catalog=catalog)
    def bad() -> sl.ETLMetrics:
        return sl.ETLMetrics(total_rows=-5)

    with pytest.raises(sl.MetricsError):
        bad()
    [rec] = catalog.list_executions(workflow="bad")
    assert rec.status is sl.Status.failed and "MetricsError" in rec.status_message
    assert rec.metrics == {}


def test_wrong_return_type_fails_the_execution(catalog: sl.Catalog) -> None:
    @sl.track_pipeline_execution(workflow="oops", catalog=catalog)
    def oops() -> dict:
        return {"inserts": 1}

    with pytest.raises(sl.MetricsError, match="returned dict"):
        oops()


def test_hierarchy_through_parent_execution_id(catalog: sl.Catalog) -> None:
    @sl.track_pipeline_execution(workflow="parent", catalog=catalog)
    def parent(ctx: sl.ExecutionContext) -> sl.ETLMetrics:
        @sl.track_pipeline_execution(workflow="child", catalog=catalog,
                                     parent_execution_id=ctx.execution_id)
        def child() -> sl.ETLMetrics:
            return sl.ETLMetrics(inserts=1)

        child()
        child()
        return sl.ETLMetrics(inserts=2)

    result = parent()
    kids = catalog.list_executions(parent_id=result.execution_id)
    assert [k.name for k in kids] == ["child", "child"]
    assert all(k.status is sl.Status.completed for k in kids)


def test_async_functions_stay_async(catalog: sl.Catalog) -> None:
    @sl.track_pipeline_execution(workflow="async_etl", catalog=catalog)
    async def etl() -> sl.ETLMetrics:
        await asyncio.sleep(0)
        return sl.ETLMetrics(inserts=3)

    assert asyncio.iscoroutinefunction(etl)
    assert asyncio.run(etl()).metrics.inserts == 3


def test_decorator_without_arguments_fails_at_decoration() -> None:
    with pytest.raises(sl.ConfigurationError, match="with parentheses"):
        @sl.track_pipeline_execution  # type: ignore[arg-type]
        def etl() -> None: ...


def test_lineage_builder_results_step(catalog: sl.Catalog, data_dir: Path,
                                      tmp_path: Path) -> None:
    catalog.add_resource("raw", uri=data_dir, role="source-data")
    results = tmp_path / "results"
    catalog.add_resource("results", uri=results, role="results")
    lineage = (sl.LineageBuilder(catalog).with_step_name("score")
               .with_parameters({"gamma": 0.001}).with_input_path(data_dir / "jan.csv")
               .as_results_step(results / "exp1", run_description="first try").eval())
    with lineage as exe:
        path = exe.write_results({"accuracy": 0.91})
    data = json.loads(path.read_text())
    assert path == results / "exp1" / "results.json"
    assert data["parameters"] == {"gamma": 0.001} and data["run_description"] == "first try"
    edges = catalog.list_edges(exe.id)
    assert {(e.role.value, str(e.ref)) for e in edges} == {
        ("input", "raw:jan.csv"), ("output", "results:exp1")}


def test_lineage_builder_misuse_is_explained(catalog: sl.Catalog, data_dir: Path) -> None:
    with pytest.raises(sl.ConfigurationError, match="not both"):
        sl.LineageBuilder(catalog).with_no_inputs().with_input_path(data_dir / "jan.csv")
    with pytest.raises(sl.ConfigurationError, match="cannot be combined"):
        sl.LineageBuilder(catalog).with_input_path(data_dir / "jan.csv").with_no_inputs()
    with pytest.raises(sl.ConfigurationError, match="with_parameters"):
        sl.LineageBuilder(catalog).with_step_name("x").with_no_inputs().eval()
    with pytest.raises(sl.ConfigurationError, match="with_no_inputs"):
        sl.LineageBuilder(catalog).with_step_name("x").with_parameters({}).eval()
    with pytest.raises(sl.ConfigurationError, match="no step name"):
        sl.LineageBuilder(catalog).with_parameters({}).with_no_inputs().eval()
    with pytest.raises(sl.ConfigurationError, match="once"):
        sl.LineageBuilder(catalog).with_parameters({}).with_parameters({})
    assert catalog.list_executions() == []


def test_lineage_builder_script_step_records_the_script(catalog: sl.Catalog) -> None:
    script = Path(__file__)
    exe = (sl.LineageBuilder(catalog).as_script_step(script).with_parameters({})
           .with_no_inputs().eval())
    with exe:
        pass
    assert exe.name == "test_tracking"
    wf = catalog.get_workflow("test_tracking")
    import hashlib

    assert wf.checksum == hashlib.sha256(script.read_bytes()).hexdigest()
