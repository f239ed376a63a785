"""Dataset identity: a steplineage URI <-> an OpenLineage (namespace, name) pair.

Follows OpenLineage's naming conventions, so our datasets meet other
producers' in Marquez or DataHub: a local file is namespace ``file`` with the
absolute path as name; anything with a host (``s3://bucket``,
``postgres://db:5432``) keeps scheme and authority as namespace and the rest
as name. The two functions are inverses for every URI steplineage makes.

Example:
    >>> to_namespace_name("file:///data/raw/jan.csv")
    ('file', '/data/raw/jan.csv')
    >>> to_namespace_name("s3://bucket/raw/jan.csv")
    ('s3://bucket', 'raw/jan.csv')
    >>> to_uri("s3://bucket", "raw/jan.csv")
    's3://bucket/raw/jan.csv'
    >>> to_uri("file", "/data/raw/jan.csv")
    'file:///data/raw/jan.csv'
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["DEFAULT_NAMESPACE", "to_namespace_name", "to_uri"]

#: namespace of datasets whose location has no URI scheme
DEFAULT_NAMESPACE = "steplineage"


def to_namespace_name(uri: str) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a dataset at ``uri``."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return "file", parts.path or "/"
    if parts.scheme and parts.netloc:
        rest = uri[len(parts.scheme) + 3 + len(parts.netloc):].lstrip("/")
        return f"{parts.scheme}://{parts.netloc}", rest
    if parts.scheme and len(parts.scheme) > 1:  # not a Windows drive letter
        return parts.scheme, uri[len(parts.scheme) + 1:]
    return DEFAULT_NAMESPACE, uri


def to_uri(namespace: str, name: str) -> str:
    """The URI of the OpenLineage dataset ``namespace``/``name``."""
    if namespace in ("file", "file://") or namespace.startswith("file://"):
        host = namespace[len("file://"):] if namespace.startswith("file://") else ""
        # file://host/path names a path on another machine; keep the host visible
        return f"file://{host}{'' if name.startswith('/') else '/'}{name}"
    if "://" in namespace:
        return f"{namespace.rstrip('/')}/{name.lstrip('/')}"
    if namespace == DEFAULT_NAMESPACE:
        return name
    return f"{namespace}:{name}"
