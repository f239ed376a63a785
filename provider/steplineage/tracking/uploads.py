"""Finishing an execution: find its output files, store them, describe the registration.

Example:
    >>> files = collect_output_files(exe.working_dir, manifest)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.errors import AssetPathError
from steplineage.ids import new_id, utcnow
from steplineage.local.atomic import is_temporary
from steplineage.models import AssetRecord, ResourceRef
from steplineage.ops import AssetSpec, EdgeSpec, OutputsRegistered, StatusChanged
from steplineage.status import Status
from steplineage.store.versions import placeholder_hash
from steplineage.tracking.staging import is_within

if TYPE_CHECKING:
    from steplineage.tracking.execution import Execution

__all__ = ["OutputFile", "collect_output_files", "outputs_op"]


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
            if is_temporary(name):  # a write still under way
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


def outputs_op(exe: Execution, files: list[OutputFile], declared: list[EdgeSpec],
               seq: int) -> tuple[OutputsRegistered, dict[str, list[AssetRecord]]]:
    """Store ``files`` and hash declared outputs; the operation that completes ``exe``.

    Returns the operation and the asset records it will create, by asset table.
    """
    cat = exe.catalog
    specs: list[AssetSpec] = []
    records: dict[str, list[AssetRecord]] = {}
    for f in files:
        obj = cat.object_store.put_file(f.path.resolve())
        spec = AssetSpec(asset_id=new_id(), edge_id=new_id(), asset_table=f.asset_table,
                         url=obj.url, filename=f.filename, length=obj.digest.length,
                         md5=obj.digest.md5, sha256=obj.digest.sha256,
                         description=f.description, asset_types=f.asset_types,
                         metadata=f.metadata)
        specs.append(spec)
        records.setdefault(f.asset_table, []).append(AssetRecord(
            id=spec.asset_id, asset_types=sorted(spec.asset_types),
            **spec.model_dump(exclude={"asset_id", "edge_id", "asset_types"})))
    outputs = []
    for edge in declared:
        ref = ResourceRef(edge.resource or "", edge.subpath)
        digest = cat.local_digest(ref)
        if digest is not None:
            outputs.append(edge.model_copy(update={"hash": digest.sha256, "hash_kind": "sha256",
                                                   "length": digest.length, "valid": True}))
        else:
            outputs.append(edge.model_copy(update={"hash": placeholder_hash(ref, exe.id),
                                                   "hash_kind": "placeholder", "valid": True}))
    n_assets = len(specs)
    status = StatusChanged(execution_id=exe.id, seq=seq, status=Status.completed,
                           message=f"completed: {n_assets} asset(s), {len(outputs)} output "
                                   "ref(s) registered", at=utcnow())
    op = OutputsRegistered(execution_id=exe.id, assets=specs, outputs=outputs, status=status)
    return op, records
