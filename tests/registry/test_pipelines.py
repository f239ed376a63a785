"""Watcher pipeline configs: sync, the active switch, watermarks, hierarchy, extended metrics."""

from __future__ import annotations

from datetime import datetime

import pytest

import steplineage as sl


def test_sync_is_idempotent_and_keeps_the_operators_switch(catalog: sl.Catalog) -> None:
    config = sl.PipelineConfig(name="orders", description="load orders",
                               default_watermark="2024-01-01")
    first = catalog.sync_pipeline_config(config)
    assert first.active and first.id and first.pipeline.id == first.id
    assert catalog.sync_pipeline_config(config) == first
    catalog.set_pipeline_active("orders", False)  # an operator switches it off
    again = catalog.sync_pipeline_config(config.model_copy(update={"description": "v2"}))
    assert (again.id, again.active, again.description) == (first.id, False, "v2")
    forced = catalog.sync_pipeline_config(config.model_copy(update={"active": True}))
    assert forced.active and catalog.get_pipeline(first.id) == forced
    assert [p.name for p in catalog.list_pipelines()] == ["orders"]
    with pytest.raises(sl.NotFoundError, match="sync_pipeline_config"):
        catalog.get_pipeline("nope")


def test_inactive_pipeline_is_skipped_and_its_function_never_runs(catalog: sl.Catalog) -> None:
    synced = catalog.sync_pipeline_config(sl.PipelineConfig(name="paused", active=False))
    calls: list[int] = []

    @sl.track_pipeline_execution(pipeline_id=synced.id, active=synced.active, catalog=catalog)
    def paused() -> sl.ETLMetrics:
        calls.append(1)
        return sl.ETLMetrics(inserts=1)

    result = paused()
    assert calls == [] and result.status is sl.Status.skipped and result.metrics is None
    assert catalog.get_execution(result.execution_id).status is sl.Status.skipped

    # Without an explicit active=..., the catalog's flag at call time decides.
    @sl.track_pipeline_execution(pipeline_id=synced.id, catalog=catalog)
    def follows_catalog() -> None:
        calls.append(2)

    assert follows_catalog().status is sl.Status.skipped and calls == []
    catalog.set_pipeline_active("paused", True)
    assert follows_catalog().status is sl.Status.completed and calls == [2]


def test_watermark_comes_from_the_last_successful_run(catalog: sl.Catalog) -> None:
    synced = catalog.sync_pipeline_config(sl.PipelineConfig(
        name="orders", default_watermark="2024-01-01T00:00:00+00:00", next_watermark="now"))
    seen: list[sl.ExecutionContext] = []
    fail = [False]

    @sl.track_pipeline_execution(pipeline_id=synced.id, catalog=catalog)
    def load(ctx: sl.ExecutionContext) -> sl.ETLMetrics:
        seen.append(ctx)
        if fail[0]:
            raise RuntimeError("source down")
        return sl.ETLMetrics(inserts=1)

    load()
    first = seen[-1]
    assert first.pipeline_id == synced.id and first.workflow == "orders"
    assert first.watermark == "2024-01-01T00:00:00+00:00"
    assert datetime.fromisoformat(first.next_watermark) > datetime.fromisoformat(first.watermark)
    fail[0] = True
    with pytest.raises(RuntimeError):
        load()
    assert seen[-1].watermark == first.next_watermark  # the first run completed
    fail[0] = False
    load()
    # a failed run does not move the watermark: the third starts where the first left off
    assert seen[-1].watermark == first.next_watermark
    assert catalog.get_execution(seen[-1].execution_id).watermark == first.next_watermark


def test_watermarks_given_or_computed_by_the_caller(catalog: sl.Catalog) -> None:
    @sl.track_pipeline_execution(workflow="ids", catalog=catalog, next_watermark=lambda: 500)
    def load(ctx: sl.ExecutionContext) -> None:
        assert ctx.pipeline_id is None

    first = catalog.get_execution(load().execution_id)
    second = catalog.get_execution(load().execution_id)
    assert (first.watermark, first.next_watermark) == (None, "500")
    assert second.watermark == "500"


