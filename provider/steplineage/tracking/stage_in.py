"""Staging an execution's inputs: hash refs, download and verify assets and datasets.

Hashing and downloads happen outside any catalog transaction; the edges are
then written as one :class:`~steplineage.ops.EdgesAdded` operation,
checked for consistency in the same transaction.

Example:
    >>> edges = stage_inputs(exe)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steplineage.ids import new_id
from steplineage.local.atomic import write_json
from steplineage.models import DatasetSpec, EdgeRole, ResourceRef
from steplineage.ops import EdgeSpec
from steplineage.store.datasets import dataset_members
from steplineage.store.versions import current_hash, placeholder_hash
from steplineage.tracking.staging import check_name, safe_child

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution
    from steplineage.tracking.ports import TrackingCatalog

__all__ = ["ref_edge", "stage_assets_and_datasets"]


def ref_edge(catalog: TrackingCatalog, role: EdgeRole, ref: ResourceRef, online: bool) -> EdgeSpec:
    """An edge for ``ref`` carrying the version it holds now.

    Local content is hashed (cached); otherwise, when the catalog is reachable,
    the newest version written to the ref is used; offline, its initial placeholder.
    """
    digest = catalog.local_digest(ref)
    if digest is not None:
        return EdgeSpec(id=new_id(), role=role.value, resource=ref.name,
                        subpath=ref.subpath, hash=digest.sha256, length=digest.length)
    if online:
        hash_, kind = current_hash(catalog.store, catalog.get_resource(ref.name).id, ref)
    else:
        hash_, kind = placeholder_hash(ref, "initial"), "placeholder"
    return EdgeSpec(id=new_id(), role=role.value, resource=ref.name, subpath=ref.subpath,
                    hash=hash_, hash_kind=kind)


def stage_assets_and_datasets(exe: Execution) -> list[EdgeSpec]:
    """Download input assets and dataset members into the working dir, verified.

    Raises:
        ChecksumMismatchError: a stored object no longer matches its hash.
    """
    cat = exe.catalog
    edges = []
    for asset_id in exe.config.assets:
        asset = cat.get_asset(asset_id)
        dest = safe_child(exe.working_dir, "inputs", asset.asset_table, asset.filename)
        cat.object_store.get_file(asset.sha256, dest, what=f"input asset {asset.id}")
        exe.asset_paths[asset.id] = dest
        edges.append(EdgeSpec(id=new_id(), role="input", asset_id=asset.id))
    for spec in exe.config.datasets:
        dv_id = _stage_dataset(exe, DatasetSpec(name=spec) if isinstance(spec, str) else spec)
        edges.append(EdgeSpec(id=new_id(), role="input", dataset_version_id=dv_id))
    return edges


def _stage_dataset(exe: Execution, spec: DatasetSpec) -> str:
    cat = exe.catalog
    found = dataset_members(cat.store, spec.name, spec.version)
    asset_ids, refs, dv_id, dv_number = found.asset_ids, list(found.refs), found.id, found.version
    root = safe_child(exe.working_dir, "datasets", check_name("dataset", spec.name))
    root.mkdir(parents=True, exist_ok=True)
    listing: dict[str, Any] = {"dataset": spec.name, "version": dv_number,
                               "materialized": spec.materialize, "assets": [], "refs": refs}
    for asset_id in asset_ids:
        asset = cat.get_asset(asset_id)
        entry = asset.model_dump(mode="json")
        if spec.materialize:
            dest = safe_child(root, asset.asset_table, asset.filename)
            cat.object_store.get_file(asset.sha256, dest, what=f"dataset member {asset.id}")
            entry["local_path"] = str(dest)
        listing["assets"].append(entry)
    write_json(root / "members.json", listing)
    exe.dataset_paths[spec.name] = root
    return dv_id

