"""The web app's read models (``cat.views``) on SQLite and PostgreSQL: filters, pages,
totals, search, one execution, and the Visibility filter hiding other DAGs everywhere."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

import steplineage as sl
from steplineage.models import ExecutionFilter, Visibility

ETL_ONLY = Visibility(frozenset({"etl"}), include_non_airflow=False)


def airflow(dag_id: str, run_id: str, task_id: str | None) -> sl.OrchestratorIdentity:
    return sl.OrchestratorIdentity(orchestrator="airflow", dag_id=dag_id, run_id=run_id,
                                   task_id=task_id, map_index=-1, try_number=1)


def step(cat: sl.Catalog, name: str, orchestrator: sl.OrchestratorIdentity | None = None,
         fail: bool = False, **config: object) -> str:
    """Record one execution (failed when ``fail``); returns its id."""
    try:
        with cat.create_execution(sl.ExecutionConfig(
                workflow=name, name=name, orchestrator=orchestrator, **config)) as exe:
            if fail:
                raise RuntimeError("boom")
    except RuntimeError:
        pass
    return exe.id


@pytest.fixture
def ids(catalog: sl.Catalog, data_dir: Path) -> dict[str, str]:
    """etl: run r1 (DAG-run execution with extract and load, load failed) and run r2
    (extract); billing: run r1 (invoice); one script outside Airflow, named with % and _."""
    cat = catalog
    cat.add_resource("files", uri=data_dir, role="source-data")
    found = {}
    with cat.create_execution(sl.ExecutionConfig(
            workflow="etl", name="etl", orchestrator=airflow("etl", "r1", None))) as run:
        found["etl/r1"] = run.id
        found["extract"] = step(cat, "extract_orders", airflow("etl", "r1", "extract"),
                                parent_execution_id=run.id, inputs=[data_dir / "jan.csv"])
        found["load"] = step(cat, "load_orders", airflow("etl", "r1", "load"), fail=True,
                             parent_execution_id=run.id)
        # a child recorded under another DAG (a triggered DAG reporting to its trigger)
        found["invoice"] = step(cat, "load_invoices", airflow("billing", "r1", "invoice"),
                                parent_execution_id=run.id, inputs=[data_dir / "feb.csv"])
    found["extract2"] = step(cat, "extract_orders", airflow("etl", "r2", "extract"))
    found["script"] = step(cat, "100%_done")
    return found


def test_visibility_hides_other_dags_in_pages_totals_and_dag_summaries(
        catalog: sl.Catalog, ids: dict[str, str]) -> None:
    views = catalog.views
    everything = views.executions(ExecutionFilter(), Visibility())
    assert everything.total == 6 and len(everything.items) == 6
    etl = views.executions(ExecutionFilter(), ETL_ONLY)
    assert etl.total == 4
    assert {e.orchestrator.dag_id for e in etl.items} == {"etl"}
    with_scripts = views.executions(ExecutionFilter(), Visibility(frozenset({"etl"})))
    assert with_scripts.total == 5 and ids["script"] in {e.id for e in with_scripts.items}
    assert views.executions(ExecutionFilter(), Visibility(frozenset(), False)).total == 0
    only_scripts = views.executions(ExecutionFilter(), Visibility(frozenset()))
    assert [e.id for e in only_scripts.items] == [ids["script"]]
    dags_only = views.executions(ExecutionFilter(), Visibility(None, include_non_airflow=False))
    assert dags_only.total == 5
    # a DAG asked for by name is still filtered (the web app answers 403 before asking)
    assert views.executions(ExecutionFilter(dag_id="billing"), ETL_ONLY).total == 0

    assert [(d.dag_id, d.executions, d.runs) for d in views.dags(Visibility())] == [
        ("billing", 1, 1), ("etl", 4, 2)]
    assert [d.dag_id for d in views.dags(ETL_ONLY)] == ["etl"]
    assert views.dags(Visibility(frozenset(), True)) == []
    assert views.dag_ids() == {"etl", "billing"}


def test_search_hides_executions_of_other_dags_and_takes_wildcards_literally(
        catalog: sl.Catalog, ids: dict[str, str]) -> None:
    views = catalog.views
    hits = views.search("load", Visibility())
    assert {h.node for h in hits} == {f"execution:{ids['load']}", f"execution:{ids['invoice']}"}
    assert {h.node for h in views.search("load", ETL_ONLY)} == {f"execution:{ids['load']}"}
    assert views.search("100%", ETL_ONLY) == []  # the script is outside every DAG
    # "%" and "_" match themselves, not any text
    assert [h.label for h in views.search("%", Visibility())] == ["100%_done"]
    assert [h.label for h in views.search("0%_d", Visibility())] == ["100%_done"]
    # refs are found by name and by checksum prefix, the newest version of each once
    refs = views.search("jan", ETL_ONLY)
    assert [(h.kind, h.label) for h in refs] == [("version", "files:jan.csv")]
    by_hash = views.search(refs[0].detail[:10].upper(), ETL_ONLY)
    assert [h.node for h in by_hash] == [refs[0].node]
    assert views.search("   ", Visibility()) == []
    by_id = views.search(ids["invoice"][:8], Visibility())
    assert by_id[0].node == f"execution:{ids['invoice']}" and "billing r1" in by_id[0].detail
    assert views.search(ids["invoice"][:8], ETL_ONLY) == []


def test_filters_pages_and_time_bounds(catalog: sl.Catalog, ids: dict[str, str]) -> None:
    views, every = catalog.views, Visibility()
    failed = views.executions(ExecutionFilter(status=sl.Status.failed), every)
    assert [e.id for e in failed.items] == [ids["load"]]
    assert failed.items[0].history[-1].status is sl.Status.failed  # history comes along
    run = views.executions(ExecutionFilter(dag_id="etl", run_id="r1", task_id="extract"), every)
    assert [e.id for e in run.items] == [ids["extract"]]
    children = views.executions(ExecutionFilter(parent_id=ids["etl/r1"]), every)
    assert {e.id for e in children.items} == {ids["extract"], ids["load"], ids["invoice"]}
    top = views.executions(ExecutionFilter(top_level=True), every)
    assert {e.id for e in top.items} == {ids["etl/r1"], ids["extract2"], ids["script"]}
    named = views.executions(ExecutionFilter(text="_orders"), every)
    assert named.total == 3
    assert views.executions(ExecutionFilter(text="%"), every).total == 1

    # newest first, paged, with the total of all pages
    pages = [views.executions(ExecutionFilter(), every, limit=4, offset=o) for o in (0, 4)]
    assert [p.total for p in pages] == [6, 6] and [len(p.items) for p in pages] == [4, 2]
    newest_first = [e for p in pages for e in p.items]
    assert [e.created_at for e in newest_first] == sorted(
        (e.created_at for e in newest_first), reverse=True)

    # a bound in another time zone means the same instant
    pivot = newest_first[2].created_at
    pivot = pivot if pivot.tzinfo else pivot.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
    east = pivot.astimezone(timezone(timedelta(hours=2)))
    assert views.executions(ExecutionFilter(since=east), every).total == 3
    assert views.executions(ExecutionFilter(until=east), every).total == 4
    naive_utc = pivot.astimezone(timezone.utc).replace(tzinfo=None)
    assert views.executions(ExecutionFilter(since=naive_utc), every).total == 3


def test_dag_runs_latest_run_and_graph_starts(catalog: sl.Catalog, ids: dict[str, str]) -> None:
    views = catalog.views
    runs = views.dag_runs("etl")
    assert [(r.run_id, r.executions, r.failed) for r in runs] == [("r2", 1, 0), ("r1", 3, 1)]
    assert runs[0].started is not None
    assert views.latest_run_id("etl") == "r2"
    assert views.latest_run_id("nope") is None
    assert views.run_execution_ids("etl", "r1") == [ids["extract"], ids["load"]]
    assert views.run_execution_ids("etl", "r1", "load") == [ids["load"]]
    assert views.run_execution_ids("etl", "r9") == []
    # a run with only its DAG-run execution recorded starts from that one
    dag_run_only = step(catalog, "etl", airflow("etl", "r3", None))
    assert views.run_execution_ids("etl", "r3") == [dag_run_only]
    assert views.child_ids(ids["etl/r1"], 200) == [ids["extract"], ids["load"], ids["invoice"]]
    assert views.child_ids(ids["etl/r1"], 1) == [ids["extract"]]


def test_execution_detail_hides_children_and_parent_of_other_dags(
        catalog: sl.Catalog, ids: dict[str, str], data_dir: Path) -> None:
    views = catalog.views
    full = views.execution_detail(ids["etl/r1"], Visibility())
    assert [c["id"] for c in full["children"]] == [ids["extract"], ids["load"], ids["invoice"]]
    assert full["hidden_children"] == 0 and full["node"] == f"execution:{ids['etl/r1']}"
    assert full["workflow"]["name"] == "etl"
    etl = views.execution_detail(ids["etl/r1"], ETL_ONLY)
    assert [c["id"] for c in etl["children"]] == [ids["extract"], ids["load"]]
    assert etl["hidden_children"] == 1

    invoice = views.execution_detail(ids["invoice"], Visibility())
    assert invoice["parent"]["id"] == ids["etl/r1"]
    assert views.execution_detail(ids["invoice"], Visibility(frozenset({"billing"})))[
        "parent"] is None
    [read] = invoice["inputs"]
    assert read["ref"] == "files:feb.csv" and read["kind"] == "version" and read["valid"]
    assert read["node"].startswith("version:") and len(read["hash"]) == 64
    assert invoice["outputs"] == [] and invoice["execution"]["status"] == "completed"

    with pytest.raises(sl.NotFoundError, match="no execution with id 'missing'"):
        views.execution_detail("missing", Visibility())
