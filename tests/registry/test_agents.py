"""Agents (people, organisations, service accounts) linked to runs with a role."""

from __future__ import annotations

from pathlib import Path

import steplineage as sl
from tests.registry.registry_setup import flood_record, flood_setup


def test_agents_of_model_runs_are_found_upstream_and_downstream(catalog: sl.Catalog,
                                                                tmp_path: Path) -> None:
    setup = flood_setup(catalog, tmp_path)
    run_id = catalog.register_model_run(flood_record(
        setup, agents={"modeller": "Ada Lovelace", "organisation": "CSIRO",
                       "runner": "hpc-batch"}))
    links = catalog.agents_of(run_id)
    assert [(a.agent.name, a.agent.kind, a.role) for a in links] == [
        ("Ada Lovelace", "person", "modeller"), ("CSIRO", "organisation", "organisation"),
        ("hpc-batch", "service", "runner")]
    # Upstream of the run's output: the people and bodies that made it.
    output = sl.ResourceRef("results", "depths/1.nc")
    contributing = catalog.lineage.contributing_agents(output)
    # ... and, further up, whoever ran the tracked step that trained the model asset.
    [train] = catalog.list_executions(workflow="train")
    trainer = {(a.agent.name, a.agent.kind) for a in catalog.agents_of(train.id)}
    assert trainer and {(n.label, n.attrs["agent_kind"]) for n in contributing} == {
        ("Ada Lovelace", "person"), ("CSIRO", "organisation"), ("hpc-batch", "service")} | trainer
    # Downstream of an input: whose runs a bad rainfall release has touched.
    with catalog.session() as s:
        from sqlalchemy import select

        from steplineage.store import orm

        dv = s.scalars(select(orm.DatasetVersion.id).where(orm.DatasetVersion.version == 1)).one()
    affected = catalog.lineage.affected_agents(f"dataset_version:{dv}")
    assert {n.label for n in affected} == {"Ada Lovelace", "CSIRO", "hpc-batch"}
    # A run that did not read that version brings no agents with it.
    assert catalog.lineage.affected_agents(f"asset:{setup.raw_asset}") == []


def test_tracked_steps_and_listing_by_kind(catalog: sl.Catalog) -> None:
    catalog.add_agent("airflow-prod", kind="service")
    with catalog.create_execution(sl.ExecutionConfig(workflow="nightly")) as exe:
        pass
    catalog.link_agent(exe.id, "airflow-prod", role="scheduler")
    catalog.link_agent(exe.id, "Grace Hopper", role="on-call")  # new names become people
    assert [a.name for a in catalog.list_agents(kind="service")] == ["airflow-prod"]
    # a tracked step also records the user who ran it (role operator)
    operator = {(a.agent.name, a.role) for a in catalog.agents_of(exe.id)} - {
        ("airflow-prod", "scheduler"), ("Grace Hopper", "on-call")}
    assert [role for _, role in operator] == ["operator"]
    people = {a.name for a in catalog.list_agents(kind="person")}
    assert people == {"Grace Hopper"} | {name for name, _ in operator}
    assert {n.label for n in catalog.lineage.contributing_agents(f"execution:{exe.id}")} == {
        "airflow-prod", "Grace Hopper"} | {name for name, _ in operator}
