"""What a ref holds right now: a content hash when it can be read, a placeholder otherwise.

A ref inside a local file resource is hashed (files by content, directories
as a Merkle tree). A ref whose content steplineage cannot read (a table, a
remote prefix) gets a placeholder: the version most recently written to it by a
completed execution, or one stable "initial" placeholder per ref, so that
readers and writers of the same table still meet in the lineage graph.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steplineage.hashing import Digest
from steplineage.models import ResourceRef
from steplineage.store import orm
from steplineage.store.engine import insert_skipping_existing

if TYPE_CHECKING:
    from steplineage.store.store import Store

__all__ = ["current_hash", "current_version", "get_or_create_version", "insert_or_lose_race",
           "VERSION_KEY", "latest_output", "placeholder_hash",
           "version_id_for"]


def placeholder_hash(ref: ResourceRef, tag: str) -> str:
    """A stable placeholder version id for ``ref`` (``placeholder:<16 hex>``)."""
    return "placeholder:" + hashlib.sha256(f"{ref}\0{tag}".encode()).hexdigest()[:16]


def get_or_create_version(session: Session, resource_id: str, subpath: str | None, hash_: str,
                          kind: str, length: int | None) -> orm.Version:
    """The version row for (ref, hash), created if new (see :func:`version_id_for`)."""
    return session.get(orm.Version, version_id_for(session, resource_id, subpath, hash_, kind,
                                                   length))


_VERSION_ID_BY_KEY = select(orm.Version.id).where(orm.Version.resource_id == bindparam("resource_id"),
                                                orm.Version.subpath == bindparam("subpath"),
                                                orm.Version.hash == bindparam("hash"))


def version_id_for(session: Session, resource_id: str, subpath: str | None, hash_: str,
                   kind: str, length: int | None) -> str:
    """The id of the version row for (ref, hash), created if new.

    Column rows, not ORM objects; a new version costs one SELECT and one INSERT. (A step's
    own writes resolve versions in bulk in :mod:`~steplineage.store.apply`.)
    """
    key = {"resource_id": resource_id, "subpath": subpath or "", "hash": hash_}
    found = session.execute(_VERSION_ID_BY_KEY, key).scalar()
    if found is not None:
        return found
    new_id = orm.new_id()
    inserted = session.execute(insert_skipping_existing(session, orm.Version.__table__, VERSION_KEY),
                               {"id": new_id, **key, "kind": kind, "length": length,
                                "created_at": orm.utcnow()})
    if inserted.rowcount == 1:
        return new_id
    return session.execute(_VERSION_ID_BY_KEY, key).scalar_one()  # a concurrent writer's row


#: What makes a version row unique: one row per (ref, content hash).
VERSION_KEY = ["resource_id", "subpath", "hash"]


def insert_or_lose_race(session: Session, row: object) -> bool:
    """Insert ``row`` in a savepoint; False if a concurrent writer inserted it first."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def latest_output(session: Session, resource_id: str, subpath: str) -> orm.Version | None:
    """The version most recently written (by a valid output edge) to a ref, else None."""
    return session.scalars(
        select(orm.Version).join(orm.LineageEdge, orm.LineageEdge.version_id == orm.Version.id)
        .where(orm.Version.resource_id == resource_id, orm.Version.subpath == subpath,
               orm.LineageEdge.role == "output", orm.LineageEdge.valid.is_(True))
        .order_by(orm.LineageEdge.created_at.desc()).limit(1)).first()


def current_version(session: Session, resource_id: str, ref: ResourceRef,
                    digest: Digest | None) -> orm.Version:
    """The version ``ref`` holds now: its content hash (``digest``, computed by the caller
    outside the transaction), else the newest valid version written to it, else its
    initial placeholder."""
    if digest is not None:
        return get_or_create_version(session, resource_id, ref.subpath, digest.sha256, "sha256",
                                     digest.length)
    latest = latest_output(session, resource_id, ref.subpath or "")
    if latest is not None:
        return latest
    return get_or_create_version(session, resource_id, ref.subpath,
                                 placeholder_hash(ref, "initial"), "placeholder", None)


def current_hash(store: Store, resource_id: str, ref: ResourceRef) -> tuple[str, str]:
    """(hash, kind) of the version ``ref`` holds now by the catalog's account (no hashing).

    Example:
        >>> current_hash(store, resource.id, ResourceRef("raw", "jan.csv"))  # doctest: +SKIP
        ('placeholder:0f3c...', 'placeholder')
    """
    with store.session() as s:
        version = current_version(s, resource_id, ref, None)
        return version.hash, version.kind
