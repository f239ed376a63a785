"""Where an incoming dataset lands in the catalog: a ref (resource + subpath).

A dataset whose URI lies inside a registered resource becomes a ref of that
resource; any other lands in a resource registered for its OpenLineage
namespace (``s3://landing`` -> resource ``s3:landing``), its name the subpath.

Example:
    >>> _subpath("/lake/2024/../raw.csv")
    'lake/raw.csv'
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from steplineage.store import orm
from steplineage.openlineage.naming import to_uri

__all__ = ["Resources"]

RES = orm.Resource.__table__
_NAMESPACE = uuid.UUID("6f1e2b1c-3f0a-4c55-9a5e-0c9d3b7a4e11")
_ROLE = {"input": "source-data", "output": "intermediate-data"}


class Resources:
    """Registered resources by URI, so a dataset lands in the one that covers it."""

    def __init__(self, conn: Connection):
        rows = conn.execute(select(RES.c.id, RES.c.name, RES.c.uri)).all()
        self.by_name = {name: rid for rid, name, _ in rows}
        self.uri_of = {name: uri for _, name, uri in rows}
        self.by_uri = {uri.rstrip("/"): rid for rid, _, uri in rows}
        self.new: list[dict[str, Any]] = []
        self._memo: dict[str, tuple[str, str]] = {}

    def _covering(self, uri: str) -> tuple[str, str] | None:
        # Walk up the path: the longest registered prefix wins, in O(depth) lookups.
        candidate = uri.rstrip("/")
        floor = uri.find("://") + 3 if "://" in uri else 0
        while len(candidate) > floor:
            rid = self.by_uri.get(candidate)
            if rid is not None:
                return rid, uri[len(candidate):].strip("/")
            cut = candidate.rfind("/")
            if cut < floor:
                break
            candidate = candidate[:cut]
        return None

    def resolve(self, namespace: str, name: str, role: str, at: datetime
                ) -> tuple[str, str]:
        """(resource id, subpath) of a dataset: inside the registered resource covering
        its URI, else inside a resource registered for its namespace (``s3://b`` -> ``s3:b``)."""
        uri = to_uri(namespace, name)
        found = self._memo.get(uri)
        if found is not None:
            return found
        covering = self._covering(uri)
        if covering is not None:
            found = (covering[0], _subpath(covering[1]))
        else:
            res_name = (namespace.replace("://", ":").replace("/", "_").replace("\0", "") or
                        "openlineage")[:240]
            base = to_uri(namespace, "")
            if self.uri_of.get(res_name, base) != base:  # the name is taken by a user's resource
                res_name += "-openlineage"
            rid = self.by_name.get(res_name)
            if rid is None:
                rid = self.by_name[res_name] = str(uuid.uuid5(_NAMESPACE,
                                                              "resource\0" + res_name))
                self.uri_of[res_name] = base
                self.new.append({"id": rid, "name": res_name, "uri": base, "role": _ROLE[role],
                                 "description": "registered by OpenLineage ingest for datasets "
                                                f"of namespace {namespace}",
                                 "created_at": at})
            found = (rid, _subpath(name))
        self._memo[uri] = found
        return found


def _subpath(name: str) -> str:
    """A dataset name as a subpath: relative, normalised, never climbing out ('' = whole)."""
    if not name.strip("/"):
        return ""
    sub = posixpath.normpath(name.replace("\\", "/").replace("\0", "")).strip("/")
    if sub in ("", ".") or sub == ".." or sub.startswith("../"):
        return "_" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return sub


