"""A catalog with what model runs refer to: resources, a dataset, an asset, agents, a template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import steplineage as sl

__all__ = ["Setup", "flood_record", "flood_setup"]


@dataclass
class Setup:
    template: sl.WorkflowTemplate
    model_asset: str  # asset id of type Trained
    raw_asset: str  # asset id of type Raw (wrong type for the model slot)


def flood_setup(cat: sl.Catalog, tmp_path: Path) -> Setup:
    cat.add_resource("dem", uri="file:///data/dem", role="source-data")
    cat.add_resource("results", uri="file:///data/results", role="results")
    cat.create_dataset("rainfall")
    cat.add_dataset_version("rainfall", [])
    cat.add_dataset_version("rainfall", [])
    cat.create_asset_table("Model")
    cat.add_asset_type("Trained")
    cat.add_asset_type("Raw")
    with cat.create_execution(sl.ExecutionConfig(workflow="train", working_dir=tmp_path / "w")
                              ) as exe:
        exe.asset_file_path("Model", "model.pt", asset_types=["Trained"]).write_text("weights")
        exe.asset_file_path("Model", "raw.bin", asset_types=["Raw"]).write_text("raw")
    assets = {a.filename: a.id for a in cat.list_assets("Model")}
    cat.add_agent("Ada Lovelace", kind="person")
    cat.add_agent("CSIRO", kind="organisation")
    cat.add_agent("hpc-batch", kind="service")
    template = cat.add_workflow_template(sl.WorkflowTemplate(
        name="flood-model", description="Flood depth model", version="2.1",
        inputs=[sl.TemplateSlot(name="rainfall", kind="dataset"),
                sl.TemplateSlot(name="dem", kind="ref"),
                sl.TemplateSlot(name="model", kind="asset", asset_types=["Trained"]),
                sl.TemplateSlot(name="calibration", kind="ref", required=False)],
        outputs=[sl.TemplateSlot(name="depths", kind="ref")],
        required_annotations=["region"], optional_annotations=["note"],
        agent_roles=["modeller", "organisation", "runner"]))
    return Setup(template, assets["model.pt"], assets["raw.bin"])


def flood_record(setup: Setup, n: int = 1, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "template": "flood-model", "display_name": f"run {n}",
        "description": f"scenario {n}",
        "start_time": "2024-03-01T10:00:00+00:00", "end_time": "2024-03-01T11:30:00+00:00",
        "inputs": {"rainfall": "rainfall@1", "dem": "dem:tile-7.tif", "model": setup.model_asset},
        "outputs": {"depths": f"results:depths/{n}.nc"},
        "annotations": {"region": "north"},
        "agents": {"modeller": "Ada Lovelace", "organisation": "CSIRO"},
    }
    record.update(changes)
    return record
