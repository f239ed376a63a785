"""Airflow Assets, URIs and local paths as catalog refs (resources registered as needed).

A step's inputs and outputs may be given as :class:`~steplineage.ResourceRef`,
as Airflow ``Asset`` objects (also through a task's ``inlets``/``outlets``), as
URIs (``s3://bucket/key``) or as absolute local paths. Each resolves to a ref:

1. a resource registered with exactly this URI;
2. else the innermost registered resource containing it (a subpath ref);
3. else a new resource for this URI, named after the Asset (or the last path
   segment), with a short hash appended if that name is taken.

Only public :class:`~steplineage.Catalog` methods are used here: no SQL.

Example:
    >>> from airflow.sdk import Asset
    >>> raw = Asset(name="raw_orders", uri="file:///data/raw/orders.csv")
    >>> to_ref(cat, raw, "source-data")  # doctest: +SKIP
    ResourceRef(name='raw_orders', subpath=None)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from steplineage.errors import ConfigurationError, UnknownResourceError
from steplineage.models import ResourceRecord, ResourceRef, ResourceRole

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["assets_of", "is_airflow_asset", "to_ref"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def is_airflow_asset(value: Any) -> bool:
    """Whether ``value`` is an Airflow ``Asset`` (by duck type: a name and a URI).

    Example:
        >>> from airflow.sdk import Asset
        >>> is_airflow_asset(Asset("s3://b/k")), is_airflow_asset("s3://b/k")
        (True, False)
    """
    from airflow.sdk import Asset

    return isinstance(value, Asset)


def assets_of(values: Iterable[Any] | None) -> list[Any]:
    """The Airflow Assets among ``values`` (aliases and asset references are left out).

    Example:
        >>> from airflow.sdk import Asset, AssetAlias
        >>> [a.uri for a in assets_of([Asset("s3://b/k"), AssetAlias("x")])]
        ['s3://b/k']
    """
    return [v for v in (values or []) if is_airflow_asset(v)]


def to_ref(cat: Catalog, spec: Any, role: ResourceRole | str) -> ResourceRef:
    """The ref for an input/output spec, registering a resource if none covers it.

    Args:
        spec: a ResourceRef, an Airflow Asset, a URI or an absolute local path.
        role: the role of a resource registered here (source-data for inputs,
            intermediate-data for outputs).

    Raises:
        ConfigurationError: a relative path (ambiguous in a task process).
        UnknownResourceError: a ResourceRef naming no registered resource.

    Example:
        >>> to_ref(cat, "/data/raw/jan.csv", "source-data")  # doctest: +SKIP
        ResourceRef(name='raw', subpath='jan.csv')
    """
    if isinstance(spec, ResourceRef):
        return cat.resolve_ref(spec)
    if is_airflow_asset(spec):
        return _ref_for_uri(cat, spec.uri, spec.name, role)
    text = str(spec)
    if "://" in text:
        return _ref_for_uri(cat, text, text, role)
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise ConfigurationError(
            f"{text!r} is a relative path; task processes run in temporary directories, so give "
            "an absolute path, an Asset('file:///abs/path') or a ResourceRef")
    return _ref_for_uri(cat, path.as_uri(), path.name, role)


def _ref_for_uri(cat: Catalog, uri: str, name_hint: str, role: ResourceRole | str
                 ) -> ResourceRef:
    uri = uri.rstrip("/")
    resources = cat.list_resources()
    for res in resources:
        if res.uri == uri:
            return ResourceRef(res.name)
    inside = _innermost_container(cat, resources, uri)
    if inside is not None:
        return inside
    name = _free_name(resources, _name_from(name_hint, uri), uri)
    cat.add_resource(name, uri=uri, role=role,
                     description="registered by steplineage for an Airflow task")
    return ResourceRef(name)


def _innermost_container(cat: Catalog, resources: list[ResourceRecord], uri: str
                         ) -> ResourceRef | None:
    if uri.startswith("file://"):
        try:
            return cat.resolve_ref(Path(unquote(urlparse(uri).path)))
        except UnknownResourceError:
            return None
    best: ResourceRecord | None = None
    for res in resources:
        if uri.startswith(res.uri + "/") and (best is None or len(res.uri) > len(best.uri)):
            best = res
    if best is None:
        return None
    return ResourceRef(best.name, uri[len(best.uri) + 1:])


def _name_from(hint: str, uri: str) -> str:
    # An Asset without an explicit name is named by its URI: use its last segment then.
    if "://" in hint:
        hint = PurePosixPath(unquote(urlparse(hint).path)).name or urlparse(hint).netloc or hint
    name = _UNSAFE.sub("-", hint).strip("-.") or "asset"
    return name[:200]


def _free_name(resources: list[ResourceRecord], name: str, uri: str) -> str:
    taken = {r.name: r.uri for r in resources}
    if name not in taken or taken[name] == uri:
        return name
    # Deterministic, so concurrent tasks registering the same URI pick the same name.
    return f"{name}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"
