"""The operation format: what the spool keeps on disk must parse in later releases."""

from __future__ import annotations

import json

from steplineage.models import AssetRecord
from steplineage.ops import AssetSpec, OutputsRegistered, parse_op

# An ``outputs_registered`` line as the previous release wrote it to the spool.
OLD_OUTPUTS_REGISTERED = json.dumps({
    "op": "outputs_registered", "execution_id": "e1",
    "assets": [{"asset_id": "a1", "edge_id": "g1", "asset_table": "Model",
                "url": "file:///objects/ab/cd", "filename": "best.pt", "length": 7,
                "md5": "0" * 32, "sha256": "1" * 64, "description": "weights",
                "asset_types": ["Trained"], "metadata": {"epochs": 3}}],
    "outputs": [],
    "status": {"op": "status_changed", "execution_id": "e1", "seq": 5, "status": "completed",
               "message": "done", "at": "2024-01-01T00:00:00Z"}})


def test_an_old_outputs_registered_op_parses_and_round_trips() -> None:
    op = parse_op(OLD_OUTPUTS_REGISTERED)
    assert isinstance(op, OutputsRegistered)
    (asset,) = op.assets
    assert (asset.asset_id, asset.edge_id, asset.filename, asset.metadata) == (
        "a1", "g1", "best.pt", {"epochs": 3})
    assert json.loads(op.model_dump_json()) == json.loads(OLD_OUTPUTS_REGISTERED) | {
        "status": json.loads(op.status.model_dump_json())}
    assert parse_op(op.model_dump_json()) == op


def test_an_asset_spec_and_the_record_it_becomes_share_their_fields() -> None:
    spec = AssetSpec.model_validate(json.loads(OLD_OUTPUTS_REGISTERED)["assets"][0])
    record = AssetRecord(id=spec.asset_id, **spec.model_dump(exclude={"asset_id", "edge_id"}))
    assert record.model_dump(exclude={"id"}) == spec.model_dump(exclude={"asset_id", "edge_id"})
