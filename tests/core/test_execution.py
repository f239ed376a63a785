"""Executions: life cycle, failure semantics, staging in and out (on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import steplineage as sl


@pytest.fixture
def setup(catalog: sl.Catalog, data_dir: Path, tmp_path: Path) -> sl.Catalog:
    catalog.add_resource("raw", uri=data_dir, role="source-data")
    out = tmp_path / "out"
    out.mkdir()
    catalog.add_resource("out", uri=out, role="intermediate-data")
    catalog.create_asset_table("Model", "Trained models")
    catalog.add_asset_type("Trained", "A model after training")
    return catalog


def _run_producer(cat: sl.Catalog, payload: bytes = b"weights") -> sl.AssetRecord:
    with cat.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        exe.asset_file_path("Model", "best.pt", asset_types=["Trained"]).write_bytes(payload)
    return cat.list_assets("Model")[-1]


def test_status_history_is_ordered_with_duration(setup: sl.Catalog) -> None:
    cfg = sl.ExecutionConfig(workflow="train", inputs=[sl.ResourceRef("raw", "jan.csv")],
                             parameters={"gamma": 0.01})
    with setup.create_execution(cfg) as exe:
        exe.update_status(sl.Status.running, "epoch 1")
        exe.update_status(sl.Status.running, "epoch 2")
    rec = setup.get_execution(exe.id)
    assert [h.status.value for h in rec.history] == [
        "created", "initializing", "running", "running", "running", "uploading", "completed"]
    assert [h.message for h in rec.history][3:5] == ["epoch 1", "epoch 2"]
    assert [h.seq for h in rec.history] == list(range(7))
    times = [h.at for h in rec.history]
    assert times == sorted(times)
    assert rec.start_time is not None and rec.stop_time is not None
    assert rec.duration_seconds == pytest.approx(
        (rec.stop_time - rec.start_time).total_seconds(), abs=1e-3)
    assert rec.duration_seconds >= 0
    assert rec.parameters == {"gamma": 0.01}


def test_illegal_transition_is_refused_and_nothing_written(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        pass
    before = setup.get_execution(exe.id).history
    with pytest.raises(sl.StatusTransitionError, match="from 'completed' to 'running'"):
        exe.update_status(sl.Status.running, "again")
    assert setup.get_execution(exe.id).history == before


def test_failing_step_is_failed_with_message_and_no_valid_output(setup: sl.Catalog,
                                                                 data_dir: Path) -> None:
    cfg = sl.ExecutionConfig(workflow="train", inputs=[data_dir / "jan.csv"],
                             outputs=[sl.ResourceRef("out", "model")])
    with pytest.raises(RuntimeError, match="diverged"):
        with setup.create_execution(cfg) as exe:
            exe.asset_file_path("Model", "partial.pt").write_bytes(b"half")
            raise RuntimeError("loss diverged")
    rec = setup.get_execution(exe.id)
    assert rec.status is sl.Status.failed
    assert "RuntimeError: loss diverged" in rec.status_message
    outputs = setup.list_edges(exe.id, role="output")
    assert len(outputs) == 1 and outputs[0].valid is False and outputs[0].version_hash is None
    assert setup.list_assets("Model") == []  # nothing uploaded
    assert (exe.working_dir / "assets" / "Model" / "partial.pt").read_bytes() == b"half"


def test_keyboard_interrupt_aborts(setup: sl.Catalog) -> None:
    with pytest.raises(KeyboardInterrupt):
        with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
            raise KeyboardInterrupt
    assert setup.get_execution(exe.id).status is sl.Status.aborted


def test_outputs_become_valid_versions_on_completion(setup: sl.Catalog, tmp_path: Path) -> None:
    cfg = sl.ExecutionConfig(workflow="transform", inputs=[sl.ResourceRef("raw", "jan.csv")],
                             outputs=[sl.ResourceRef("out", "clean.csv")])
    with setup.create_execution(cfg) as exe:
        (tmp_path / "out" / "clean.csv").write_text("id\n1\n")
    out = setup.list_edges(exe.id, role="output")
    assert out[0].valid is True
    import hashlib

    assert out[0].version_hash == hashlib.sha256(b"id\n1\n").hexdigest()


def test_tampered_input_object_is_caught_before_user_code(setup: sl.Catalog) -> None:
    asset = _run_producer(setup)
    obj = Path(setup.object_store.key(asset.sha256))
    obj.write_bytes(b"evil!!!")  # same length as b"weights", different content
    ran = []
    with pytest.raises(sl.ChecksumMismatchError, match=asset.sha256):
        with setup.create_execution(sl.ExecutionConfig(workflow="eval", assets=[asset.id])):
            ran.append(True)
    assert ran == []
    failed = setup.list_executions(workflow="eval")[0]
    assert failed.status is sl.Status.failed
    assert "checksum mismatch" in failed.status_message
    staged = Path(failed.working_dir) / "inputs" / "Model" / "best.pt"
    assert not staged.exists()


def test_input_asset_is_staged_and_linked(setup: sl.Catalog) -> None:
    asset = _run_producer(setup)
    with setup.create_execution(sl.ExecutionConfig(workflow="eval", assets=[asset.id],
                                                   upload="manual")) as exe:
        assert exe.asset_paths[asset.id].read_bytes() == b"weights"
    edges = setup.list_edges(exe.id, role="input")
    assert [e.asset_id for e in edges] == [asset.id]
    exe.upload_execution_outputs()
    assert setup.get_execution(exe.id).status is sl.Status.completed


def test_same_file_staged_twice_is_stored_once(setup: sl.Catalog) -> None:
    first = _run_producer(setup)
    second = _run_producer(setup)
    assert first.id == second.id
    objects = [p for p in Path(setup.object_store.root).rglob("*") if p.is_file()]
    assert [p.name for p in objects] == [first.sha256]
    producers = {e.execution_id for e in setup.list_edges(role="output")}
    assert len(producers) == 2


@pytest.mark.parametrize("name", ["../../x", "/etc/x-nonexistent", "a/../../b", "..", "C:evil"])
def test_path_escaping_asset_names_are_refused(setup: sl.Catalog, name: str,
                                               tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    with setup.create_execution(sl.ExecutionConfig(workflow="train", upload="manual")) as exe:
        for call in (lambda: exe.asset_file_path("Model", name),
                     lambda: exe.asset_file_path("Model", "ok.pt", rename_file=name),
                     lambda: exe.asset_file_path(name, "ok.pt"),
                     lambda: exe.execution_metadata_path(name),
                     lambda: exe.table_path(name)):
            with pytest.raises(sl.AssetPathError):
                call()
    created = set(tmp_path.rglob("*")) - before
    assert all(p.is_relative_to(exe.working_dir) or p.is_relative_to(setup.settings.home)
               for p in created), created
    assert not Path("/etc/x-nonexistent").exists()


def test_symlink_pointing_out_is_refused(setup: sl.Catalog, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(sl.AssetPathError):
        with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
            model_dir = exe.execution_asset_path("Model")
            (model_dir / "sneaky").symlink_to(outside)
            exe.asset_file_path("Model", "sneaky/file.pt")
    with pytest.raises(sl.AssetPathError, match="outside the working dir"):
        with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
            secret = tmp_path / "secret.txt"
            secret.write_text("do not upload")
            (exe.execution_asset_path("Model") / "leak.txt").symlink_to(secret)
    assert setup.get_execution(exe.id).status is sl.Status.failed
    assert setup.list_assets("Model") == []


def test_staging_an_existing_file_by_copy(setup: sl.Catalog, data_dir: Path) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        p = exe.asset_file_path("Model", data_dir / "jan.csv", copy_file=True,
                                rename_file="table.csv", source="jan")
        assert p.name == "table.csv" and not p.is_symlink()
    [asset] = setup.list_assets("Model")
    assert asset.filename == "table.csv" and asset.metadata == {"source": "jan"}
    assert asset.length == (data_dir / "jan.csv").stat().st_size


def test_unknown_vocabulary_is_refused(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train"), ) as exe:
        with pytest.raises(sl.UnknownAssetTableError, match="create_asset_table"):
            exe.asset_file_path("Nope", "x.bin")
        with pytest.raises(sl.UnknownAssetTypeError, match="add_asset_type"):
            exe.asset_file_path("Model", "x.bin", asset_types=["Trained", "Bogus"])
    with pytest.raises(sl.UnknownResourceError, match="add_resource"):
        setup.create_execution(sl.ExecutionConfig(workflow="t", inputs=[sl.ResourceRef("x")]))
    with pytest.raises(sl.UnknownResourceError, match="no registered resource contains"):
        setup.create_execution(sl.ExecutionConfig(workflow="t", inputs=["/nowhere/file.csv"]))


def test_metadata_and_tables_are_uploaded(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        (exe.execution_metadata_path("Execution_Config") / "config.json").write_text("{}")
        exe.table_path("Subject").write_text("id\n1\n")
    tables = {a.asset_table: a for a in setup.list_assets()}
    assert tables["Execution_Metadata"].asset_types == ["Execution_Config"]
    assert tables["Execution_Table"].metadata == {"table": "Subject"}
    assert not exe.working_dir.exists()  # clean_folder


def test_manual_upload_waits_for_the_call(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train", upload="manual")) as exe:
        exe.asset_file_path("Model", "m.pt").write_bytes(b"m")
    rec = setup.get_execution(exe.id)
    assert rec.status is sl.Status.running and rec.stop_time is not None
    assert setup.list_assets("Model") == []
    result = exe.upload_execution_outputs()
    assert [a.filename for a in result["Model"]] == ["m.pt"]
    assert exe.upload_execution_outputs() is result  # idempotent
    assert setup.get_execution(exe.id).status is sl.Status.completed


def test_child_executions_and_write_results(setup: sl.Catalog, tmp_path: Path) -> None:
    results = tmp_path / "results"
    setup.add_resource("results", uri=results, role="results")
    with setup.create_execution(sl.ExecutionConfig(workflow="pipeline")) as parent:
        with parent.child("prep", inputs=[sl.ResourceRef("raw", "jan.csv")]) as child:
            child.log_params({"api_token": "abc123", "k": 3})
        with parent.child("report", results=sl.ResourceRef("results", "run-1")) as report:
            path = report.write_results({"accuracy": 0.93})
    assert path == results / "run-1" / "results.json"
    import json

    data = json.loads(path.read_text())
    assert data["metrics"] == {"accuracy": 0.93} and data["step"] == "report"
    kids = setup.list_executions(parent_id=parent.id)
    assert {k.name for k in kids} == {"prep", "report"}
    prep = next(k for k in kids if k.name == "prep")
    assert prep.parameters == {"api_token": "***", "k": 3}
    rep = setup.get_execution(report.id)
    assert rep.metrics == {"accuracy": 0.93} and rep.results["metrics"] == {"accuracy": 0.93}
    out = setup.list_edges(report.id, role="output")
    assert out[0].ref == sl.ResourceRef("results", "run-1") and out[0].valid


def test_datasets_materialize_or_metadata_only(setup: sl.Catalog) -> None:
    asset = _run_producer(setup)
    setup.create_dataset("models", "Trained models")
    assert setup.add_dataset_version("models", [asset.id, sl.ResourceRef("raw", "jan.csv")]) == 1
    with setup.create_execution(sl.ExecutionConfig(
            workflow="eval", datasets=[sl.DatasetSpec(name="models")])) as exe:
        root = exe.dataset_paths["models"]
        assert (root / "Model" / "best.pt").read_bytes() == b"weights"
    with setup.create_execution(sl.ExecutionConfig(
            workflow="eval", datasets=[sl.DatasetSpec(name="models", materialize=False)],
            upload="manual")) as exe2:
        root = exe2.dataset_paths["models"]
        assert not (root / "Model").exists()
        import json

        listing = json.loads((root / "members.json").read_text())
        assert listing["assets"][0]["sha256"] == asset.sha256
        assert listing["refs"][0]["resource"] == "raw"
    assert setup.list_edges(exe2.id, role="input")[0].dataset_version_id is not None


def test_retried_create_with_same_id_is_idempotent(setup: sl.Catalog) -> None:
    cfg = sl.ExecutionConfig(workflow="train", execution_id="11111111-2222-3333-4444-555555555555")
    first = setup.create_execution(cfg)
    again = setup.create_execution(cfg)
    assert again.id == first.id
    assert len(setup.list_executions()) == 1
    history = setup.get_execution(first.id).history
    assert [h.status.value for h in history] == ["created", "initializing"]


def test_a_step_that_skips_itself_inside_the_block_stays_skipped(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        exe.log_metrics({"rows": 0})
        exe.update_status(sl.Status.skipped, "nothing new today")
    rec = setup.get_execution(exe.id)
    assert rec.status is sl.Status.skipped and rec.status_message == "nothing new today"
    assert rec.metrics == {"rows": 0}


def test_held_metrics_go_out_with_the_next_status_change_or_flush(setup: sl.Catalog) -> None:
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        exe.log_metrics({"loss": 0.9})
        exe.log_params({"lr": 0.1})
        exe.update_status(sl.Status.running, "epoch 1")
        # Another reader sees what was logged before the status change.
        seen = setup.get_execution(exe.id)
        assert seen.metrics == {"loss": 0.9} and seen.parameters == {"lr": 0.1}
        exe.log_metrics({"loss": 0.5})
        exe.flush()
        assert setup.get_execution(exe.id).metrics == {"loss": 0.5}
        exe.log_metrics({"acc": 0.7})
        assert exe.record().metrics == {"loss": 0.5, "acc": 0.7}  # record() includes held ones


def test_held_writes_reach_the_catalog_when_the_process_exits(tmp_path: Path) -> None:
    """A script that logs metrics and ends without closing its execution loses nothing."""
    import subprocess
    import sys

    home = tmp_path / "home"
    script = (
        "import steplineage as sl\n"
        f"cat = sl.Catalog(home={str(home)!r})\n"
        "exe = cat.create_execution(sl.ExecutionConfig(workflow='nb'))\n"
        "exe.execution_start()\n"
        "exe.log_metrics({'cells': 12})\n"
        "print(exe.id)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    rec = sl.Catalog(home=home).get_execution(out.stdout.strip())
    assert rec.metrics == {"cells": 12}


def test_writes_are_held_no_longer_than_defer_seconds(setup: sl.Catalog,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import steplineage.tracking.writer as writer

    monkeypatch.setattr(writer, "DEFER_SECONDS", 0.0)  # every hold has expired at once
    with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
        exe.log_metrics({"loss": 0.9})
        assert setup.get_execution(exe.id).metrics == {"loss": 0.9}


@pytest.mark.parametrize("bad_id", ["..", "../../x", "/tmp/elsewhere", "a/b", "", "not-a-uuid",
                                    "11111111-2222-3333-4444-555555555555/.."])
def test_an_execution_id_that_is_not_ours_is_refused_and_nothing_is_touched(
        tmp_path: Path, bad_id: str) -> None:
    # A successful step removes its working dir (working root / id): with ".." that was
    # the whole STEPLINEAGE_HOME, catalog and objects included.
    home = tmp_path / "home"
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    cat = sl.Catalog(home=home)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(sl.InvalidExecutionIdError, match="uuid"):
        with cat.create_execution(sl.ExecutionConfig(workflow="w", execution_id=bad_id.replace(
                "/tmp/elsewhere", str(victim)))):
            pass
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert cat.list_executions() == []


def test_an_execution_id_in_another_spelling_of_our_format_is_normalised(
        setup: sl.Catalog) -> None:
    cfg = sl.ExecutionConfig(workflow="train", execution_id="11111111-2222-3333-4444-55555555555A")
    assert cfg.execution_id == "11111111-2222-3333-4444-55555555555a"


@pytest.mark.parametrize("raises", [False, True])
def test_a_reaped_step_finishes_and_keeps_its_end_in_the_history(
        setup: sl.Catalog, raises: bool, caplog: pytest.LogCaptureFixture) -> None:
    """The reaper aborting a live step (its heartbeat was lost) never crashes the step."""
    from reaper import reap_now

    class StepError(Exception):
        pass

    with pytest.raises(StepError) if raises else contextlib.nullcontext():
        with setup.create_execution(sl.ExecutionConfig(workflow="train")) as exe:
            reap_now(setup, exe.id)
            exe.update_status(sl.Status.running, "epoch 2")
            exe.log_metrics({"loss": 0.1})
            if raises:
                raise StepError("diverged")
    rec = setup.get_execution(exe.id)
    assert rec.status is sl.Status.aborted and rec.status_message.startswith("reaped")
    assert rec.metrics == {"loss": 0.1}
    not_applied = [(h.status.value, h.message) for h in rec.history
                   if h.message.endswith("[not applied: execution was already aborted]")]
    assert not_applied[0] == (
        "running", "epoch 2 [not applied: execution was already aborted]")
    assert not_applied[-1][0] == ("failed" if raises else "completed")
    assert f"execution {exe.id} is already aborted in the catalog" in caplog.text
