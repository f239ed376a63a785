"""Agent rows (people, organisations, service accounts) and their links to executions.

Example:
    >>> store = Store("sqlite://")
    >>> agent_id = add_agent(store, "ada", "person", "modeller")
    >>> agent_id == add_agent(store, "ada", "person", "")
    True
"""

from __future__ import annotations

from steplineage.store import orm
from steplineage.store.apply import ensure_agent
from steplineage.store.store import Store

__all__ = ["add_agent", "link_agent"]


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
