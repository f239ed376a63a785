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

from steplineage.models import ResourceRecord
from steplineage.openlineage.naming import to_uri
from steplineage.ops import ResourceAdded

__all__ = ["Resources"]

_NAMESPACE = uuid.UUID("6f1e2b1c-3f0a-4c55-9a5e-0c9d3b7a4e11")
_ROLE = {"input": "source-data", "output": "intermediate-data"}


class Resources:
    """Registered resources by URI, so a dataset lands in the one that covers it."""

    def __init__(self, registered: list[ResourceRecord]):
        self.by_name = {r.name: r.id for r in registered}
        self.uri_of = {r.name: r.uri for r in registered}
        self.by_uri = {r.uri.rstrip("/"): r.id for r in registered}
        self.name_by_id = {r.id: r.name for r in registered}
        self.new: list[ResourceAdded] = []  # to register before the edges that use them
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
                ) -> tuple[str, str, str]:
        """(resource id, resource name, subpath) of a dataset: inside the registered resource
        covering its URI, else inside a resource registered for its namespace
        (``s3://b`` -> ``s3:b``)."""
        uri = to_uri(namespace, name)
        found = self._memo.get(uri)
        if found is not None:
            return found
        covering = self._covering(uri)
        if covering is not None:
            found = (covering[0], self.name_by_id[covering[0]], _subpath(covering[1]))
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
                self.new.append(ResourceAdded(
                    id=rid, name=res_name, uri=base, role=_ROLE[role], at=at,
                    description=f"registered by OpenLineage ingest for datasets of namespace "
                                f"{namespace}"))
            found = (rid, res_name, _subpath(name))
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


