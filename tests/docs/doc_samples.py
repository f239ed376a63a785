"""Extract the runnable samples of the docs/ pages.

A sample is a fenced ```python block (run as Python) or a ```console block
whose lines start with ``$ steplineage`` (each such command is run and must exit
0; its printed output is not compared, as it holds times and ids). A block is
skipped when the line before its fence is ``<!-- no-run: reason -->``; the reason
is required, so a skipped sample always says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_NO_RUN = re.compile(r"^<!--\s*no-run\s*(?::\s*(?P<reason>.*?))?\s*-->$")


class DocSampleError(ValueError):
    """A docs page whose samples cannot be read (bad marker, unclosed fence)."""


@dataclass(frozen=True)
class Sample:
    """One runnable sample: where it is, what kind, its code, why it is skipped."""

    page: str
    line: int  # 1-based line of the opening fence
    kind: str  # "python" or "console"
    code: str  # Python source, or the console commands one per line (no "$ ")
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def console_commands(block: str) -> list[str]:
    """The ``$ steplineage ...`` commands of a console block, continuations joined.

    Example:
        >>> console_commands("$ steplineage demo\\nout\\n$ steplineage report \\\\\\n  status")
        ['steplineage demo', 'steplineage report status']
    """
    commands: list[str] = []
    pending: str | None = None
    for line in block.splitlines():
        if pending is not None:
            pending += " " + line.strip()
        elif line.startswith("$ steplineage"):
            pending = line[2:].strip()
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        commands.append(pending)
        pending = None
    if pending is not None:
        commands.append(pending)
    return commands


def extract(text: str, page: str) -> list[Sample]:
    """All python and console samples of one page's markdown, in page order."""
    samples: list[Sample] = []
    lines = text.splitlines()
    i = 0
    previous = ""  # last non-blank line outside a fence
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, info, start = match["fence"], match["info"].lower(), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(match["indent"]):])
            i += 1
        if i == len(lines):
            raise DocSampleError(f"{page}:{start + 1}: the {fence} fence is never closed")
        i += 1
        skip = None
        marker = _NO_RUN.match(previous)
        if marker:
            skip = (marker["reason"] or "").strip()
            if not skip:
                raise DocSampleError(
                    f"{page}:{start}: a no-run marker needs a reason, "
                    "e.g. <!-- no-run: needs a running Airflow api-server -->")
        previous = ""
        code = "\n".join(body) + "\n"
        if info in ("python", "py"):
            samples.append(Sample(page, start + 1, "python", code, skip))
        elif info == "console":
            commands = console_commands(code)
            if commands:
                samples.append(Sample(page, start + 1, "console", "\n".join(commands), skip))
    return samples


def pages() -> list[Path]:
    """Every markdown page under docs/, sorted, then the README (its samples teach too)."""
    return [*sorted(DOCS.rglob("*.md")), DOCS.parent / "README.md"]


def page_samples(path: Path) -> list[Sample]:
    """The samples of one page (named relative to the repository)."""
    return extract(path.read_text(encoding="utf-8"), path.relative_to(DOCS.parent).as_posix())
