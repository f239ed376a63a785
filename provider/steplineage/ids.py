"""Client-side ids and timestamps: every write carries its own, so a retried write is recognised.

Example:
    >>> len(new_id()), utcnow().tzinfo is not None
    (36, True)
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

__all__ = ["new_id", "utcnow"]


def new_id() -> str:
    """A fresh client-side id (a uuid4 string)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every timestamp in the catalog is UTC."""
    return datetime.now(timezone.utc)
