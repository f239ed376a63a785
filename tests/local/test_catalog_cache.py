"""What a host remembers of each catalog, for outages."""

from __future__ import annotations

from pathlib import Path

import pytest

from steplineage.errors import CatalogUnavailableError
from steplineage.local.catalog_cache import CatalogCache


def _down() -> list[str]:
    raise CatalogUnavailableError("catalog is unreachable")


def test_values_are_remembered_per_catalog_and_handed_back_while_it_is_down(
        tmp_path: Path) -> None:
    path = tmp_path / "catalog-cache.json"
    one, two = CatalogCache(path, "postgresql://u:***@a/x"), CatalogCache(path, "sqlite://b")
    assert one.get("resources", lambda: ["raw"]) == ["raw"]
    assert two.get("resources", lambda: ["other"]) == ["other"]
    assert CatalogCache(path, "postgresql://u:***@a/x").get("resources", _down) == ["raw"]
    with pytest.raises(CatalogUnavailableError):  # never seen: nothing to hand back
        one.get("asset_types", _down)


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "catalog-cache.json"
    path.write_text("{not json")
    cache = CatalogCache(path, "sqlite://b")
    assert cache.get("resources", lambda: ["raw"]) == ["raw"]
    assert CatalogCache(path, "sqlite://b").get("resources", _down) == ["raw"]
