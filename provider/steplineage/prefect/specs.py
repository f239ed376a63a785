"""What a tracked step reads and writes: refs, paths and URIs, fixed or filled in per call.

A spec given to ``inputs=`` / ``outputs=`` / ``assets=`` is one of

* a :class:`~steplineage.ResourceRef` or a local path, as in the core;
* a URI (``s3://bucket/sales.parquet``, ``file:///data/x.csv``): it is mapped to
  the registered resource whose URI contains it, or registered as a resource of
  its own; static URIs are also Prefect assets (outputs are materialized,
  inputs become ``asset_deps``) so Prefect's asset events fire;
* a template such as ``"data/{day}.csv"``, filled in from the call's arguments
  (so each mapped task run names its own file);
* a callable taking the call's arguments (a dict) and returning specs.

Example:
    >>> expand(["out/{day}.csv", lambda p: [f"log/{p['day']}.txt"]], {"day": "mon"})
    ['out/mon.csv', 'log/mon.txt']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import unquote, urlparse

from steplineage.errors import ConfigurationError
from steplineage.models import InputSpec, ResourceRef, ResourceRole

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["Spec", "Specs", "asset_keys", "check_specs", "expand", "is_uri", "to_catalog_spec"]

Spec = Union[ResourceRef, str, Path, Callable[[dict[str, Any]], Any]]
Specs = Union[Sequence[Spec], Callable[[dict[str, Any]], Any], None]

_URI = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_uri(value: object) -> bool:
    """True for strings like ``s3://bucket/key`` (a scheme followed by ``://``).

    Example:
        >>> is_uri("s3://b/k"), is_uri("data/x.csv")
        (True, False)
    """
    return isinstance(value, str) and bool(_URI.match(value))


def _is_template(value: object) -> bool:
    return "{" in str(value) and "}" in str(value)


def check_specs(option: str, specs: Specs) -> list[Spec] | Callable[[dict[str, Any]], Any]:
    """Validate ``inputs=``/``outputs=``/``assets=`` at decoration time.

    Raises:
        ConfigurationError: a bare string (not a list) or an unsupported item.

    Example:
        >>> check_specs("inputs", ["raw/jan.csv"])
        ['raw/jan.csv']
    """
    if specs is None:
        return []
    if callable(specs):
        return specs
    if isinstance(specs, (str, Path, ResourceRef)):
        raise ConfigurationError(
            f"{option}= takes a list: write {option}=[{specs!r}], not {option}={specs!r}")
    items = list(specs)
    for item in items:
        if not (isinstance(item, (str, Path, ResourceRef)) or callable(item)):
            raise ConfigurationError(
                f"{option}= item {item!r} is a {type(item).__name__}; use a ResourceRef, a path, "
                f"a URI, a template such as 'data/{{day}}.csv', or a callable, e.g. "
                f"{option}=[sl.ResourceRef('raw', 'jan.csv'), 's3://bucket/key']")
    return items


def _fill(spec: Any, params: dict[str, Any]) -> Any:
    try:
        if isinstance(spec, ResourceRef) and spec.subpath and _is_template(spec.subpath):
            return ResourceRef(spec.name, spec.subpath.format(**params))
        if isinstance(spec, Path) and _is_template(spec):
            return Path(str(spec).format(**params))
        if isinstance(spec, str) and _is_template(spec):
            return spec.format(**params)
    except (KeyError, IndexError) as exc:
        raise ConfigurationError(
            f"template {str(spec)!r} names {exc}, which is not an argument of the call; "
            f"arguments are: {', '.join(sorted(params)) or 'none'}") from None
    return spec


def _flatten(value: Any) -> Iterable[Any]:
    if value is None:
        return []
    if isinstance(value, (str, Path, ResourceRef)):
        return [value]
    return list(value)


def expand(specs: Sequence[Spec] | Callable[[dict[str, Any]], Any],
           params: dict[str, Any]) -> list[Any]:
    """The concrete specs of one call: templates filled, callables called.

    Example:
        >>> expand([sl.ResourceRef("out", "{n}.csv")], {"n": 3})  # doctest: +SKIP
        [ResourceRef(name='out', subpath='3.csv')]
    """
    if callable(specs):
        return [_fill(s, params) for s in _flatten(specs(params))]
    out: list[Any] = []
    for spec in specs:
        if callable(spec) and not isinstance(spec, (str, Path, ResourceRef)):
            out.extend(_fill(s, params) for s in _flatten(spec(params)))
        else:
            out.append(_fill(spec, params))
    return out


def asset_keys(specs: Sequence[Spec] | Callable[[dict[str, Any]], Any]) -> list[str]:
    """The Prefect asset keys among static specs (URIs without template fields).

    Example:
        >>> asset_keys(["s3://b/k.csv", "s3://b/{day}.csv", "local.csv"])
        ['s3://b/k.csv']
    """
    if callable(specs):
        return []
    return [s for s in specs if is_uri(s) and not _is_template(s)]


def _resource_name(uri: str) -> str:
    """A resource name for a URI nobody registered (``/`` is not allowed in names)."""
    name = re.sub(r"[^A-Za-z0-9._:@=+-]+", ":", uri.replace("://", ":")).strip(":")
    if len(name) > 200:
        name = name[:180] + ":" + hashlib.sha256(uri.encode()).hexdigest()[:16]
    return name


def to_catalog_spec(cat: Catalog, spec: Any, role: ResourceRole) -> InputSpec:
    """A spec the core understands: URIs become refs (registering a resource if needed).

    ``file://`` URIs become local paths. Other URIs map to the registered
    resource with the longest URI containing them; a URI no resource contains
    is registered as a resource of its own (named after the URI, with ``role``),
    so its readers and writers meet in the lineage graph.

    Example:
        >>> to_catalog_spec(cat, "s3://lake/sales/2024.parquet", ResourceRole.results)  # doctest: +SKIP
        ResourceRef(name='lake', subpath='sales/2024.parquet')
    """
    if not is_uri(spec):
        return spec
    if spec.lower().startswith("file://"):
        return Path(unquote(urlparse(spec).path))
    uri = spec.rstrip("/")
    best: tuple[int, ResourceRef] | None = None
    for res in cat.list_resources():
        root = res.uri.rstrip("/")
        if uri == root:
            ref = ResourceRef(res.name)
        elif uri.startswith(root + "/"):
            ref = ResourceRef(res.name, uri[len(root) + 1:])
        else:
            continue
        if best is None or len(root) > best[0]:
            best = (len(root), ref)
    if best is not None:
        return best[1]
    record = cat.add_resource(_resource_name(uri), uri=uri, role=role,
                              description="registered by steplineage.prefect for a URI")
    return ResourceRef(record.name)
