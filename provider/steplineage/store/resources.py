"""Resource rows: named locations (file trees, prefixes, tables) refs point into.

Example:
    >>> store = Store("sqlite://")
    >>> insert_resource(store, "raw", "file:///data/raw", "source-data", "").uri
    'file:///data/raw'
    >>> [r.name for r in list_resources(store)]
    ['raw']
"""

from __future__ import annotations

from sqlalchemy import select

from steplineage.ids import new_id
from steplineage.models import ResourceRecord
from steplineage.store import orm
from steplineage.store.records import resource_record
from steplineage.store.store import Store
from steplineage.store.versions import insert_or_lose_race

__all__ = ["insert_resource", "list_resources"]


def insert_resource(store: Store, name: str, uri: str, role: str,
                    description: str) -> ResourceRecord:
    """The resource called ``name``: the one already there (whatever its URI), else a new one.

    The caller compares URIs: a name taken by another URI is the caller's error to word.
    """
    by_name = select(orm.Resource).where(orm.Resource.name == name)
    with store.session() as s:
        row = s.scalars(by_name).first()
        if row is None:
            row = orm.Resource(id=new_id(), name=name, uri=uri, role=role,
                               description=description)
            if not insert_or_lose_race(s, row):  # another process registered it meanwhile
                row = s.scalars(by_name).one()
        return resource_record(row)


def list_resources(store: Store) -> list[ResourceRecord]:
    """Every resource, by name."""
    with store.session() as s:
        return [resource_record(r) for r in
                s.scalars(select(orm.Resource).order_by(orm.Resource.name))]
