"""DOT, node-link JSON, PROV and HTML exports of known graphs, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import re
from datetime import timezone

import networkx as nx
import pytest
from lineage_steps import Steps
from prov.model import (PROV_LABEL, PROV_ROLE, PROV_TYPE, ProvActivity, ProvAgent,
                        ProvAssociation, ProvCommunication, ProvDerivation, ProvDocument,
                        ProvEntity, ProvGeneration, ProvMembership, ProvUsage)

import steplineage as sl
from steplineage.export.html import json_for_script

USER = getpass.getuser()
Q = r'"((?:[^"\\]|\\.)*)"'  # a DOT double-quoted string


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse_dot(text: str) -> tuple[dict[str, dict[str, str]], set[tuple[str, str, str]]]:
    """Nodes (id -> attributes) and edges (source, target, label) of our DOT output.

    Every statement line must be a node or an edge: anything else fails the test.
    """
    lines = text.strip().splitlines()
    assert re.fullmatch(rf"digraph {Q} {{", lines[0]) and lines[-1] == "}"
    nodes: dict[str, dict[str, str]] = {}
    edges: set[tuple[str, str, str]] = set()
    for line in lines[1:-1]:
        line = line.strip()
        if line.startswith("//") or re.fullmatch(r"(rankdir|node|edge)\b.*;", line):
            continue
        if m := re.fullmatch(rf"{Q} -> {Q} \[(.*)\];", line):
            attrs = {k: _unquote(v) for k, v in re.findall(rf"(\w+)={Q}", m.group(3))}
            edges.add((_unquote(m.group(1)), _unquote(m.group(2)), attrs["label"]))
        elif m := re.fullmatch(rf"{Q} \[(.*)\];", line):
            nodes[_unquote(m.group(1))] = {k: _unquote(v) for k, v in
                                           re.findall(rf"(\w+)={Q}", m.group(2))}
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    return nodes, edges


def diamond(steps: Steps) -> sl.LineageGraph:
    steps.step("left", ["a"], ["b"])
    steps.step("right", ["a"], ["c"])
    steps.step("join", ["b", "c"], ["d"], code=["join.sql"])
    return steps.cat.lineage.upstream(steps.v("d"))


def test_dot_has_exactly_the_graphs_nodes_and_edges(steps: Steps) -> None:
    graph = diamond(steps)
    nodes, edges = parse_dot(graph.to_dot(stale=[steps.e("right")]))
    assert set(nodes) == {n.id for n in graph.nodes}
    assert edges == {(e.source, e.target, e.relation) for e in graph.edges}
    labels = {nodes[n.id]["label"].split("\n")[0] for n in graph.nodes}
    assert labels == {"db:a", "db:b", "db:c", "db:d", "db:join.sql", "left", "right", "join",
                      USER}
    assert "dashed" in nodes[steps.e("right")]["style"]  # stale
    assert "bold" in nodes[steps.v("d")]["style"]  # the root
    assert nodes[steps.e("join")]["shape"] == "box"


def test_dot_escapes_quotes_backslashes_and_newlines(steps: Steps) -> None:
    weird = 'say "hi" \\ then\nbreak'
    steps.step(weird, ["a"], ["b"])
    graph = steps.cat.lineage.upstream(steps.v("b"))
    text = graph.to_dot()
    nodes, _ = parse_dot(text)  # would fail on a string that ended early
    assert nodes[steps.e(weird)]["label"].split("\n")[:2] == ['say "hi" \\ then', "break"]
    assert "\r" not in text and len(text.splitlines()) == 4 + 1 + len(graph.nodes) + \
        len(graph.edges) + 1


def test_failed_execution_is_red_in_dot(steps: Steps) -> None:
    steps.step("s1", ["a"], ["b"])
    steps.step("bad", ["b"], ["c"], fail=True)
    steps.step("fine", ["b"], ["e"])
    nodes, _ = parse_dot(steps.cat.lineage.downstream(steps.v("b")).to_dot())
    assert nodes[steps.e("bad")]["color"] == "#dc2626"
    assert nodes[steps.e("fine")]["color"] == "#1d4ed8"


def test_node_link_json_round_trips_through_networkx(steps: Steps) -> None:
    graph = diamond(steps)
    data = json.loads(json.dumps(graph.to_node_link()))
    back = nx.node_link_graph(data, edges="links", directed=True, multigraph=True)
    assert set(back.nodes) == {n.id for n in graph.nodes}
    assert {(u, v, d["relation"]) for u, v, d in back.edges(data=True)} == \
        {(e.source, e.target, e.relation) for e in graph.edges}
    assert back.nodes[steps.v("d")]["label"] == "db:d"


# -- PROV ---------------------------------------------------------------------------


def _label_map(doc: ProvDocument) -> dict[str, str]:
    out = {}
    for record in doc.get_records((ProvActivity, ProvEntity, ProvAgent)):
        [label] = record.get_attribute(PROV_LABEL)
        out[str(record.identifier)] = str(label)
    return out


def prov_facts(doc: ProvDocument) -> set[tuple[str, ...]]:
    """Every element and relation of a PROV document, in terms of labels."""
    names = _label_map(doc)
    facts: set[tuple[str, ...]] = set()
    kinds = {ProvActivity: "activity", ProvEntity: "entity", ProvAgent: "agent"}
    for record in doc.get_records():
        if type(record) in kinds:
            facts.add((kinds[type(record)], names[str(record.identifier)]))
            continue
        args = tuple(names[str(v)] for _, v in record.formal_attributes
                     if v is not None and str(v) in names)
        extra = tuple(sorted(str(v) for k, v in record.extra_attributes if k == PROV_ROLE))
        facts.add((type(record).__name__, *args, *extra))
    return facts


def test_prov_has_the_expected_elements_and_relations(steps: Steps) -> None:
    graph = diamond(steps)
    doc = graph.to_prov()
    expected = {
        ("activity", "left"), ("activity", "right"), ("activity", "join"), ("agent", USER),
        *{("entity", f"db:{x}") for x in ("a", "b", "c", "d", "join.sql")},
        ("ProvUsage", "left", "db:a"), ("ProvUsage", "right", "db:a"),
        ("ProvUsage", "join", "db:b"), ("ProvUsage", "join", "db:c"),
        ("ProvUsage", "join", "db:join.sql", "sl:code"),
        ("ProvGeneration", "db:b", "left"), ("ProvGeneration", "db:c", "right"),
        ("ProvGeneration", "db:d", "join"),
        ("ProvAssociation", "left", USER), ("ProvAssociation", "right", USER),
        ("ProvAssociation", "join", USER),
        ("ProvCommunication", "join", "left"), ("ProvCommunication", "join", "right"),
        # code is used, but outputs are not derived from it
        ("ProvDerivation", "db:b", "db:a", "left"), ("ProvDerivation", "db:c", "db:a", "right"),
        ("ProvDerivation", "db:d", "db:b", "join"), ("ProvDerivation", "db:d", "db:c", "join"),
    }
    assert prov_facts(doc) == expected
    # attributes carry the catalog's facts
    exe = steps.cat.get_execution(steps.ids["join"])
    [activity] = [r for r in doc.get_records(ProvActivity) if str(r.identifier) == steps.e("join")]
    started = exe.start_time if exe.start_time.tzinfo else exe.start_time.replace(
        tzinfo=timezone.utc)  # SQLite hands back naive UTC
    assert activity.get_startTime() == started and activity.get_startTime().tzinfo is not None
    assert {str(v) for v in activity.get_attribute("sl:status")} == {"completed"}
    [entity] = [r for r in doc.get_records(ProvEntity) if str(r.identifier) == steps.v("d")]
    node = graph.node(steps.v("d"))
    assert {str(v) for v in entity.get_attribute("sl:hash")} == {node.attrs["hash"]}
    assert {str(v) for v in entity.get_attribute(PROV_TYPE)} == {"sl:Version"}


def test_prov_json_round_trip_reads_back_the_same_graph(steps: Steps) -> None:
    graph = diamond(steps)
    text = graph.to_prov_json()
    back = ProvDocument.deserialize(content=text, format="json")
    assert back == graph.to_prov()
    assert prov_facts(back) == prov_facts(graph.to_prov())
    # and the elements are exactly the graph's nodes, by id
    ids = {str(r.identifier) for r in back.get_records((ProvActivity, ProvEntity, ProvAgent))}
    assert ids == {n.id for n in graph.nodes}
    # relations match the catalog's edges one for one
    used = {(str(r.formal_attributes[1][1]), str(r.formal_attributes[0][1]))
            for r in back.get_records(ProvUsage)}
    assert used == {(e.source, e.target) for e in graph.edges if e.relation in ("used", "code")}
    generated = {(str(r.formal_attributes[1][1]), str(r.formal_attributes[0][1]))
                 for r in back.get_records(ProvGeneration)}
    assert generated == {(e.source, e.target) for e in graph.edges if e.relation == "generated"}
    assert len(list(back.get_records(ProvAssociation))) == 3
    assert len(list(back.get_records(ProvCommunication))) == 2
    assert len(list(back.get_records(ProvDerivation))) == 4


def test_prov_n_lists_every_statement(steps: Steps) -> None:
    graph = diamond(steps)
    text = graph.to_prov_n()
    assert text.startswith("document") and text.rstrip().endswith("endDocument")
    statements = [line.strip() for line in text.splitlines()
                  if re.match(r"\s+(activity|entity|agent|used|was\w+)\(", line)]
    assert len(statements) == len(graph.to_prov().get_records())
    assert f"wasInformedBy({steps.e('join')}, {steps.e('left')})" in statements
    assert f"wasDerivedFrom({steps.v('d')}, {steps.v('b')}, {steps.e('join')}, -, -)" in statements


def test_prov_datasets_are_collections_with_members(steps: Steps) -> None:
    cat = steps.cat
    steps.step("s1", ["a"], ["b"])
    cat.create_asset_table("Model")
    with cat.create_execution(sl.ExecutionConfig(
            workflow="train", inputs=[sl.ResourceRef("db", "b")])) as train:
        train.asset_file_path("Model", "m.pt").write_bytes(b"weights")
    cat.add_agent("ml-team", kind="organisation")
    cat.link_agent(train.id, "ml-team")
    [model] = cat.list_assets("Model")
    cat.create_dataset("release")
    cat.add_dataset_version("release", [model.id, sl.ResourceRef("db", "b")])
    with cat.create_execution(sl.ExecutionConfig(workflow="serve", datasets=["release"])) as serve:
        pass
    graph = cat.lineage.upstream(f"execution:{serve.id}")
    doc = ProvDocument.deserialize(content=graph.to_prov_json(), format="json")
    facts = prov_facts(doc)
    assert ("ProvMembership", "release v1", "Model/m.pt") in facts
    assert ("ProvMembership", "release v1", "db:b") in facts
    assert ("ProvUsage", "serve", "release v1") in facts
    assert ("ProvDerivation", "Model/m.pt", "db:b", "train") in facts
    assert len(list(doc.get_records(ProvMembership))) == 2
    by_id = {str(r.identifier): r for r in doc.get_records((ProvEntity, ProvAgent))}
    dataset = next(n for n in graph.nodes if n.kind == "dataset_version")
    assert {str(v) for v in by_id[dataset.id].get_attribute(PROV_TYPE)} == \
        {"sl:DatasetVersion", "prov:Collection"}
    asset = by_id[f"asset:{model.id}"]
    assert {str(v) for v in asset.get_attribute("sl:sha256")} == {model.sha256}
    assert {str(v) for v in asset.get_attribute("sl:md5")} == {model.md5}
    team = next(n for n in graph.nodes if n.label == "ml-team")
    assert {str(v) for v in by_id[team.id].get_attribute(PROV_TYPE)} == {"prov:Organization"}


# -- HTML ---------------------------------------------------------------------------

PAYLOAD = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">&amp;'


def _data_block(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page,
                  re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_html_embeds_user_text_only_as_escaped_json(steps: Steps) -> None:
    steps.step(PAYLOAD, ["a"], ["b"], parameters={"note": PAYLOAD})
    graph = steps.cat.lineage.upstream(steps.v("b"))
    page = graph.to_html(title=PAYLOAD)
    assert "<script>window" not in page and "<img" not in page and "&amp;'" not in page
    assert page.count("<script") == 2  # the JSON block and our renderer, nothing else
    assert page.count("</script>") == 2
    assert f"<title>{PAYLOAD}" not in page and "&lt;/script&gt;" in page  # html.escape'd title
    data = _data_block(page)
    assert {n["label"] for n in data["nodes"]} == {n.label for n in graph.nodes}
    assert PAYLOAD in {n["label"] for n in data["nodes"]}


def test_html_is_self_contained_and_its_csp_allows_only_our_script(steps: Steps) -> None:
    graph = diamond(steps)
    page = graph.to_html()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1 and "SteplineageGraph" in scripts[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page
    assert "default-src 'none'" in page


@pytest.mark.parametrize("text", ["</script>", "<!--", "a & b", "\u2028", "<\u2029>"])
def test_json_for_script_keeps_the_value_and_never_emits_markup(text: str) -> None:
    out = json_for_script({"label": text})
    assert json.loads(out) == {"label": text}
    assert not re.search(r"[<>&\u2028\u2029]", out)
