"""Data Workspaces' consistency and conflict rules."""

from __future__ import annotations

from pathlib import Path

import pytest

import steplineage as sl


@pytest.fixture
def workspace(catalog: sl.Catalog, tmp_path: Path) -> tuple[sl.Catalog, Path]:
    root = tmp_path / "ws"
    for sub in ("raw", "mid", "out"):
        (root / sub).mkdir(parents=True)
        catalog.add_resource(sub, uri=root / sub, role="intermediate-data")
    (root / "raw" / "a.csv").write_text("v1\n")
    return catalog, root


def _step(cat: sl.Catalog, name: str, inputs: list, outputs: list, write: dict[Path, str],
          parent: str | None = None) -> str:
    cfg = sl.ExecutionConfig(workflow=name, inputs=inputs, outputs=outputs,
                             parent_execution_id=parent)
    with cat.create_execution(cfg) as exe:
        for path, text in write.items():
            path.write_text(text)
    return exe.id


def test_two_versions_of_one_ref_upstream_is_refused(workspace) -> None:
    cat, root = workspace
    raw = sl.ResourceRef("raw", "a.csv")
    _step(cat, "clean", [raw], [sl.ResourceRef("mid", "b.csv")], {root / "mid" / "b.csv": "b1"})
    (root / "raw" / "a.csv").write_text("v2\n")  # the source changes; b.csv is now stale
    ran: list[bool] = []
    with pytest.raises(sl.LineageConsistencyError, match=r"raw:a\.csv at versions"):
        with cat.create_execution(sl.ExecutionConfig(
                workflow="join", inputs=[raw, sl.ResourceRef("mid", "b.csv")])):
            ran.append(True)
    assert ran == []
    [join] = cat.list_executions(workflow="join")
    assert join.status is sl.Status.failed
    assert cat.list_edges(join.id) == []  # nothing half-written


def test_consistency_can_be_relaxed_to_a_warning(workspace, caplog) -> None:
    cat, root = workspace
    raw = sl.ResourceRef("raw", "a.csv")
    _step(cat, "clean", [raw], [sl.ResourceRef("mid", "b.csv")], {root / "mid" / "b.csv": "b1"})
    (root / "raw" / "a.csv").write_text("v2\n")
    cat.settings = cat.settings.model_copy(update={"consistency": "warn"})
    with cat.create_execution(sl.ExecutionConfig(
            workflow="join", inputs=[raw, sl.ResourceRef("mid", "b.csv")])) as exe:
        pass
    assert cat.get_execution(exe.id).status is sl.Status.completed
    assert "more than one version" in caplog.text


def test_independent_siblings_writing_overlapping_refs_conflict(workspace) -> None:
    cat, root = workspace
    with cat.create_execution(sl.ExecutionConfig(workflow="pipeline")) as parent:
        _step(cat, "a", [], [sl.ResourceRef("out", "part")], {}, parent=parent.id)
        with pytest.raises(sl.LineageConflictError, match="overlaps out:part"):
            cat.create_execution(sl.ExecutionConfig(
                workflow="b", outputs=[sl.ResourceRef("out")], parent_execution_id=parent.id))
        # separate subpaths do not overlap
        _step(cat, "c", [], [sl.ResourceRef("out", "other")], {}, parent=parent.id)


def test_a_dependent_sibling_may_rewrite_what_it_read(workspace) -> None:
    cat, root = workspace
    (root / "out" / "x.csv").write_text("1")
    with cat.create_execution(sl.ExecutionConfig(workflow="pipeline")) as parent:
        _step(cat, "write", [], [sl.ResourceRef("out", "x.csv")], {root / "out" / "x.csv": "2"},
              parent=parent.id)
        _step(cat, "update", [sl.ResourceRef("out", "x.csv")], [sl.ResourceRef("out", "x.csv")],
              {root / "out" / "x.csv": "3"}, parent=parent.id)
    assert {r.status for r in cat.list_executions(parent_id=parent.id)} == {sl.Status.completed}


def test_placeholder_versions_link_readers_to_writers(workspace) -> None:
    cat, _ = workspace
    cat.add_resource("warehouse", uri="postgresql://dw/analytics", role="intermediate-data")
    table = sl.ResourceRef("warehouse", "public.orders")
    writer = _step(cat, "load", [], [table], {})
    reader = _step(cat, "report", [table], [], {})
    [out] = cat.list_edges(writer, role="output")
    [inp] = cat.list_edges(reader, role="input")
    assert out.version_hash.startswith("placeholder:") and inp.version_hash == out.version_hash


def test_a_retry_of_the_same_step_is_not_a_conflict(workspace) -> None:
    cat, root = workspace
    with cat.create_execution(sl.ExecutionConfig(workflow="pipeline")) as parent:
        for attempt in (1, 2):  # e.g. Airflow clearing a finished task: a second try
            _step(cat, "load", [], [sl.ResourceRef("out", "table")],
                  {root / "out" / "table": f"try {attempt}"}, parent=parent.id)
    tries = cat.list_executions(parent_id=parent.id)
    assert [t.status for t in tries] == [sl.Status.completed, sl.Status.completed]
