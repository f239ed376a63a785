"""Agent rows (people, organisations, service accounts) and their links to executions.

Example:
    >>> store = Store("sqlite://")
    >>> agent_id = add_agent(store, "ada", "person", "modeller")
    >>> agent_id == add_agent(store, "ada", "person", "")
    True
    >>> [(a.name, a.description) for a in list_agents(store, kind="person")]
    [('ada', 'modeller')]
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from steplineage.store import orm
from steplineage.store.apply import ensure_agent
from steplineage.store.store import Store

__all__ = ["AgentRow", "add_agent", "agents_of", "link_agent", "list_agents"]


@dataclass(frozen=True)
class AgentRow:
    """A registered agent."""

    id: str
    name: str
    kind: str
    description: str


def _row(row: orm.Agent) -> AgentRow:
    return AgentRow(id=row.id, name=row.name, kind=row.kind, description=row.description)


def add_agent(store: Store, name: str, kind: str, description: str) -> str:
    """The id of agent ``name``, created if new; a description given replaces the old one."""
    with store.session() as s:
        agent_id = ensure_agent(s, name, kind)
        if description:
            row = s.get(orm.Agent, agent_id)
            if row is not None:
                row.description = description
        return agent_id


def link_agent(store: Store, execution_id: str, agent: str, role: str) -> None:
    """Link agent ``agent`` (by name; created as a person if new) to an execution in a role."""
    with store.session() as s:
        agent_id = ensure_agent(s, agent, "person")
        if s.get(orm.ExecutionAgent, (execution_id, agent_id)) is None:
            s.add(orm.ExecutionAgent(execution_id=execution_id, agent_id=agent_id, role=role))


def list_agents(store: Store, kind: str | None = None) -> list[AgentRow]:
    """Every agent (of one kind), by name."""
    query = select(orm.Agent).order_by(orm.Agent.name)
    if kind is not None:
        query = query.where(orm.Agent.kind == kind)
    with store.session() as s:
        return [_row(a) for a in s.scalars(query)]


def agents_of(store: Store, execution_id: str) -> list[tuple[AgentRow, str]]:
    """(agent, role) for each agent linked to one execution, by name."""
    with store.session() as s:
        rows = s.execute(select(orm.Agent, orm.ExecutionAgent.role)
                         .join(orm.ExecutionAgent, orm.ExecutionAgent.agent_id == orm.Agent.id)
                         .where(orm.ExecutionAgent.execution_id == execution_id)
                         .order_by(orm.Agent.name))
        return [(_row(agent), role) for agent, role in rows]
