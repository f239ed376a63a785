"""The documentation site builds without warnings, and its generated reference
pages cover the whole CLI and every public name."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer


REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "docs" / "hooks" / "reference.py"


def _hook():
    spec = importlib.util.spec_from_file_location("steplineage_docs_reference_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _command_paths(command, prefix: str = "steplineage") -> list[str]:
    paths = [prefix]
    # Typer ships its own copy of click, so test for a group by its commands.
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, f"{prefix} {name}")
    return paths


def test_cli_reference_documents_every_command() -> None:
    from steplineage.cli import app

    text = _hook().cli_reference()
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("##")}
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 10
    for path in paths[1:]:
        assert f"`{path}`" in headings, f"{path} is missing from the CLI reference"
    assert not [line for line in text.splitlines() if line.startswith("# ")], \
        "generated headings must sit below the page title"


@pytest.mark.parametrize("package", ["steplineage", "steplineage.airflow",
                                     "steplineage.prefect"])
def test_api_reference_documents_every_public_name(package: str) -> None:
    pkg = importlib.import_module(package)
    text = _hook().api_reference(package)
    blocks = [line for line in text.splitlines() if line.startswith("::: ")]
    public = [name for name in pkg.__all__ if not name.startswith("__")]
    assert sorted(b.rsplit(".", 1)[1] for b in blocks) == sorted(public)
    for block in blocks:  # each points at the module that really defines the name
        module, name = block[4:].rsplit(".", 1)
        assert getattr(importlib.import_module(module), name) is getattr(pkg, name)


def test_hook_replaces_only_its_markers() -> None:
    hook = _hook()
    page = "# T\n\nplain text mentioning cli-reference\n"
    assert hook.on_page_markdown(page, None, None, None) == page


@pytest.mark.slow
def test_mkdocs_build_strict_has_no_warnings(tmp_path: Path) -> None:
    """What `make docs` runs: a strict build (any warning fails it)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([str(Path(sys.executable).with_name("mkdocs")), "build", "--strict",
                           "-d", str(tmp_path / "site")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr
    cli_page = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "steplineage lineage graph" in cli_page
    api_page = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "create_execution" in api_page
    # "Example:" sections render as highlighted Python, not as block quotes.
    assert '<span class="gp">&gt;&gt;&gt; </span>' in api_page
    assert "<blockquote>" not in api_page
    assert (tmp_path / "site" / "images" / "airflow-lineage-tab.png").exists()
