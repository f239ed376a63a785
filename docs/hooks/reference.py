"""mkdocs hook: generate the CLI and Python API reference pages at build time.

The pages ``cli.md`` and ``api.md`` hold a marker comment; this hook replaces it
with text derived from the code itself, so the reference cannot drift:

* ``<!-- cli-reference -->`` -> Typer's own doc generator
  (``typer steplineage.cli utils docs``), run in a subprocess so the build sees
  exactly what a user's ``steplineage --help`` would;
* ``<!-- api-reference -->`` (or ``<!-- api-reference: steplineage.airflow -->``)
  -> one mkdocstrings ``:::`` block per public name in the package's
  ``__all__``, grouped by defining module (the packages load names lazily, which
  static analysis cannot follow, so we point at the module that defines each).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

CLI_MARKER = "<!-- cli-reference -->"
# <!-- api-reference --> (steplineage) or <!-- api-reference: steplineage.airflow -->
API_MARKER = re.compile(r"<!-- api-reference(?::\s*(?P<package>[\w.]+))?\s*-->")


def cli_reference() -> str:
    """Markdown for every ``steplineage`` command, one heading level below the page title."""
    typer_cli = Path(sys.executable).with_name("typer")
    out = subprocess.run(
        [str(typer_cli), "steplineage.cli", "utils", "docs", "--name", "steplineage"],
        check=True, capture_output=True, text=True, timeout=120)
    lines, fenced = [], False
    for line in out.stdout.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        # The page has its own H1; demote the generated headings by one level.
        if not fenced and line.startswith("#"):
            line = "#" + line
        lines.append(line)
    return "\n".join(lines) + "\n"


def api_reference(package: str = "steplineage") -> str:
    """Markdown with a mkdocstrings block for each public name of ``package``, by module.

    Packages that export lazily name each defining module in ``_EXPORTS``; for the
    others the object itself says where it is defined.
    """
    pkg = importlib.import_module(package)
    exports: dict[str, str] = getattr(pkg, "_EXPORTS", {})
    by_module: dict[str, list[str]] = defaultdict(list)
    for name in pkg.__all__:
        if name.startswith("__"):
            continue
        module = exports.get(name) or getattr(getattr(pkg, name), "__module__", package)
        by_module[module].append(name)
    parts = []
    for module in sorted(by_module):
        parts.append(f"## `{module}`\n")
        for name in sorted(by_module[module]):
            parts.append(f"::: {module}.{name}\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs API
    """Replace the reference markers (mkdocs calls this for every page)."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    markdown = API_MARKER.sub(lambda m: api_reference(m["package"] or "steplineage"), markdown)
    return markdown
