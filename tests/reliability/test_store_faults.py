"""Object-store and disk faults: a clear StagingError, a failed execution, no partial object.

Full disks are real: a 256 KiB tmpfs mounted for the test (the suite runs as
root in CI). Where mounting is not allowed, an fsspec file system that raises
ENOSPC past the same quota stands in for it.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

import steplineage as sl

QUOTA = 256 * 1024


class _QuotaFile:
    def __init__(self, f, fs: QuotaFileSystem):
        self._f, self._fs = f, fs

    def write(self, data: bytes) -> int:
        if self._fs.used + len(data) > QUOTA:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._fs.used += len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


class QuotaFileSystem(LocalFileSystem):
    """A local file system that is full after QUOTA bytes (stand-in for a tiny tmpfs)."""

    protocol = "quotafs"
    used = 0

    def _open(self, path, mode="rb", **kwargs):
        f = super()._open(path, mode, **kwargs)
        return _QuotaFile(f, self) if "w" in mode else f


fsspec.register_implementation("quotafs", QuotaFileSystem, clobber=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(url prefix, directory) of a file system with QUOTA bytes of space."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={QUOTA}", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        QuotaFileSystem.used = 0
        yield "quotafs://", mount
        return
    try:
        yield "file://", mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(QUOTA * 4))
    return path


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_full_object_store_fails_the_upload_cleanly(small_fs, big_file: Path, sl_home: Path,
                                                    tmp_path: Path) -> None:
    prefix, mount = small_fs
    cat = sl.Catalog(home=sl_home, object_store=f"{prefix}{mount}/objects")
    cat.create_asset_table("Model")
    with pytest.raises(sl.StagingError, match="full"):
        with cat.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
            exe.asset_file_path("Model", big_file, copy_file=True)
    rec = cat.get_execution(exe.id)
    assert rec.status is sl.Status.failed and "No space left" in rec.status_message
    assert _files(mount / "objects") == []  # no partial object, no temp file
    assert cat.list_assets("Model") == []
    assert (exe.working_dir / "assets" / "Model" / "big.bin").stat().st_size == QUOTA * 4


def test_full_working_dir_fails_staging_before_user_code(small_fs, big_file: Path,
                                                         sl_home: Path) -> None:
    prefix, mount = small_fs
    if prefix != "file://":
        pytest.skip("needs a real small file system for the working dir (mount tmpfs as root)")
    cat = sl.Catalog(home=sl_home)
    cat.create_asset_table("Model")
    with cat.create_execution(sl.ExecutionConfig(workflow="train")) as producer:
        producer.asset_file_path("Model", big_file, copy_file=True)
    [asset] = cat.list_assets("Model")
    cat.settings = cat.settings.model_copy(update={"working_root": mount / "work"})
    ran = []
    with pytest.raises(sl.StagingError, match="full"):
        with cat.create_execution(sl.ExecutionConfig(workflow="eval", assets=[asset.id])):
            ran.append(True)
    assert ran == []
    [failed] = cat.list_executions(workflow="eval")
    assert failed.status is sl.Status.failed
    assert [p for p in _files(mount) if p.name.endswith(".part")] == []


def test_unreachable_store_gives_a_clear_error(small_fs, sl_home: Path) -> None:
    prefix, mount = small_fs
    if prefix != "file://":
        pytest.skip("needs a real mount to take away (mount tmpfs as root)")
    cat = sl.Catalog(home=sl_home, object_store=f"file://{mount}/objects")
    cat.create_asset_table("Model")
    with cat.create_execution(sl.ExecutionConfig(workflow="train")) as producer:
        producer.asset_file_path("Model", "m.bin").write_bytes(b"weights")
    [asset] = cat.list_assets("Model")
    subprocess.run(["umount", "-l", str(mount)], check=True)  # the store goes away
    with pytest.raises(sl.StagingError, match="reachable"):
        cat.create_execution(sl.ExecutionConfig(workflow="eval", assets=[asset.id]))
    [failed] = cat.list_executions(workflow="eval")
    assert failed.status is sl.Status.failed and "missing from the object store" in \
        failed.status_message
