"""Where a workflow's code comes from: git remote, commit, dirtiness, checksum.

Example:
    >>> info = source_info(__file__)
    >>> len(info.checksum)
    64
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from steplineage.hashing import hash_path

__all__ = ["SourceInfo", "source_info"]


@dataclass(frozen=True)
class SourceInfo:
    """What steplineage records about a workflow's source file."""

    checksum: str
    url: str | None
    commit: str | None
    dirty: bool | None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _browsable(remote: str) -> str:
    """``git@github.com:o/r.git`` → ``https://github.com/o/r`` (other remotes unchanged)."""
    match = re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?$", remote)
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    return re.sub(r"\.git$", "", remote)


def source_info(path: Path | str) -> SourceInfo:
    """Checksum of ``path`` and, when it is in a git checkout, its remote URL@commit.

    The URL is ``<remote>/blob/<commit>/<path in repo>`` (the shape GitHub and
    GitLab serve); without a remote it is ``file://<repo>@<commit>/<path>``.
    """
    path = Path(path).resolve()
    checksum = hash_path(path).sha256
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if top is None:
        return SourceInfo(checksum=checksum, url=path.as_uri(), commit=None, dirty=None)
    commit = _git(path.parent, "rev-parse", "HEAD")
    status = _git(path.parent, "status", "--porcelain")
    rel = path.relative_to(Path(top).resolve()).as_posix()
    remote = _git(path.parent, "config", "--get", "remote.origin.url")
    if commit is None:
        url = path.as_uri()
    elif remote:
        url = f"{_browsable(remote)}/blob/{commit}/{rel}"
    else:
        url = f"file://{top}@{commit}/{rel}"
    return SourceInfo(checksum=checksum, url=url, commit=commit,
                      dirty=None if status is None else bool(status))
