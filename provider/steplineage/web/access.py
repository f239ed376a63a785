"""Who may see what in the lineage web app.

An :class:`Access` turns a request into a :class:`Viewer` (or refuses it with
401), and a viewer answers "may I read executions of this DAG?". The app asks
on every route, for every execution it shows, and hides what the answer
forbids. Two kinds ship:

* :class:`TokenAccess` (``kind = "token"``): the standalone ``steplineage ui``.
  Without a token everyone reaching the socket may read everything (it binds
  127.0.0.1 by default); with one, a request must carry it as
  ``Authorization: Bearer <token>`` or in the ``steplineage_token`` cookie.
* ``AirflowAccess`` (``kind = "airflow"``, in :mod:`steplineage.airflow.ui_plugin`):
  Airflow's auth manager decides, per DAG, for the user of the JWT.

Executions that belong to no DAG (Prefect runs, scripts) are readable when
``can_read(None)`` is true: for Airflow, when the auth manager grants DAG read
access without naming a DAG.

Lists and search are filtered in the catalog's queries: :meth:`Viewer.visibility`
translates the viewer into a neutral :class:`~steplineage.models.Visibility`
(which DAG ids, and whether executions of no DAG) that the store applies.

Example:
    >>> access = TokenAccess("s3cret")
    >>> access.kind
    'token'
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import HTTPException, Request, status

from steplineage.models import Visibility

__all__ = ["Access", "AllowAll", "TOKEN_COOKIE", "TokenAccess", "Viewer"]

#: The cookie the standalone app reads its token from (set by ``/login?token=...``).
TOKEN_COOKIE = "steplineage_token"


class Viewer:
    """The reader of one request: answers per-DAG read permission.

    Subclasses override :meth:`can_read` and, when they can answer for many DAGs
    at once, :meth:`filter_dags`.

    Example:
        >>> AllowAll().can_read("any_dag")
        True
    """

    name: str = "anonymous"

    def can_read(self, dag_id: str | None) -> bool:
        """Whether executions of ``dag_id`` (None: of no DAG) may be shown."""
        return True

    def filter_dags(self, dag_ids: set[str]) -> set[str] | None:
        """Those of ``dag_ids`` this viewer may read, or None for "all of them".

        Example:
            >>> sorted(Viewer().filter_dags({"a", "b"}))
            ['a', 'b']
        """
        return {d for d in dag_ids if self.can_read(d)}

    def visibility(self, known_dags: Callable[[], Iterable[str]]) -> Visibility:
        """The filter the catalog applies to lists and search for this viewer.

        Args:
            known_dags: the DAG ids the catalog knows (``cat.views.dag_ids``); the
                candidates asked about, so a DAG Airflow no longer lists is judged
                as a direct request for it would be.

        Example:
            >>> Viewer().visibility(lambda: ["etl"])
            Visibility(dag_ids=frozenset({'etl'}), include_non_airflow=True)
        """
        readable = self.filter_dags(set(known_dags()))
        return Visibility(None if readable is None else frozenset(readable),
                          include_non_airflow=self.can_read(None))

    def require(self, dag_id: str | None) -> None:
        """Raise 403 unless :meth:`can_read` allows ``dag_id``.

        Example:
            >>> AllowAll().require("etl")
        """
        if not self.can_read(dag_id):
            what = f"DAG {dag_id!r}" if dag_id else "executions outside Airflow DAGs"
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"you may not read {what}; ask an admin for read access")


class AllowAll(Viewer):
    """A viewer that may read everything (standalone mode).

    Example:
        >>> AllowAll().visibility(lambda: ["etl"])
        Visibility(dag_ids=None, include_non_airflow=True)
    """

    name = "local"

    def filter_dags(self, dag_ids: set[str]) -> set[str] | None:
        return None

    def visibility(self, known_dags: Callable[[], Iterable[str]]) -> Visibility:
        return Visibility()  # no need to list the catalog's DAGs


class Access:
    """Base class: resolves the viewer of a request.

    ``dependency`` is what the app puts into ``Depends(...)``; subclasses may
    replace it with a function that has FastAPI dependencies of its own (the
    Airflow one depends on Airflow's ``get_user``).
    """

    kind: str = "base"

    @property
    def dependency(self) -> Callable[..., Viewer | Awaitable[Viewer]]:
        """A FastAPI dependency returning the :class:`Viewer` (or raising 401/403)."""
        return self.viewer

    def viewer(self, request: Request) -> Viewer:
        """The viewer of ``request``; raises ``HTTPException(401)`` when unauthenticated."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the page footer says about access (never the secret itself)."""
        return {"kind": self.kind}


class TokenAccess(Access):
    """Standalone access: open, or guarded by one shared token.

    Args:
        token: the shared secret; None or "" leaves the app open (bind it to
            127.0.0.1 then, which ``steplineage ui`` does by default).

    Example:
        >>> TokenAccess(None).describe()
        {'kind': 'token', 'token_required': False}
    """

    kind = "token"

    def __init__(self, token: str | None = None):
        self.token = token or None

    def accepts(self, candidate: str | None) -> bool:
        """Constant-time comparison of a presented token with ours."""
        if self.token is None:
            return True
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.token.encode())

    def viewer(self, request: Request) -> Viewer:
        if self.token is None:
            return AllowAll()
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        presented = value.strip() if scheme.lower() == "bearer" else request.cookies.get(TOKEN_COOKIE)
        if not self.accepts(presented):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                "a token is required: open the URL `steplineage ui` printed, or "
                                "send 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})
        return AllowAll()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "token_required": self.token is not None}
