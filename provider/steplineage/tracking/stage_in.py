"""Staging an execution's inputs: hash refs, download and verify assets and datasets.

Hashing and downloads happen outside any catalog transaction; the edges are
then written as one :class:`~steplineage.ops.EdgesAdded` operation,
checked for consistency in the same transaction.

Example:
    >>> edges = stage_inputs(exe)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from steplineage.ids import new_id
from steplineage.store import orm
from steplineage.errors import NotFoundError
from steplineage.ops import EdgeSpec
from steplineage.models import DatasetSpec, EdgeRole, ResourceRef
from steplineage.tracking.staging import check_name, safe_child
from steplineage.store.versions import current_version, local_digest, placeholder_hash

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution

__all__ = ["ref_edge", "stage_assets_and_datasets", "write_json_atomic"]


def ref_edge(catalog: Catalog, role: EdgeRole, ref: ResourceRef, online: bool) -> EdgeSpec:
    """An edge for ``ref`` carrying the version it holds now.

    Local content is hashed (cached); otherwise, when the catalog is reachable,
    the newest version written to the ref is used; offline, its initial placeholder.
    """
    digest = local_digest(catalog, ref)
    if digest is not None:
        return EdgeSpec(id=new_id(), role=role.value, resource=ref.name,
                        subpath=ref.subpath, hash=digest.sha256, length=digest.length)
    if online:
        with catalog.session() as s:
            version = current_version(catalog, s, ref)
            hash_, kind = version.hash, version.kind
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
    with cat.session() as s:
        query = (select(orm.DatasetVersion).join(orm.Dataset)
                 .where(orm.Dataset.name == spec.name))
        if spec.version is not None:
            query = query.where(orm.DatasetVersion.version == spec.version)
        dv = s.scalars(query.order_by(orm.DatasetVersion.version.desc()).limit(1)).first()
        if dv is None:
            raise NotFoundError(f"dataset {spec.name!r} has no version "
                                f"{spec.version if spec.version is not None else '(any)'}")
        members = s.scalars(select(orm.DatasetMember)
                            .where(orm.DatasetMember.dataset_version_id == dv.id)).all()
        asset_ids = [m.asset_id for m in members if m.asset_id]
        refs = [{"resource": r_name, "subpath": v.subpath or None, "hash": v.hash}
                for v, r_name in s.execute(
                    select(orm.Version, orm.Resource.name)
                    .join(orm.Resource, orm.Resource.id == orm.Version.resource_id)
                    .where(orm.Version.id.in_([m.version_id for m in members if m.version_id])))]
        dv_id, dv_number = dv.id, dv.version
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
    write_json_atomic(root / "members.json", listing)
    exe.dataset_paths[spec.name] = root
    return dv_id


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see the old file or the new one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
