"""Fixtures for export, report and CLI tests: known graphs and a headless Chromium.

``Steps`` builds pipelines over placeholder refs in a non-file resource (fast,
exact). ``chromium`` launches Debian's /usr/bin/chromium through playwright with
the network off; without it the browser tests skip, except under ``CI=true``
where they fail (the Makefile installs chromium there).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import steplineage as sl

CHROMIUM = Path(os.environ.get("STEPLINEAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class Steps:
    """Known graphs: ``step("join", reads=["b", "c"], writes=["d"])`` records one execution."""

    def __init__(self, cat: sl.Catalog):
        self.cat = cat
        cat.add_resource("db", uri="postgresql://warehouse/analytics", role="intermediate-data")
        self.ids: dict[str, str] = {}

    def step(self, name: str, reads: list[str] = (), writes: list[str] = (),  # type: ignore[assignment]
             code: list[str] = (), fail: bool = False, **config: Any) -> str:  # type: ignore[assignment]
        cfg = sl.ExecutionConfig(workflow=name, inputs=[sl.ResourceRef("db", r) for r in reads],
                                 outputs=[sl.ResourceRef("db", w) for w in writes],
                                 code=[sl.ResourceRef("db", c) for c in code], **config)
        try:
            with self.cat.create_execution(cfg) as exe:
                if fail:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass
        self.ids[name] = exe.id
        return exe.id

    def v(self, ref: str) -> str:
        """Node id of the current version of ``db:<ref>``."""
        return f"version:{self.cat.lineage.current_version_id(sl.ResourceRef('db', ref))}"

    def e(self, name: str) -> str:
        return f"execution:{self.ids[name]}"

    @staticmethod
    def labels(graph: sl.LineageGraph) -> dict[str, str]:
        return {n.id: n.label for n in graph.nodes}


@pytest.fixture
def steps(catalog: sl.Catalog) -> Steps:
    return Steps(catalog)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (playwright Browser); skips when unavailable unless CI=true.

    Module-scoped: playwright's sync API keeps an event loop of its own while it
    runs, which must not outlive the browser tests and meet other tests' asyncio.
    """
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the dev extra is not installed
        problem = f"playwright is not installed: {exc}"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium when CI=true: {problem}")
        pytest.skip(problem)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
