"""Every code sample in docs/ and the README runs, so the docs cannot drift from the code.

Each page's ```python blocks and ``$ steplineage`` console commands run in order
in a fresh process, with an empty STEPLINEAGE_HOME and an empty cwd (see
doc_samples.py for the rules, including ``<!-- no-run: reason -->``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from doc_samples import DOCS, DocSampleError, extract, page_samples, pages

RUNNER = Path(__file__).with_name("page_runner.py")


def _runnable_pages() -> list[pytest.param]:
    params = []
    for path in pages():
        samples = page_samples(path)
        if not any(s.skip is None for s in samples):
            continue
        # Each page runs in its own interpreter, with its CLI commands as processes: seconds.
        params.append(pytest.param(path, id=path.relative_to(DOCS.parent).as_posix(),
                                   marks=[pytest.mark.slow]))
    return params


@pytest.mark.parametrize("page", _runnable_pages())
def test_page_samples_run(page: Path, tmp_path: Path) -> None:
    """All runnable samples of the page succeed, top to bottom, on a fresh catalog."""
    samples = [s for s in page_samples(page) if s.skip is None]
    spec = tmp_path / "samples.json"
    spec.write_text(json.dumps([{"where": s.where, "kind": s.kind, "code": s.code}
                                for s in samples]))
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("STEPLINEAGE_") or k == "STEPLINEAGE_TEST_PG_URL"}
    env.update(STEPLINEAGE_HOME=str(home), COLUMNS="140",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               AIRFLOW_HOME=str(tmp_path / "airflow"))
    done = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{page.name}:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"


def test_every_page_parses() -> None:
    """Fences are closed and every no-run marker has a reason, on every page."""
    for path in pages():
        page_samples(path)  # raises DocSampleError


def test_no_run_marker_needs_reason() -> None:
    text = "<!-- no-run -->\n```python\nimport nothing_here\n```\n"
    with pytest.raises(DocSampleError, match="needs a reason"):
        extract(text, "x.md")


def test_no_run_marker_skips_with_reason() -> None:
    text = ("```python\nx = 1\n```\n\n<!-- no-run: needs a running Prefect server -->\n"
            "```python\nserve()\n```\n")
    first, second = extract(text, "x.md")
    assert (first.skip, first.line) == (None, 1)
    assert (second.skip, second.line) == ("needs a running Prefect server", 6)


def test_console_blocks_run_only_steplineage_commands() -> None:
    text = ("```console\n$ export X=1\n$ steplineage report status\nout\n"
            "$ steplineage lineage graph g.dot \\\n    --format dot\n```\n"
            "```console\n$ airflow standalone\n```\n")
    (sample,) = extract(text, "x.md")
    assert sample.kind == "console"
    assert sample.code.splitlines() == ["steplineage report status",
                                        "steplineage lineage graph g.dot --format dot"]


def test_unclosed_fence_is_an_error() -> None:
    with pytest.raises(DocSampleError, match="never closed"):
        extract("text\n```python\nx = 1\n", "x.md")


def test_failing_sample_fails_the_run(tmp_path: Path) -> None:
    """The runner reports the page and line of the first failing sample."""
    spec = tmp_path / "samples.json"
    spec.write_text(json.dumps([
        {"where": "p.md:1", "kind": "python", "code": "x = 41\n"},
        {"where": "p.md:5", "kind": "python", "code": "assert x == 42, 'drifted'\n"}]))
    done = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAILED: python sample at p.md:5" in done.stdout
    assert "drifted" in done.stderr
