"""Workflow templates and model runs registered after the fact (Provena's registry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import steplineage as sl
from tests.registry.registry_setup import Setup, flood_record, flood_setup


@pytest.fixture
def setup(catalog: sl.Catalog, tmp_path: Path) -> Setup:
    return flood_setup(catalog, tmp_path)


def _runs(cat: sl.Catalog) -> list[sl.ExecutionRecord]:
    return cat.list_executions(workflow="flood-model", limit=None)


def test_template_is_idempotent_and_fixed(catalog: sl.Catalog, setup: Setup) -> None:
    again = catalog.add_workflow_template(setup.template.model_copy(update={"id": None}))
    assert again == setup.template and again.id
    assert catalog.get_workflow_template("flood-model") == setup.template
    assert catalog.get_workflow_template(setup.template.id) == setup.template
    assert catalog.get_workflow("flood-model").workflow_type == "manual"
    changed = setup.template.model_copy(update={"id": None, "required_annotations": []})
    with pytest.raises(sl.TemplateError, match="flood-model-v2"):
        catalog.add_workflow_template(changed)
    with pytest.raises(sl.NotFoundError, match="add_workflow_template"):
        catalog.get_workflow_template("nope")


def test_bad_templates_are_refused_with_every_problem() -> None:
    with pytest.raises(sl.TemplateError) as err:
        sl.WorkflowTemplate(name="t", inputs=[sl.TemplateSlot(name="a", kind="dataset"),
                                              sl.TemplateSlot(name="a", kind="ref",
                                                              asset_types=["X"])],
                            required_annotations=["bad name"])
    message = str(err.value)
    assert "input slot 'a' is declared twice" in message
    assert "asset_types only apply to asset slots" in message
    assert "annotation 'bad name'" in message
    with pytest.raises(sl.TemplateError, match="kind"):
        sl.WorkflowTemplate(name="t", inputs=[{"name": "a", "kind": "table"}])


def test_register_one_run_creates_a_completed_execution_with_lineage(
        catalog: sl.Catalog, setup: Setup) -> None:
    run_id = catalog.register_model_run(flood_record(setup))
    rec = catalog.get_execution(run_id)
    assert rec.status is sl.Status.completed and rec.name == "run 1"
    assert rec.duration_seconds == 5400.0 and rec.parameters == {"region": "north"}
    assert [h.status for h in rec.history] == [sl.Status.created, sl.Status.completed]
    edges = catalog.list_edges(run_id)
    assert {(e.role.value, str(e.ref) if e.ref else None) for e in edges} == {
        ("input", None), ("input", "dem:tile-7.tif"), ("output", "results:depths/1.nc")}
    assert {e.asset_id for e in edges if e.asset_id} == {setup.model_asset}
    # Lineage queries see it like any tracked step.
    upstream = catalog.lineage.upstream(sl.ResourceRef("results", "depths/1.nc"), depth=2)
    assert run_id in {n.catalog_id for n in upstream.of_kind("execution")}
    contributing = {n.label for n in catalog.lineage.contributing_datasets(f"execution:{run_id}")}
    assert {"dem:tile-7.tif", "Model/model.pt", "rainfall v1"} <= contributing
    info = catalog.get_model_run(run_id)
    assert info.revision == 1 and info.history == [] and info.batch_id is None
    assert info.record == sl.ModelRunRecord(**flood_record(setup))


def test_one_bad_record_lists_every_problem(catalog: sl.Catalog, setup: Setup) -> None:
    bad = flood_record(setup, inputs={"rainfall": "rainfall@9", "dem": "nowhere:x",
                                      "model": setup.raw_asset, "extra": "x"},
                       outputs={}, annotations={"colour": "red"},
                       agents={"modeller": "Nobody", "boss": "CSIRO"})
    with pytest.raises(sl.ModelRunValidationError) as err:
        catalog.register_model_run(bad)
    problems = err.value.problems
    expected = ["dataset 'rainfall' has no version 9 (it has 1, 2)",
                "unknown resource 'nowhere'",
                "asset", "has type(s) Raw, the slot takes Trained",
                "has no input slot 'extra'",
                "required output slot 'depths' (ref) is missing",
                "required annotation 'region' is missing",
                "annotation 'colour' is not declared",
                "unknown agent 'Nobody'",
                "agent role 'boss' is not one of"]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    assert len(problems) == 9
    assert _runs(catalog) == []
    with pytest.raises(sl.ModelRunValidationError, match="unknown workflow template 'nope'"):
        catalog.register_model_run(flood_record(setup, template="nope"))
    with pytest.raises(sl.ModelRunValidationError, match="end_time .* is before start_time"):
        catalog.register_model_run(flood_record(setup, end_time="2024-03-01T09:00:00Z"))


def test_batch_with_three_bad_rows_reports_all_three_and_writes_nothing(
        catalog: sl.Catalog, setup: Setup) -> None:
    records = [flood_record(setup, n) for n in range(1, 8)]
    records[1] = flood_record(setup, 2, inputs={**records[1]["inputs"], "model": "no-such-id"})
    records[4] = flood_record(setup, 5, annotations={})
    records[6] = flood_record(setup, 7, start_time="not a time")
    before = len(catalog.list_edges())
    with pytest.raises(sl.ModelRunValidationError) as err:
        catalog.register_batch_model_runs(records)
    assert [p.split(":")[0] for p in err.value.problems] == ["row 2", "row 5", "row 7"]
    assert "unknown asset id 'no-such-id'" in err.value.problems[0]
    assert "3 problem(s)" in str(err.value) and "nothing was registered" in str(err.value)
    assert _runs(catalog) == [] and len(catalog.list_edges()) == before


def test_batch_registers_all_runs_with_a_batch_id(catalog: sl.Catalog, setup: Setup) -> None:
    result = catalog.register_batch_model_runs(
        [flood_record(setup, n, agents={"runner": "hpc-batch"}) for n in range(1, 51)])
    assert len(result.run_ids) == 50 == len(set(result.run_ids))
    info = catalog.get_model_run(result.run_ids[9])
    assert (info.batch_id, info.batch_row, info.record.display_name) == (
        result.batch_id, 10, "run 10")
    assert len(_runs(catalog)) == 50
    # every run read the same input version of dem:tile-7.tif
    hashes = {e.version_hash for e in catalog.list_edges(role="input") if e.ref}
    assert len(hashes) == 1
    with pytest.raises(sl.ModelRunValidationError, match="empty"):
        catalog.register_batch_model_runs([])


def test_update_keeps_the_earlier_record_and_the_reason(catalog: sl.Catalog,
                                                         setup: Setup) -> None:
    run_id = catalog.register_model_run(flood_record(setup))
    fixed = flood_record(setup, inputs={"rainfall": "rainfall@2", "dem": "dem:tile-8.tif",
                                        "model": setup.model_asset},
                         annotations={"region": "south"})
    info = catalog.update_model_run(run_id, "used the corrected rainfall release", fixed)
    assert info.revision == 2 and info.record.annotations == {"region": "south"}
    [earlier] = info.history
    assert earlier.revision == 1 and earlier.reason == "used the corrected rainfall release"
    assert earlier.record == sl.ModelRunRecord(**flood_record(setup))
    assert earlier.replaced_at.tzinfo is not None
    refs = {str(e.ref) for e in catalog.list_edges(run_id) if e.ref}
    assert refs == {"dem:tile-8.tif", "results:depths/1.nc"}  # lineage follows the new record
    assert catalog.get_execution(run_id).parameters == {"region": "south"}
    with pytest.raises(sl.ModelRunValidationError, match="reason"):
        catalog.update_model_run(run_id, "  ", fixed)
    with pytest.raises(sl.ModelRunValidationError, match="unknown dataset"):
        catalog.update_model_run(run_id, "typo", flood_record(setup, inputs={
            "rainfall": "rainfal", "dem": "dem:x", "model": setup.model_asset}))
    assert catalog.get_model_run(run_id).revision == 2  # a refused update changes nothing
    with pytest.raises(sl.NotFoundError, match="not a registered model run"):
        catalog.update_model_run("no-such-run", "why", fixed)


def test_show_execution_prints_the_audit_trail(catalog: sl.Catalog, setup: Setup,
                                               sl_home: Path) -> None:
    run_id = catalog.register_model_run(flood_record(setup))
    catalog.update_model_run(run_id, "region was mistyped", flood_record(
        setup, annotations={"region": "south"}))
    url = catalog.engine.url.render_as_string(hide_password=False)
    shown = subprocess.run([sys.executable, "-m", "steplineage", "show", "execution", run_id,
                            "--url", url], capture_output=True, text=True,
                           env={"STEPLINEAGE_HOME": str(sl_home), "COLUMNS": "250",
                                "PATH": "/usr/bin:/bin"})
    assert shown.returncode == 0, shown.stderr
    assert "Model-run record: template flood-model, revision 2" in shown.stdout
    assert "region was mistyped" in shown.stdout
    assert "annotations.region: north -> south" in shown.stdout


def test_a_pinned_input_version_is_one_version_for_every_run(catalog: sl.Catalog,
                                                             setup: Setup) -> None:
    from sqlalchemy import func, select

    from steplineage.store import orm

    digest = "ab" * 32
    pinned = flood_record(setup, inputs={"rainfall": "rainfall", "model": setup.model_asset,
                                         "dem": f"dem:tile-7.tif@{digest}"})
    first = catalog.register_model_run(pinned)
    batch = catalog.register_batch_model_runs([pinned, pinned])
    seen = [e.version_hash for run in [first, *batch.run_ids] for e in catalog.list_edges(run)
            if e.ref == sl.ResourceRef("dem", "tile-7.tif")]
    assert seen == [digest] * 3
    with catalog.session() as s:
        assert s.scalar(select(func.count()).select_from(orm.Version)
                        .where(orm.Version.hash == digest)) == 1
    # "rainfall" without @version is the latest version (2)
    [dv] = {e.dataset_version_id for e in catalog.list_edges(first) if e.dataset_version_id}
    assert {n.label for n in catalog.lineage.contributing_datasets(f"execution:{first}")
            if n.id.endswith(dv)} == {"rainfall v2"}


def test_a_retried_batch_with_its_id_is_registered_once(catalog: sl.Catalog,
                                                        setup: Setup) -> None:
    import uuid

    records = [flood_record(setup, n) for n in range(1, 4)]
    batch_id = str(uuid.uuid4())
    first = catalog.register_batch_model_runs(records, batch_id=batch_id)
    again = catalog.register_batch_model_runs(records, batch_id=batch_id)
    assert again == first and first.batch_id == batch_id
    assert len(_runs(catalog)) == 3
    with pytest.raises(sl.ModelRunValidationError, match="already registered with 3 runs"):
        catalog.register_batch_model_runs(records[:2], batch_id=batch_id)
