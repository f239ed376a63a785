"""Content hashes, the stat-keyed cache, and the content-addressed object store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import steplineage as sl
from steplineage.hashing import CACHE_MIN_BYTES, hash_path
from steplineage.local.hashcache import HashCache
from steplineage.objectstore import ObjectStore


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # spans several chunks
    p.write_bytes(payload)
    d = hash_path(p)
    assert d.sha256 == hashlib.sha256(payload).hexdigest()
    assert d.md5 == hashlib.md5(payload).hexdigest()
    assert d.length == len(payload)


def test_directory_merkle_hash_sees_renames_and_changes(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    first = hash_path(root)
    assert hash_path(root) == first
    assert first.length == 2
    (root / "sub" / "b.txt").rename(root / "sub" / "c.txt")
    renamed = hash_path(root)
    assert renamed.sha256 != first.sha256
    (root / "sub" / "c.txt").write_text("B")
    assert hash_path(root).sha256 not in (first.sha256, renamed.sha256)
    # independent of creation order
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "sub" / "c.txt").write_text("B")
    (other / "a.txt").write_text("a")
    assert hash_path(other).sha256 == hash_path(root).sha256


def test_cache_skips_rehashing_unchanged_files(tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "cache.db")
    p = tmp_path / "data.bin"
    big = CACHE_MIN_BYTES  # smaller files are hashed every time (cheaper than the cache)
    p.write_bytes(b"o" * big)
    st = p.stat()
    first = hash_path(p, cache)
    # Same size and mtime, different bytes: only a cache hit returns the old digest.
    p.write_bytes(b"O" * big)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert hash_path(p, cache) == first
    assert hash_path(p) != first  # without the cache the change is seen
    p.write_bytes(b"changed and longer" * big)
    assert hash_path(p, cache).sha256 == hashlib.sha256(b"changed and longer" * big).hexdigest()


def test_small_files_are_always_hashed_afresh(tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "cache.db")
    p = tmp_path / "small.txt"
    p.write_bytes(b"original")
    st = p.stat()
    hash_path(p, cache)
    p.write_bytes(b"ORIGINAL")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert hash_path(p, cache).sha256 == hashlib.sha256(b"ORIGINAL").hexdigest()


def test_object_store_is_content_addressed_and_verifies(tmp_path: Path) -> None:
    store = ObjectStore(f"file://{tmp_path / 'objects'}")
    src = tmp_path / "m.bin"
    src.write_bytes(b"model")
    first = store.put_file(src)
    again = store.put_file(src, expected=first.digest)
    assert first.created and not again.created and first.url == again.url
    dest = tmp_path / "out" / "m.bin"
    assert store.get_file(first.digest.sha256, dest).sha256 == first.digest.sha256
    assert dest.read_bytes() == b"model"
    Path(store.key(first.digest.sha256)).write_bytes(b"MODEL")
    with pytest.raises(sl.ChecksumMismatchError):
        store.get_file(first.digest.sha256, tmp_path / "out" / "bad.bin")
    assert not (tmp_path / "out" / "bad.bin").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["m.bin"]  # no .part left


def test_object_store_never_overwrites_different_content(tmp_path: Path) -> None:
    store = ObjectStore(f"file://{tmp_path / 'objects'}")
    src = tmp_path / "m.bin"
    src.write_bytes(b"model")
    stored = store.put_file(src)
    Path(store.key(stored.digest.sha256)).write_bytes(b"truncated-and-different")
    with pytest.raises(sl.ObjectStoreConflictError, match="corrupt"):
        store.put_file(src)
    assert Path(store.key(stored.digest.sha256)).read_bytes() == b"truncated-and-different"


def test_upload_refuses_a_file_that_changed_since_hashing(tmp_path: Path) -> None:
    store = ObjectStore(f"file://{tmp_path / 'objects'}")
    src = tmp_path / "m.bin"
    src.write_bytes(b"v1")
    digest = hash_path(src)
    src.write_bytes(b"v2")
    with pytest.raises(sl.ChecksumMismatchError):
        store.put_file(src, expected=digest)
    assert not any(p.is_file() for p in (tmp_path / "objects").rglob("*"))


def test_large_file_digest_and_copy_match_hashlib(tmp_path: Path) -> None:
    """Files of several chunks hash md5 in a second thread; the digests must not change."""
    import io

    from steplineage.hashing import CHUNK_SIZE, copy_and_hash

    data = os.urandom(3 * CHUNK_SIZE + 17)
    copy, seen = io.BytesIO(), []
    digest = copy_and_hash(io.BytesIO(data), copy, seen.append)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.md5 == hashlib.md5(data).hexdigest()
    assert digest.length == len(data) == sum(seen)
    assert copy.getvalue() == data
