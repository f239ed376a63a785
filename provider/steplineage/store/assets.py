"""Asset rows and the two vocabularies they use (asset tables, asset types).

Example:
    >>> store = Store("sqlite://")
    >>> add_term(store, "asset_table", "Model", "Trained models")
    >>> list_terms(store, "asset_table")["Model"]
    'Trained models'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select

from steplineage.models import AssetRecord
from steplineage.store import orm
from steplineage.store.records import asset_record
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race

__all__ = ["add_term", "assets_by_content", "get_asset", "list_assets", "list_terms"]

Vocabulary = Literal["asset_table", "asset_type"]
_TABLES: dict[str, type[orm.AssetTable] | type[orm.AssetType]] = {
    "asset_table": orm.AssetTable, "asset_type": orm.AssetType}


def add_term(store: Store, vocabulary: Vocabulary, name: str, description: str) -> None:
    """Add ``name`` to a vocabulary unless it is there (race-safe)."""
    table = _TABLES[vocabulary]
    with store.session() as s:
        if s.get(table, name) is None:
            insert_or_lose_race(s, table(name=name, description=description))


def list_terms(store: Store, vocabulary: Vocabulary) -> dict[str, str]:
    """A vocabulary's terms with their descriptions, by name."""
    table = _TABLES[vocabulary]
    with store.session() as s:
        return {t.name: t.description for t in s.scalars(select(table).order_by(table.name))}


def get_asset(store: Store, asset_id: str) -> AssetRecord | None:
    """The asset with this id, or None."""
    with store.session() as s:
        row = s.get(orm.Asset, asset_id)
        return None if row is None else asset_record(row)


def list_assets(store: Store, asset_table: str | None = None,
                asset_type: str | None = None) -> list[AssetRecord]:
    """Assets in creation order, optionally of one table and/or carrying one type."""
    query = select(orm.Asset).order_by(orm.Asset.created_at, orm.Asset.filename)
    if asset_table is not None:
        query = query.where(orm.Asset.asset_table == asset_table)
    if asset_type is not None:
        query = query.join(orm.AssetTypeLink).where(orm.AssetTypeLink.type_name == asset_type)
    with store.session() as s:
        return [asset_record(a) for a in s.scalars(query)]


def assets_by_content(store: Store, sha256s: Iterable[str]
                      ) -> dict[tuple[str, str, str], AssetRecord]:
    """Stored assets with these digests, by (asset table, sha256, filename)."""
    wanted = set(sha256s)
    with store.session() as s:
        return {(a.asset_table, a.sha256, a.filename): asset_record(a) for a in
                s.scalars(select(orm.Asset).where(orm.Asset.sha256.in_(wanted)))}
