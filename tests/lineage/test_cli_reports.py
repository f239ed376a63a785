"""``steplineage report ...`` and ``steplineage lineage ...`` as a user runs them,
against the SQLite and the PostgreSQL catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import docx
import pytest
from lineage_steps import Steps
from prov.model import ProvActivity, ProvDocument, ProvEntity

import steplineage as sl


def cli(cat: sl.Catalog, *args: str) -> subprocess.CompletedProcess[str]:
    url = cat.engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "steplineage", *args, "--url", url],
                          capture_output=True, text=True, timeout=120,
                          env={"STEPLINEAGE_HOME": str(cat.settings.home), "COLUMNS": "250",
                               "PATH": "/usr/bin:/bin"})


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def history(steps: Steps) -> dict[str, str]:
    """load -> a; s1: a -> b; s2: b -> c; then a and b move on (s2 becomes stale)."""
    steps.step("load", [], ["a"])
    steps.step("s1", ["a"], ["b"])
    first_s1 = steps.ids["s1"]
    with steps.cat.create_execution(sl.ExecutionConfig(
            workflow="s2", inputs=[sl.ResourceRef("db", "b")],
            outputs=[sl.ResourceRef("db", "c")])) as s2:
        s2.log_metrics({"rows": 41, "loss": 0.25})
        s2.write_results({"auc": 0.91, "by_class": {"cat": 0.8}})
    steps.ids["s2"] = s2.id
    moment = datetime.now(timezone.utc).isoformat()
    steps.step("load", [], ["a"])
    steps.step("s1", ["a"], ["b"])
    steps.step("broken", ["c"], ["z"], fail=True)
    return {"first_s1": first_s1, "moment": moment, **steps.ids}


def test_report_lineage_history_results_status(steps: Steps, history: dict[str, str]) -> None:
    cat = steps.cat
    out = ok(cli(cat, "report", "lineage", "--execution", history["s2"]))
    steps_in_order = [line.split("│")[2].strip() for line in out.splitlines()
                      if line.startswith("│") and line.split("│")[1].strip().isdigit()]
    assert steps_in_order == ["load", "s1", "s2"]  # data-flow order
    assert history["first_s1"][:8] in out and history["s1"][:8] not in out
    assert "db:a@placeholder " in out  # reads, with the version each step saw
    assert "sources:" not in out  # load made a: nothing upstream came from outside

    # the ref's current version was written by the second s1; as of `moment`, by the first
    now = ok(cli(cat, "report", "lineage", "--resource", "db:b"))
    assert history["s1"][:8] in now and history["first_s1"][:8] not in now
    then = ok(cli(cat, "report", "lineage", "--resource", "db:b", "--as-of", history["moment"]))
    assert history["first_s1"][:8] in then and history["s1"][:8] not in then

    hist = ok(cli(cat, "report", "history", "--limit", "4"))
    header = next(line for line in hist.splitlines() if " id " in line)
    assert "loss" in header and "rows" in header and "auc" in header
    s2_row = next(line for line in hist.splitlines() if history["s2"][:8] in line)
    assert "41" in s2_row and "0.25" in s2_row
    assert history["first_s1"][:8] not in hist  # newest 4 only: broken, s1, load, s2

    results = ok(cli(cat, "report", "results"))
    assert f"Results of s2 ({history['s2'][:8]}" in results
    assert "metrics.by_class.cat" in results and "0.91" in results

    status = ok(cli(cat, "report", "status"))
    assert "Recent failures" in status and history["broken"][:8] in status
    counts = {line.split("│")[1].strip(): line.split("│")[2].strip()
              for line in status.splitlines() if line.count("│") == 3}
    assert counts["completed"] == "5" and counts["failed"] == "1" and counts["total"] == "6"


def test_lineage_graph_every_format_and_stale(steps: Steps, history: dict[str, str],
                                              tmp_path: Path) -> None:
    cat = steps.cat
    node = f"execution:{history['s2']}"
    graph = cat.lineage.upstream(node)
    for fmt in ("html", "dot", "json", "prov-json", "prov-n"):
        out = tmp_path / f"g.{fmt}"
        said = ok(cli(cat, "lineage", "graph", str(out), "--format", fmt, "--node", node))
        assert f"{len(graph.nodes)} nodes, {len(graph.edges)} edges upstream" in said
    assert json.loads((tmp_path / "g.json").read_text())["nodes"]
    assert {n["id"] for n in json.loads((tmp_path / "g.json").read_text())["nodes"]} == \
        {n.id for n in graph.nodes}
    doc = ProvDocument.deserialize(content=(tmp_path / "g.prov-json").read_text(),
                                   format="json")
    assert {str(r.identifier) for r in doc.get_records((ProvActivity, ProvEntity))} == \
        {n.id for n in graph.nodes if n.kind != "agent"}
    assert (tmp_path / "g.prov-n").read_text().startswith("document")
    assert all(n.id in (tmp_path / "g.dot").read_text() for n in graph.nodes)
    page = (tmp_path / "g.html").read_text()
    data = page.split('id="lineage-data">', 1)[1].split("</script>", 1)[0]
    assert f"execution:{history['s2']}" in json.loads(data)["stale"]  # s2 read the old b

    # downstream with a depth, by resource ref, to stdout
    down = ok(cli(cat, "lineage", "graph", "-", "--format", "json", "--node", "db:b",
                  "--direction", "downstream", "--depth", "1"))
    assert {n["label"] for n in json.loads(down)["nodes"]} == {"db:b"}  # the new b: unread
    down = ok(cli(cat, "lineage", "graph", "-", "--format", "dot", "--node",
                  f"execution:{history['s2']}", "--direction", "downstream"))
    assert f"execution:{history['broken']}" in down

    stale = ok(cli(cat, "lineage", "stale"))
    assert "Stale executions" in stale and "db:b" in stale
    row = next(line for line in stale.splitlines() if history["s2"][:8] in line)
    assert row.split("│")[1].strip() == "s2"


def test_provenance_report_command(steps: Steps, history: dict[str, str],
                                   tmp_path: Path) -> None:
    cat = steps.cat
    out = tmp_path / "s2.docx"
    said = ok(cli(cat, "report", "provenance", history["s2"], str(out)))
    assert "wrote docx provenance report" in said
    text = "\n".join(c.text for t in docx.Document(str(out)).tables for r in t.rows
                     for c in r.cells)
    b_hash = cat.list_edges(history["s2"], role="input")[0].version_hash
    assert b_hash and b_hash in text and "0.91" in text
    html_out = tmp_path / "s2.report"
    ok(cli(cat, "report", "provenance", history["s2"], str(html_out), "--format", "html"))
    assert html_out.read_text().startswith("<!DOCTYPE html>")


def test_errors_are_messages_with_exit_code_2(steps: Steps) -> None:
    cat = steps.cat
    for args, message in (
            (("report", "lineage", "--execution", "nope"), "no lineage node"),
            (("report", "lineage", "--resource", "missing:x"), "unknown resource 'missing'"),
            (("report", "provenance", "nope", "out.docx"), "nothing to report on"),
            (("report", "lineage", "--as-of", "last tuesday"), "not an ISO 8601 time"),
            (("report", "lineage", "--execution", "x", "--resource", "db:b"), "not both"),
            (("lineage", "graph", "x.svg", "--format", "svg"), "'svg' is not one of")):
        result = cli(cat, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
        assert "Traceback" not in result.stderr
