"""An execution's working directory: where staged inputs and outputs-to-be live.

Layout::

    inputs/<asset table>/<file>      input assets (verified)
    datasets/<dataset>/...           materialised dataset members, members.json
    assets/<asset table>/<file>      outputs to upload (asset_file_path)
    metadata/<kind>/<file>           execution metadata (execution_metadata_path)
    tables/<table>.csv               table values (table_path)
    results.json                     write_results, when no results location was given
    .steplineage/manifest.json       what asset_file_path recorded about each file

Every name is checked to stay inside the directory (:func:`safe_child`).

Example:
    >>> import tempfile
    >>> wd = Path(tempfile.mkdtemp())
    >>> asset_dir(wd, "Model").relative_to(wd).as_posix()
    'assets/Model'
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from steplineage.errors import AssetPathError
from steplineage.local.atomic import write_json
from steplineage.tracking.staging import check_name, safe_child

__all__ = ["MANIFEST", "asset_dir", "clean", "metadata_dir", "place_asset_file",
           "read_manifest", "table_file"]

MANIFEST = ".steplineage/manifest.json"
_STAGED = ("inputs", "datasets", "assets", "metadata", "tables", ".steplineage")


def asset_dir(working_dir: Path, asset_table: str) -> Path:
    """The directory whose files are uploaded into ``asset_table`` (created)."""
    path = safe_child(working_dir, "assets", asset_table)
    path.mkdir(parents=True, exist_ok=True)
    return path


def place_asset_file(working_dir: Path, asset_table: str, file_name: str | Path, *,
                     copy_file: bool, rename_file: str | None, entry: dict[str, Any]) -> Path:
    """Where a new asset file goes, or stage an existing file (absolute path) there.

    ``entry`` is what the manifest remembers of the file (types, description, metadata).

    Raises:
        AssetPathError: an absolute path that is not a file, or a name escaping the dir.
    """
    directory = asset_dir(working_dir, asset_table)
    source = Path(file_name)
    if rename_file is not None:
        check_name("rename_file", rename_file)
    if source.is_absolute():
        if not source.is_file():
            raise AssetPathError(f"{source} is not an existing file: pass a plain file name "
                                 "to create a new asset, or the path of a file to stage")
        dest = safe_child(directory, rename_file or source.name)
        dest.unlink(missing_ok=True)
        if copy_file:
            shutil.copy2(source, dest)
        else:
            dest.symlink_to(source.resolve())
    else:
        dest = safe_child(directory, rename_file or str(file_name))
        dest.parent.mkdir(parents=True, exist_ok=True)
    _remember(working_dir, dest, {**entry, "staged_from": str(source.resolve())
                                  if source.is_absolute() else None})
    return dest


def metadata_dir(working_dir: Path, kind: str) -> Path:
    """The directory for metadata files of ``kind`` (created)."""
    path = safe_child(working_dir, "metadata", check_name("metadata kind", kind))
    path.mkdir(parents=True, exist_ok=True)
    return path


def table_file(working_dir: Path, table: str) -> Path:
    """The CSV file for rows of ``table`` (its directory created)."""
    path = safe_child(working_dir, "tables", check_name("table", table) + ".csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read_manifest(working_dir: Path) -> dict[str, Any]:
    """What ``asset_file_path`` recorded about the files it placed."""
    path = working_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def clean(working_dir: Path, *, keep_dir: bool) -> None:
    """Remove what was staged; the directory itself too unless the user chose it."""
    if not keep_dir:
        shutil.rmtree(working_dir, ignore_errors=True)
        return
    for sub in _STAGED:
        shutil.rmtree(working_dir / sub, ignore_errors=True)


def _remember(working_dir: Path, path: Path, entry: dict[str, Any]) -> None:
    manifest = read_manifest(working_dir)
    manifest[path.relative_to(working_dir).as_posix()] = entry
    manifest_path = working_dir / MANIFEST
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(manifest_path, manifest)