def test_watcher_parent_child_example(catalog: sl.Catalog) -> None:
    """The seed's hierarchical example, as a user would write it."""
    parent_config = sl.PipelineConfig(name="parent_pipeline", description="parent")
    child_config = sl.PipelineConfig(name="child_pipeline", description="child")
    synced_parent_config = catalog.sync_pipeline_config(parent_config)
    children: list[sl.ExecutionResults] = []

    @sl.track_pipeline_execution(pipeline_id=synced_parent_config.pipeline.id,
                                 active=synced_parent_config.active, catalog=catalog)
    def my_parent_pipeline(watcher_context: sl.ExecutionContext) -> sl.ETLMetrics:
        synced_child_config = catalog.sync_pipeline_config(child_config)

        @sl.track_pipeline_execution(pipeline_id=synced_child_config.pipeline.id,
                                     active=synced_child_config.active,
                                     parent_execution_id=watcher_context.execution_id,
                                     catalog=catalog)
        def child_pipeline() -> sl.ETLMetrics:
            return sl.ETLMetrics(inserts=100, total_rows=100)

        children.append(child_pipeline())
        return sl.ETLMetrics(inserts=100, total_rows=100)

    results = my_parent_pipeline()
    assert results.status is sl.Status.completed and results.metrics.inserts == 100
    [child] = catalog.list_executions(parent_id=results.execution_id)
    assert child.id == children[0].execution_id and child.status is sl.Status.completed
    assert child.metrics == {"inserts": 100, "total_rows": 100}
    assert catalog.list_executions(workflow="child_pipeline")[0].id == child.id


class OrderMetrics(sl.ETLMetrics):
    late_orders: int = 0
    source_files: list[str] = []


def test_extended_metrics_keep_their_extra_fields(catalog: sl.Catalog) -> None:
    synced = catalog.sync_pipeline_config(sl.PipelineConfig(name="orders"))

    @sl.track_pipeline_execution(pipeline_id=synced.id, catalog=catalog)
    def load() -> OrderMetrics:
        return OrderMetrics(inserts=3, late_orders=2, source_files=["a.csv"])

    results = load()
    assert isinstance(results.metrics, OrderMetrics)
    assert (results.metrics.late_orders, results.metrics.source_files) == (2, ["a.csv"])
    assert catalog.get_execution(results.execution_id).metrics == {
        "inserts": 3, "late_orders": 2, "source_files": ["a.csv"]}


def test_decorator_needs_a_workflow_or_a_pipeline() -> None:
    with pytest.raises(sl.ConfigurationError, match="pipeline_id="):
        @sl.track_pipeline_execution()
        def nothing() -> None: ...


@pytest.mark.postgres
def test_a_pipeline_runs_and_spools_while_the_catalog_is_down(
        pg_url: str, sl_home, monkeypatch: pytest.MonkeyPatch) -> None:
    from toggle_proxy import proxied

    proxy, url = proxied(pg_url)
    monkeypatch.setenv("STEPLINEAGE_TIMEOUT_SECONDS", "2")
    try:
        cat = sl.Catalog(url, home=sl_home)
        synced = cat.sync_pipeline_config(sl.PipelineConfig(name="orders",
                                                            default_watermark="w0"))
        seen: list[sl.ExecutionContext] = []

        @sl.track_pipeline_execution(pipeline_id=synced.id, catalog=cat)
        def load(ctx: sl.ExecutionContext) -> sl.ETLMetrics:
            seen.append(ctx)
            return sl.ETLMetrics(inserts=1)

        assert load().status is sl.Status.completed and seen[-1].watermark == "w0"
        proxy.down()
        offline = load()  # the function still runs; its records wait in the spool
        assert offline.status is sl.Status.completed and seen[-1].pipeline_id == synced.id
        assert cat.spool.pending(cat.spool_key) > 0
        proxy.up()
        cat.flush_spool()
        assert cat.get_execution(offline.execution_id).status is sl.Status.completed
        assert len(cat.list_executions(workflow="orders")) == 2
        cat.close()
    finally:
        proxy.down()
