"""Lineage queries on known graphs, on SQLite and PostgreSQL: exact node and edge sets."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

import pytest

import steplineage as sl
from lineage_steps import Steps

USER = getpass.getuser()


@pytest.fixture
def p(catalog: sl.Catalog) -> Steps:
    return Steps(catalog)


def test_chain_upstream_and_downstream(p: Steps) -> None:
    p.step("s1", ["a"], ["b"])
    p.step("s2", ["b"], ["c"])
    up = p.cat.lineage.upstream(p.v("c"))
    assert up.direction == "upstream" and not up.partial
    assert p.label_set(up) == {"db:c", "s2", "db:b", "s1", "db:a", USER}
    assert p.edge_set(up) == {("s2", "db:c", "generated"), ("db:b", "s2", "used"),
                              ("s1", "db:b", "generated"), ("db:a", "s1", "used"),
                              (USER, "s1", "associated"), (USER, "s2", "associated")}
    depths = {n.label: n.depth for n in up.nodes}
    assert depths == {"db:c": 0, "s2": 1, "db:b": 2, USER: 2, "s1": 3, "db:a": 4}
    down = p.cat.lineage.downstream(p.v("a"))
    assert p.label_set(down) == {"db:a", "s1", "db:b", "s2", "db:c"}  # agents are upstream only
    assert p.edge_set(down) == {("db:a", "s1", "used"), ("s1", "db:b", "generated"),
                                ("db:b", "s2", "used"), ("s2", "db:c", "generated")}


def test_diamond_fan_out_and_fan_in(p: Steps) -> None:
    p.step("left", ["a"], ["b"])
    p.step("right", ["a"], ["c"])
    p.step("join", ["b", "c"], ["d"])
    up = p.cat.lineage.upstream(p.v("d"))
    assert p.label_set(up) == {"db:d", "join", "db:b", "db:c", "left", "right", "db:a", USER}
    assert p.edge_set(up) == {
        ("db:a", "left", "used"), ("db:a", "right", "used"), ("left", "db:b", "generated"),
        ("right", "db:c", "generated"), ("db:b", "join", "used"), ("db:c", "join", "used"),
        ("join", "db:d", "generated"), (USER, "left", "associated"),
        (USER, "right", "associated"), (USER, "join", "associated")}
    assert {n.label: n.depth for n in up.nodes}["db:a"] == 4
    down = p.cat.lineage.downstream(p.v("a"))
    assert p.label_set(down) == {"db:a", "left", "right", "db:b", "db:c", "join", "db:d"}
    assert p.edge_set(down) == {
        ("db:a", "left", "used"), ("db:a", "right", "used"), ("left", "db:b", "generated"),
        ("right", "db:c", "generated"), ("db:b", "join", "used"), ("db:c", "join", "used"),
        ("join", "db:d", "generated")}
    # the same graph seen from networkx
    nxg = down.to_networkx()
    import networkx as nx

    assert nx.is_directed_acyclic_graph(nxg)
    assert set(nx.descendants(nxg, p.v("a"))) == {n.id for n in down.nodes} - {p.v("a")}


def test_depth_limit_and_node_cap(p: Steps) -> None:
    p.step("left", ["a"], ["b"])
    p.step("right", ["a"], ["c"])
    p.step("join", ["b", "c"], ["d"])
    two = p.cat.lineage.upstream(p.v("d"), depth=2)
    assert p.label_set(two) == {"db:d", "join", "db:b", "db:c", USER}
    assert not two.partial
    capped = p.cat.lineage.downstream(p.v("a"), max_nodes=3)
    assert capped.partial and len(capped.nodes) == 3
    assert {n.depth for n in capped.nodes} == {0, 1}
    assert all(e.source in {n.id for n in capped.nodes} for e in capped.edges)
    with pytest.raises(ValueError):
        p.cat.lineage.upstream(p.v("d"), max_nodes=0)


def test_reruns_with_new_input_versions(p: Steps) -> None:
    p.step("load", [], ["a"])
    first = p.step("clean", ["a"], ["b"])
    p.step("report", ["b"], ["r"])
    old_b = p.v("b")
    p.step("load", [], ["a"])  # a new version of a
    second = p.step("clean", ["a"], ["b"])
    assert p.v("b") != old_b
    up_new = p.cat.lineage.upstream(p.v("b"), depth=1)
    assert {n.catalog_id for n in up_new.of_kind("execution")} == {second}
    up_old = p.cat.lineage.upstream(old_b, depth=1)
    assert {n.catalog_id for n in up_old.of_kind("execution")} == {first}
    # report read the old b: it is stale, clean (2nd run) read the current a: not stale
    stale = p.cat.lineage.stale()
    assert [s.name for s in stale] == ["report"]
    assert stale[0].reasons[0].ref == sl.ResourceRef("db", "b")
    assert stale[0].rerun == [p.ids["report"]]


def test_stale_chain_is_the_impact_of_a_changed_source(p: Steps) -> None:
    p.step("load", [], ["a"])
    p.step("s1", ["a"], ["b"])
    p.step("s2", ["b"], ["c"])
    p.step("s3", ["c"], ["d"])
    assert p.cat.lineage.stale() == []
    p.step("load", [], ["a"])  # the source moves on
    [item] = p.cat.lineage.stale()
    assert item.name == "s1"
    assert item.rerun == [p.ids["s1"], p.ids["s2"], p.ids["s3"]]
    labels = {n.label for n in p.cat.lineage.downstream(f"execution:{p.ids['s1']}").nodes}
    assert {"db:b", "db:c", "db:d"} <= labels


def test_failed_steps_produce_no_lineage(p: Steps) -> None:
    p.step("s1", ["a"], ["b"])
    p.step("bad", ["b"], ["c"], fail=True)
    down = p.cat.lineage.downstream(p.v("b"))
    assert p.label_set(down) == {"db:b", "bad"}  # it read b, wrote nothing valid
    assert p.cat.get_execution(p.ids["bad"]).status is sl.Status.failed
    with pytest.raises(sl.NotFoundError, match="no recorded version"):
        p.v("c")


def test_as_of_ignores_later_edges(p: Steps) -> None:
    p.step("s1", ["a"], ["b"])
    between = datetime.now(timezone.utc)
    p.step("s2", ["a"], ["c"])
    now = p.cat.lineage.downstream(p.v("a"))
    then = p.cat.lineage.downstream(p.v("a"), as_of=between)
    assert "s2" in p.label_set(now) and "s2" not in p.label_set(then)
    assert p.label_set(then) == {"db:a", "s1", "db:b"}


def test_datasets_and_agents(p: Steps) -> None:
    cat = p.cat
    p.step("s1", ["a"], ["b"])
    cat.create_asset_table("Model")
    with cat.create_execution(sl.ExecutionConfig(
            workflow="train", inputs=[sl.ResourceRef("db", "b")])) as train:
        train.asset_file_path("Model", "m.pt").write_bytes(b"m")
    cat.link_agent(train.id, "ml-team")
    [model] = cat.list_assets("Model")
    cat.create_dataset("release")
    cat.add_dataset_version("release", [model.id])
    with cat.create_execution(sl.ExecutionConfig(workflow="serve",
                                                 datasets=["release"])) as serve:
        pass
    contributing = {n.label for n in cat.lineage.contributing_datasets(f"execution:{serve.id}")}
    assert contributing == {"release v1", "Model/m.pt", "db:b", "db:a"}
    affected = {n.label for n in cat.lineage.affected_datasets(p.v("a"))}
    assert affected == {"db:b", "Model/m.pt", "release v1"}
    agents = {n.label for n in cat.lineage.contributing_agents(f"asset:{model.id}")}
    assert agents == {USER, "ml-team"}
    ml_team = next(n for n in cat.lineage.contributing_agents(f"asset:{model.id}")
                   if n.label == "ml-team")
    down = cat.lineage.downstream(ml_team.id)
    assert {n.label for n in down.nodes} == {"ml-team", "train", "Model/m.pt", "release v1",
                                             "serve"}
    assert {n.label for n in cat.lineage.affected_agents(p.v("a"))} == {USER, "ml-team"}


def test_diff_of_two_runs(p: Steps) -> None:
    cat = p.cat
    cat.add_resource("code", uri="git://repo", role="code")
    with cat.create_execution(sl.ExecutionConfig(
            workflow="train", inputs=[sl.ResourceRef("db", "a")], parameters={"lr": 0.1})) as a:
        a.log_metrics({"acc": 0.8})
    p.step("load", [], ["a"])
    with cat.create_execution(sl.ExecutionConfig(
            workflow="train", inputs=[sl.ResourceRef("db", "a")], parameters={"lr": 0.2},
            code=[sl.ResourceRef("code", "train.py")])) as b:
        b.log_metrics({"acc": 0.8})
    d = cat.lineage.diff(a.id, b.id)
    assert d.parameters == {"lr": (0.1, 0.2)}
    assert d.metrics == {}
    assert set(d.inputs) == {"ref db:a"} and d.inputs["ref db:a"][0] != d.inputs["ref db:a"][1]
    assert set(d.code) == {"ref code:train.py"} and d.code["ref code:train.py"][0] is None
    assert cat.lineage.diff(a.id, a.id).same


def test_node_names_resolve(p: Steps) -> None:
    exe_id = p.step("s1", ["a"], ["b"])
    lin = p.cat.lineage
    assert lin.resolve_node(exe_id) == f"execution:{exe_id}"
    assert lin.resolve_node(p.cat.get_execution(exe_id)) == f"execution:{exe_id}"
    assert lin.resolve_node(sl.ResourceRef("db", "b")) == p.v("b")
    with pytest.raises(sl.NotFoundError, match="no lineage node"):
        lin.resolve_node("execution:nope")


def test_stale_within_some_executions(p: Steps) -> None:
    p.step("load", [], ["a"])
    p.step("s1", ["a"], ["b"])
    p.step("other", ["a"], ["z"])
    p.step("load", [], ["a"])
    assert {s.name for s in p.cat.lineage.stale()} == {"s1", "other"}
    assert [s.name for s in p.cat.lineage.stale(within=[p.ids["s1"]])] == ["s1"]
    assert p.cat.lineage.stale(within=[]) == []


def test_stale_ids_in_a_graph_match_the_catalog_wide_answer(p: Steps) -> None:
    """The web app's in-memory highlighting marks what stale() marks, on the graph shown."""
    from steplineage.export import stale_node_ids
    from steplineage.lineage.impact import stale_ids_in_graph

    p.step("load", [], ["a"])
    p.step("s1", ["a"], ["b"])
    old_s2 = p.step("s2", ["b"], ["c"])
    p.step("s3", ["c"], ["d"])
    p.step("s2", ["b"], ["c"])  # a later run of s2: the first one is not re-run
    p.step("load", [], ["a"])  # the source moves on: s1 and what follows are stale
    for graph in (p.cat.lineage.upstream(p.v("d"), depth=None),
                  p.cat.lineage.downstream(p.v("b"), depth=None)):
        on_graph = {n.id for n in graph.nodes}
        within = [n.catalog_id for n in graph.of_kind("execution")]
        expected = stale_node_ids(p.cat.lineage.stale(within=within)) & on_graph
        assert stale_ids_in_graph(p.cat, graph) == expected
    marked = stale_ids_in_graph(p.cat, p.cat.lineage.upstream(p.v("d"), depth=None))
    labels = {n.id: n.label for n in p.cat.lineage.upstream(p.v("d"), depth=None).nodes}
    assert {labels[n] for n in marked if n.startswith("execution:")} == {"s1", "s3"}
    assert f"execution:{old_s2}" not in marked
    assert {"db:b", "db:c", "db:d"} <= {labels[n] for n in marked}
