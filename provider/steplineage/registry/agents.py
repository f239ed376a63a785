"""Agents: the people, organisations and service accounts behind executions.

Agents are registered with ``cat.add_agent(name, kind)`` and linked to runs
with a role, by ``cat.link_agent`` or by a model-run record's ``agents``.
These listings complete the lineage queries ``contributing_agents`` and
``affected_agents``.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> _ = cat.add_agent("CSIRO", kind="organisation")
    >>> [(a.name, a.kind) for a in cat.list_agents()]
    [('CSIRO', 'organisation')]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["AgentKind", "AgentLink", "AgentRecord", "agents_of", "list_agents"]

AgentKind = Literal["person", "organisation", "service"]


class AgentRecord(BaseModel):
    """A registered agent."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    kind: str = Field(description="person, organisation or service.")
    description: str = ""


class AgentLink(BaseModel):
    """An agent as linked to one execution."""

    model_config = ConfigDict(frozen=True)

    agent: AgentRecord
    role: str = Field(description="What the agent did for this run (e.g. modeller).")


def _record(row: object) -> AgentRecord:
    return AgentRecord(id=row.id, name=row.name, kind=row.kind,  # type: ignore[attr-defined]
                       description=row.description)  # type: ignore[attr-defined]


def list_agents(catalog: Catalog, kind: AgentKind | None = None) -> list[AgentRecord]:
    """Every agent (of one kind), by name.

    Example:
        >>> [a.name for a in list_agents(cat, kind="service")]  # doctest: +SKIP
        ['airflow-prod']
    """
    from steplineage.store import orm

    query = select(orm.Agent).order_by(orm.Agent.name)
    if kind is not None:
        query = query.where(orm.Agent.kind == kind)
    with catalog.session() as s:
        return [_record(a) for a in s.scalars(query)]


def agents_of(catalog: Catalog, execution_id: str) -> list[AgentLink]:
    """The agents linked to one execution, with their roles, by name.

    Example:
        >>> [(a.agent.name, a.role) for a in agents_of(cat, run_id)]  # doctest: +SKIP
        [('Ada Lovelace', 'modeller')]
    """
    from steplineage.store import orm

    with catalog.session() as s:
        rows = s.execute(select(orm.Agent, orm.ExecutionAgent.role)
                         .join(orm.ExecutionAgent, orm.ExecutionAgent.agent_id == orm.Agent.id)
                         .where(orm.ExecutionAgent.execution_id == execution_id)
                         .order_by(orm.Agent.name)).all()
        return [AgentLink(agent=_record(a), role=role) for a, role in rows]
