"""Datasets: named, versioned collections of assets and ref versions.

Example:
    >>> store = Store("sqlite://")
    >>> create_dataset(store, "training", "")
    >>> add_dataset_version(store, "training", [], "empty")
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from steplineage.errors import NotFoundError
from steplineage.hashing import Digest
from steplineage.ids import new_id
from steplineage.models import ResourceRef
from steplineage.store import orm
from steplineage.store.store import Store
from steplineage.store.versions import current_version

__all__ = ["DatasetMembers", "RefMember", "add_dataset_version", "create_dataset",
           "dataset_members"]


@dataclass(frozen=True)
class RefMember:
    """A ref to pin in a dataset version, with its content digest when readable here."""

    resource_id: str
    ref: ResourceRef
    digest: Digest | None


@dataclass(frozen=True)
class DatasetMembers:
    """One dataset version: its id, number, asset ids and pinned refs."""

    id: str
    version: int
    asset_ids: tuple[str, ...]
    refs: tuple[dict[str, str | None], ...]


def create_dataset(store: Store, name: str, description: str) -> None:
    """Create dataset ``name`` unless it exists."""
    with store.session() as s:
        if s.scalars(select(orm.Dataset).where(orm.Dataset.name == name)).first() is None:
            s.add(orm.Dataset(id=new_id(), name=name, description=description))


def add_dataset_version(store: Store, name: str, members: Sequence[str | RefMember],
                        description: str) -> int:
    """Freeze the next version of ``name`` with these members (asset ids or refs); its number.

    Raises:
        NotFoundError: no such dataset, or a member that is not an asset id.
    """
    with store.session() as s:
        ds = s.scalars(select(orm.Dataset).where(orm.Dataset.name == name)).first()
        if ds is None:
            raise NotFoundError(f"no dataset {name!r}: create it with "
                                f"cat.create_dataset({name!r})")
        latest = s.scalars(select(orm.DatasetVersion.version)
                           .where(orm.DatasetVersion.dataset_id == ds.id)
                           .order_by(orm.DatasetVersion.version.desc()).limit(1)).first()
        dv = orm.DatasetVersion(id=new_id(), dataset_id=ds.id, version=(latest or 0) + 1,
                                description=description)
        s.add(dv)
        for member in members:
            if isinstance(member, RefMember):
                version = current_version(s, member.resource_id, member.ref, member.digest)
                s.add(orm.DatasetMember(dataset_version_id=dv.id, version_id=version.id))
            else:
                if s.get(orm.Asset, member) is None:
                    raise NotFoundError(f"dataset member {member!r} is not an asset id")
                s.add(orm.DatasetMember(dataset_version_id=dv.id, asset_id=member))
        return dv.version


def dataset_members(store: Store, name: str, version: int | None) -> DatasetMembers:
    """Version ``version`` (default: the newest) of dataset ``name``.

    Raises:
        NotFoundError: the dataset has no such version.
    """
    with store.session() as s:
        query = (select(orm.DatasetVersion).join(orm.Dataset)
                 .where(orm.Dataset.name == name))
        if version is not None:
            query = query.where(orm.DatasetVersion.version == version)
        dv = s.scalars(query.order_by(orm.DatasetVersion.version.desc()).limit(1)).first()
        if dv is None:
            raise NotFoundError(f"dataset {name!r} has no version "
                                f"{version if version is not None else '(any)'}")
        members = s.scalars(select(orm.DatasetMember)
                            .where(orm.DatasetMember.dataset_version_id == dv.id)).all()
        refs = tuple({"resource": r_name, "subpath": v.subpath or None, "hash": v.hash}
                     for v, r_name in s.execute(
                         select(orm.Version, orm.Resource.name)
                         .join(orm.Resource, orm.Resource.id == orm.Version.resource_id)
                         .where(orm.Version.id.in_(
                             [m.version_id for m in members if m.version_id]))))
        return DatasetMembers(dv.id, dv.version,
                              tuple(m.asset_id for m in members if m.asset_id), refs)
