"""Keeping files where they belong: safe names and paths inside a working dir.

Every path steplineage builds from a user-given name goes through
:func:`safe_child`, which refuses anything that would land outside its base
directory: ``..``, absolute paths, drive letters, and symlinks that point out.

Example:
    >>> from pathlib import Path
    >>> safe_child(Path("/w"), "Model", "best.pt").as_posix()
    '/w/Model/best.pt'
    >>> safe_child(Path("/w"), "../etc/passwd")
    Traceback (most recent call last):
    ...
    steplineage.errors.AssetPathError: '../etc/passwd' would leave /w: use a plain name without '..' or a leading '/'
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from steplineage.errors import AssetPathError

__all__ = ["check_name", "is_within", "safe_child"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")


def check_name(kind: str, name: str) -> str:
    """Validate a single path component such as an asset table or metadata kind.

    Raises:
        AssetPathError: the name is empty, has a separator, or starts oddly.
    """
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise AssetPathError(
            f"{kind} {name!r} is not a valid name: use letters, digits, '_', '-', '.' and spaces, "
            "starting with a letter or digit (no '/' or '..')"
        )
    return name


def is_within(path: Path, base: Path) -> bool:
    """Whether ``path``, with symlinks resolved, is inside ``base`` (resolved)."""
    try:
        path.resolve().relative_to(base.resolve())
    except ValueError:
        return False
    return True


def safe_child(base: Path, *parts: str) -> Path:
    """``base / parts``, refusing any result that would be outside ``base``.

    Each part may contain ``/`` to name a subdirectory, but never ``..``, a
    leading ``/`` or a Windows drive; and the resolved result (following any
    symlinks that already exist) must stay inside ``base``.

    Raises:
        AssetPathError: the path would escape ``base``.
    """
    rel = PurePosixPath()
    for part in parts:
        text = str(part).replace("\\", "/")
        pure = PurePosixPath(text)
        if (not text or pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", text)
                or "\0" in text):
            raise AssetPathError(
                f"{part!r} would leave {base}: use a plain name without '..' or a leading '/'"
            )
        rel = rel / pure
    candidate = base / Path(*rel.parts)
    if not is_within(candidate, base):
        raise AssetPathError(
            f"{rel} resolves to {os.path.realpath(candidate)}, outside {base} (a symlink points "
            "out); remove the symlink or choose another name"
        )
    return candidate
