"""Content hashes: sha256 (+ md5 and length) in one streaming pass, optionally cached.

Files are read in fixed-size chunks, so memory stays constant however large
they are. A directory's hash is a Merkle hash over its sorted relative paths,
so renaming, adding or changing any file changes it. Given a cache (the host's
:class:`~steplineage.local.hashcache.HashCache`), hashes are remembered by
``(path, size, mtime_ns, inode)``: an unchanged file is never read twice.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_text("hi")
    >>> hash_path(p).sha256[:12]
    '8f434346648f'
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

__all__ = ["CHUNK_SIZE", "Digest", "DigestCache", "copy_and_hash", "hash_path"]

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Digest:
    """What a file or directory hashes to."""

    sha256: str
    md5: str
    length: int


def copy_and_hash(
    src: BinaryIO,
    dst: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
) -> Digest:
    """Read ``src`` to the end once, hashing it and (optionally) copying it to ``dst``.

    Example:
        >>> import io
        >>> copy_and_hash(io.BytesIO(b"abc")).length
        3
    """
    sha, md5, length = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    chunk = src.read(CHUNK_SIZE)
    # A file of more than one chunk hashes md5 in a second thread (hashlib releases the
    # GIL), so it goes at the speed of the slower hash, not the sum of both. The queue is
    # bounded: memory stays at a few chunks.
    chunks: queue.Queue[bytes | None] | None = None
    worker: threading.Thread | None = None
    if len(chunk) == CHUNK_SIZE:
        chunks = queue.Queue(maxsize=4)
        worker = threading.Thread(target=_md5_worker, args=(md5, chunks),
                                  name="steplineage-md5", daemon=True)
        worker.start()
    try:
        while chunk:
            if chunks is not None:
                chunks.put(chunk)
            else:
                md5.update(chunk)
            sha.update(chunk)
            length += len(chunk)
            if dst is not None:
                dst.write(chunk)
            if progress is not None:
                progress(len(chunk))
            chunk = src.read(CHUNK_SIZE)
    finally:
        if worker is not None and chunks is not None:
            chunks.put(None)
            worker.join()
    return Digest(sha.hexdigest(), md5.hexdigest(), length)


def _md5_worker(md5: Any, chunks: queue.Queue[bytes | None]) -> None:
    while (item := chunks.get()) is not None:
        md5.update(item)


class DigestCache(Protocol):
    """Where :func:`hash_path` remembers digests (the host's ``local.hashcache.HashCache``)."""

    def lookup(self, path: Path, st: os.stat_result) -> Digest | None:
        """The remembered digest of ``path`` if its stat identity is unchanged."""

    def store(self, path: Path, st: os.stat_result, digest: Digest) -> None:
        """Remember ``digest`` for ``path`` at its current stat identity."""


# Hashing a file this small is cheaper than a cache lookup and store.
CACHE_MIN_BYTES = 256 * 1024


def _hash_file(path: Path, cache: DigestCache | None) -> Digest:
    st = path.stat()
    if st.st_size < CACHE_MIN_BYTES:
        cache = None
    cached = cache.lookup(path, st) if cache is not None else None
    if cached is not None:
        return cached
    with path.open("rb") as fh:
        digest = copy_and_hash(fh)
    # Only cache if the file did not change while we read it.
    if cache is not None and path.stat().st_mtime_ns == st.st_mtime_ns:
        cache.store(path, st, digest)
    return digest


def hash_path(path: Path | str, cache: DigestCache | None = None) -> Digest:
    """Digest of a file, or the Merkle digest of a directory tree.

    For a directory, ``sha256`` is the hash of the lines
    ``"<relative posix path>\\0<file sha256>\\n"`` in sorted order (symlinks
    contribute their target text, not what they point to); ``md5`` is computed
    over the same lines; ``length`` is the total size of the files.
    """
    path = Path(path).absolute()
    if not path.is_dir():
        return _hash_file(path, cache)
    tree_sha, tree_md5, total = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    entries: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            full = Path(root, name)
            entries.append((full.relative_to(path).as_posix(), full))
    for rel, full in sorted(entries):
        if full.is_symlink():
            leaf = "link:" + os.readlink(full)
        else:
            digest = _hash_file(full, cache)
            leaf, total = digest.sha256, total + digest.length
        line = f"{rel}\0{leaf}\n".encode()
        tree_sha.update(line)
        tree_md5.update(line)
    return Digest(tree_sha.hexdigest(), tree_md5.hexdigest(), total)
