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

if TYPE_CHECKING:  # the store is imported where used: the models stay free of SQLAlchemy
    from steplineage.store.store import Store

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


def list_agents(store: Store, kind: AgentKind | None = None) -> list[AgentRecord]:
    """Every agent (of one kind), by name.

    Example:
        >>> [a.name for a in list_agents(cat.store, kind="service")]  # doctest: +SKIP
        ['airflow-prod']
    """
    from steplineage.store import agents

    return [AgentRecord.model_validate(a, from_attributes=True)
            for a in agents.list_agents(store, kind)]


def agents_of(store: Store, execution_id: str) -> list[AgentLink]:
    """The agents linked to one execution, with their roles, by name.

    Example:
        >>> [(a.agent.name, a.role) for a in agents_of(cat.store, run_id)]  # doctest: +SKIP
        [('Ada Lovelace', 'modeller')]
    """
    from steplineage.store import agents

    return [AgentLink(agent=AgentRecord.model_validate(a, from_attributes=True), role=role)
            for a, role in agents.agents_of(store, execution_id)]
