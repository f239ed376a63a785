"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every write goes to a unique temporary name next to the target (the same
directory, so the rename never crosses file systems; unique, so two writers
never share one), which ``os.replace`` then puts in place. With
``durable=True`` the file is fsynced before the rename and its directory after
it, so the new content also survives a power loss. Temporary names look like
``.<name>.<random>.tmp`` (:func:`is_temporary`), which output scanning skips.

Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "results.json"
    >>> write_json(target, {"rows": 1})
    >>> target.read_text()
    '{\\n  "rows": 1\\n}'
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "is_temporary", "write_bytes", "write_json", "write_text"]

_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: Path | str, *, durable: bool = False) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; moved into place if the block succeeds.

    The parent directory is created if needed. When the block raises, nothing
    is left behind and ``path`` is untouched.

    Example:
        >>> with atomic_path(Path(tempfile.mkdtemp()) / "report.docx") as tmp:  # doctest: +SKIP
        ...     document.save(str(tmp))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would survive the rename; a plain create honours the umask.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{_SUFFIX}")
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
        if durable:
            _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path | str, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path | str, text: str, *, durable: bool = False) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically, line endings as given."""
    write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(path: Path | str, data: Any, *, durable: bool = False) -> None:
    """Write ``data`` as indented JSON (sorted keys; other values as ``str``) atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str), durable=durable)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_path`'s temporary names (a write under way)."""
    return name.startswith(".") and name.endswith(_SUFFIX)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
