"""A pytest plugin for users' own tests: ``steplineage_catalog`` gives a throwaway catalog.

Installed with steplineage (entry point ``pytest11``), so in any project::

    def test_my_pipeline(steplineage_catalog):
        run_pipeline(catalog=steplineage_catalog)
        assert steplineage_catalog.list_executions()[0].status == "completed"
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog


@pytest.fixture
def steplineage_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    """An embedded catalog in a temporary STEPLINEAGE_HOME, closed after the test."""
    from steplineage.catalog.catalog import Catalog

    home = tmp_path / "steplineage-home"
    monkeypatch.setenv("STEPLINEAGE_HOME", str(home))
    monkeypatch.delenv("STEPLINEAGE_CATALOG_URL", raising=False)
    catalog = Catalog(home=home)
    yield catalog
    catalog.close()
