"""A content-addressed object store on any fsspec filesystem.

Objects live at ``<root>/sha256/ab/cd/<sha256>``: the key *is* the content
hash, so storing the same bytes twice stores them once, and different bytes
can never land under one key. Uploads go to a temporary key and are moved into
place only after the hash was checked; downloads are verified the same way
before the file appears at its destination.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); src = d / "m.bin"; _ = src.write_bytes(b"w")
    >>> store = ObjectStore(f"file://{d}/objects")
    >>> stored = store.put_file(src)
    >>> stored.created, store.put_file(src).created
    (True, False)
"""

from __future__ import annotations

import contextlib
import errno
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from steplineage.errors import ChecksumMismatchError, ObjectStoreConflictError, StagingError
from steplineage.hashing import Digest, copy_and_hash
from steplineage.local.atomic import atomic_path

__all__ = ["ObjectStore", "StoredObject", "transfer_progress"]


@contextlib.contextmanager
def _store_errors(doing: str) -> Iterator[None]:
    """Turn OS-level failures (full disk, lost mount, refused connection) into StagingError."""
    try:
        yield
    except StagingError:
        raise
    except OSError as exc:
        hint = ("the file system is full: free space, or point STEPLINEAGE_OBJECT_STORE or "
                "STEPLINEAGE_HOME at a larger one" if exc.errno == errno.ENOSPC else
                "check that the object store is reachable and writable")
        raise StagingError(f"{doing} failed: {exc.strerror or exc}; {hint}") from exc


@dataclass(frozen=True)
class StoredObject:
    """Where an upload went and whether it was new."""

    url: str
    digest: Digest
    created: bool


@contextlib.contextmanager
def transfer_progress(total: int, description: str, min_bytes: int) -> Iterator[
        Callable[[int], None] | None]:
    """A rich progress bar for transfers of at least ``min_bytes``; None otherwise."""
    if total < min_bytes:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


class ObjectStore:
    """Content-addressed storage under an fsspec URL.

    Args:
        url: e.g. ``file:///var/lib/steplineage/objects`` or ``s3://bucket/prefix``.
        progress_min_bytes: show a progress bar for transfers at least this big.
    """

    def __init__(self, url: str, progress_min_bytes: int = 64 * 1024 * 1024):
        import fsspec

        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.root = self.root.rstrip("/")
        self.progress_min_bytes = progress_min_bytes
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        if "file" in protocols:
            self.fs.makedirs(self.root, exist_ok=True)

    def key(self, sha256: str) -> str:
        """The path of an object inside the store's filesystem."""
        return f"{self.root}/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def url_for(self, sha256: str) -> str:
        """The URL recorded in the catalog for an object."""
        return f"{self.url}/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def sha256_from_url(self, url: str) -> str:
        """The content hash encoded in an object URL of this store."""
        if not url.startswith(self.url + "/sha256/"):
            raise StagingError(f"{url} is not an object of the store at {self.url}")
        return url.rsplit("/", 1)[-1]

    def exists(self, sha256: str) -> bool:
        """Whether an object with this hash is stored."""
        return bool(self.fs.exists(self.key(sha256)))

    def put_file(self, path: Path | str, expected: Digest | None = None) -> StoredObject:
        """Store a local file, hashing it while it is copied.

        Raises:
            ChecksumMismatchError: the file changed since ``expected`` was computed.
            ObjectStoreConflictError: the key already holds content of another size.
        """
        path = Path(path)
        with _store_errors(f"storing {path} in the object store {self.url}"):
            return self._put_file(path, expected)

    def _put_file(self, path: Path, expected: Digest | None) -> StoredObject:
        size = path.stat().st_size
        if expected is not None and self.exists(expected.sha256):
            self._check_existing(expected)
            return StoredObject(self.url_for(expected.sha256), expected, created=False)
        tmp_key = f"{self.root}/tmp/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        try:
            with transfer_progress(size, f"upload {path.name}", self.progress_min_bytes) as tick, \
                    path.open("rb") as src, self.fs.open(tmp_key, "wb") as dst:
                digest = copy_and_hash(src, dst, tick)
            if expected is not None and digest.sha256 != expected.sha256:
                raise ChecksumMismatchError("output file", path, expected.sha256, digest.sha256)
            final = self.key(digest.sha256)
            if self.fs.exists(final):
                self._check_existing(digest)
                return StoredObject(self.url_for(digest.sha256), digest, created=False)
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(tmp_key, final)
            return StoredObject(self.url_for(digest.sha256), digest, created=True)
        finally:
            try:
                if self.fs.exists(tmp_key):
                    self.fs.rm(tmp_key)
            except OSError:  # the store went away; the original error says why
                pass

    def _check_existing(self, digest: Digest) -> None:
        found = self.fs.size(self.key(digest.sha256))
        if found != digest.length:
            raise ObjectStoreConflictError(
                f"object {digest.sha256} in {self.url} has {found} bytes but the content hashing "
                f"to that key has {digest.length}; the stored object is corrupt: delete it and "
                "upload again"
            )

    def get_file(self, sha256: str, dest: Path, what: str = "object") -> Digest:
        """Download an object to ``dest``, verifying its hash before it appears there.

        Raises:
            ChecksumMismatchError: the stored bytes no longer hash to ``sha256``;
                nothing is left at ``dest``.
        """
        with _store_errors(f"downloading {what} {sha256} from {self.url} to {dest}"):
            return self._get_file(sha256, dest, what)

    def _get_file(self, sha256: str, dest: Path, what: str) -> Digest:
        key = self.key(sha256)
        if not self.fs.exists(key):
            raise StagingError(f"{what} {sha256} is missing from the object store {self.url}; "
                               "is the store mounted and reachable?")
        # Verified before it is moved into place: a mismatch leaves nothing at ``dest``.
        with atomic_path(dest) as tmp:
            size = self.fs.size(key)
            with transfer_progress(size, f"download {dest.name}", self.progress_min_bytes) as tick, \
                    self.fs.open(key, "rb") as src, tmp.open("wb") as dst:
                digest = copy_and_hash(src, dst, tick)
            if digest.sha256 != sha256:
                raise ChecksumMismatchError(what, self.url_for(sha256), sha256, digest.sha256)
        return digest
