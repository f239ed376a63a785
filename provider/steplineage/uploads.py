"""Finishing an execution: find its output files, store them, register everything at once.

Example:
    >>> files = collect_output_files(exe.working_dir, manifest)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from steplineage.catalog import orm
from steplineage.catalog.records import asset_record
from steplineage.errors import AssetPathError
from steplineage.models import AssetRecord, ResourceRef
from steplineage.staging import is_within
from steplineage.status import Status
from steplineage.versions import get_or_create_version, local_digest, placeholder_hash

if TYPE_CHECKING:
    from steplineage.execution import Execution

__all__ = ["OutputFile", "collect_output_files", "register_outputs"]


@dataclass(frozen=True)
class OutputFile:
    """A file in the working dir that becomes an asset."""

    path: Path
    asset_table: str
    filename: str
    asset_types: list[str] = field(default_factory=list)
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def _files_under(root: Path, working_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    found: list[Path] = []
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            full = Path(dirpath, d)
            if full.is_symlink() and not is_within(full, working_dir):
                raise AssetPathError(f"{full} is a symlink to {os.path.realpath(full)}, outside "
                                     f"the working dir {working_dir}; stage files with "
                                     "asset_file_path(..., copy_file=True) instead")
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if name.startswith(".") and name.endswith((".tmp", ".part")):
                continue
            if full.is_symlink() and not is_within(full, working_dir):
                entry = manifest.get(full.relative_to(working_dir).as_posix(), {})
                if entry.get("staged_from") != str(full.resolve()):
                    raise AssetPathError(
                        f"{full} is a symlink to {os.path.realpath(full)}, outside the working "
                        f"dir {working_dir}; stage outside files with asset_file_path(<absolute "
                        "path>) so steplineage knows you meant it")
            found.append(full)
    return sorted(found)


def collect_output_files(working_dir: Path, manifest: dict[str, Any]) -> list[OutputFile]:
    """Every file under ``assets/``, ``metadata/`` and ``tables/`` with what it becomes.

    Raises:
        AssetPathError: a symlink leads outside the working dir without having
            been staged through ``asset_file_path``.
    """
    out: list[OutputFile] = []
    assets = working_dir / "assets"
    if assets.is_dir():
        for table_dir in sorted(p for p in assets.iterdir() if p.is_dir()):
            for path in _files_under(table_dir, working_dir, manifest):
                entry = manifest.get(path.relative_to(working_dir).as_posix(), {})
                out.append(OutputFile(path, table_dir.name,
                                      path.relative_to(table_dir).as_posix(),
                                      entry.get("asset_types", []), entry.get("description", ""),
                                      entry.get("metadata", {})))
    metadata = working_dir / "metadata"
    if metadata.is_dir():
        for kind_dir in sorted(p for p in metadata.iterdir() if p.is_dir()):
            for path in _files_under(kind_dir, working_dir, manifest):
                out.append(OutputFile(path, "Execution_Metadata",
                                      path.relative_to(kind_dir).as_posix(), [kind_dir.name]))
    for path in _files_under(working_dir / "tables", working_dir, manifest):
        out.append(OutputFile(path, "Execution_Table", path.name, metadata={"table": path.stem}))
    return out


def register_outputs(exe: Execution, files: list[OutputFile]) -> dict[str, list[AssetRecord]]:
    """Store ``files`` and, in one transaction, record assets, output versions and completion."""
    from steplineage.execution import write_status

    cat = exe.catalog
    stored = [(f, cat.object_store.put_file(f.path.resolve())) for f in files]
    with cat.session() as s:
        pending = s.scalars(select(orm.LineageEdge).where(
            orm.LineageEdge.execution_id == exe.id, orm.LineageEdge.role == "output",
            orm.LineageEdge.resource_id.is_not(None))).all()
        names = {r.id: r.name for r in s.scalars(select(orm.Resource))}
        outputs = [(edge.id, ResourceRef(names[edge.resource_id], edge.subpath or None))
                   for edge in pending]
    digests = {edge_id: local_digest(cat, ref) for edge_id, ref in outputs}  # outside the tx

    result: dict[str, list[AssetRecord]] = {}
    with cat.session() as s:
        for f, obj in stored:
            asset = s.scalars(select(orm.Asset).where(
                orm.Asset.asset_table == f.asset_table, orm.Asset.sha256 == obj.digest.sha256,
                orm.Asset.filename == f.filename)).first()
            if asset is None:
                asset = orm.Asset(id=orm.new_id(), asset_table=f.asset_table, url=obj.url,
                                  filename=f.filename, length=obj.digest.length,
                                  md5=obj.digest.md5, sha256=obj.digest.sha256,
                                  description=f.description, asset_metadata=f.metadata)
                asset.types = [orm.AssetTypeLink(type_name=t) for t in f.asset_types]
                s.add(asset)
                s.flush()
            s.add(orm.LineageEdge(id=orm.new_id(), execution_id=exe.id, role="output",
                                  asset_id=asset.id, valid=True))
            result.setdefault(f.asset_table, []).append(asset_record(asset))
        for edge_id, ref in outputs:
            edge = s.get(orm.LineageEdge, edge_id)
            assert edge is not None and edge.resource_id is not None
            digest = digests[edge_id]
            if digest is not None:
                version = get_or_create_version(s, edge.resource_id, ref.subpath, digest.sha256,
                                                "sha256", digest.length)
            else:
                version = get_or_create_version(s, edge.resource_id, ref.subpath,
                                                placeholder_hash(ref, exe.id), "placeholder", None)
            edge.version_id, edge.valid, edge.created_at = version.id, True, orm.utcnow()
        n_assets = sum(len(v) for v in result.values())
        write_status(s, exe.id, Status.completed,
                     f"completed: {n_assets} asset(s), {len(outputs)} output ref(s) registered")
    return result
