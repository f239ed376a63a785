"""``steplineage model-run|csv|pipeline`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import steplineage as sl
from tests.registry.registry_setup import flood_record, flood_setup


def _cli(cat: sl.Catalog, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = cat.engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "steplineage", *args, "--url", url],
                          capture_output=True, text=True,
                          env={"STEPLINEAGE_HOME": str(home), "COLUMNS": "200",
                               "PATH": "/usr/bin:/bin"})


def test_model_run_and_csv_commands(catalog: sl.Catalog, sl_home: Path, tmp_path: Path) -> None:
    setup = flood_setup(catalog, tmp_path)
    template = tmp_path / "template.json"
    template.write_text(json.dumps({"name": "small-model", "required_annotations": ["site"],
                                    "outputs": [{"name": "out", "kind": "ref"}]}))
    done = _cli(catalog, sl_home, "model-run", "template", str(template))
    assert done.returncode == 0, done.stderr
    assert "CSV columns: template, display_name, description, start_time, end_time, " \
           "output:out, annotation:site" in done.stdout

    record = tmp_path / "run.json"
    record.write_text(json.dumps(flood_record(setup)))
    done = _cli(catalog, sl_home, "model-run", "register", str(record))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    assert catalog.get_model_run(run_id).record.display_name == "run 1"

    record.write_text(json.dumps(flood_record(setup, annotations={"region": "east"})))
    done = _cli(catalog, sl_home, "model-run", "update", run_id, str(record),
                "--reason", "region fixed")
    assert done.returncode == 0 and "revision 2" in done.stdout
    assert catalog.get_model_run(run_id).history[0].reason == "region fixed"

    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([flood_record(setup, n) for n in range(2, 5)]))
    done = _cli(catalog, sl_home, "model-run", "batch", str(batch))
    assert done.returncode == 0 and "3 model run(s)" in done.stdout, done.stderr
    batch_id = done.stdout.split()[2].rstrip(":")

    exported = tmp_path / "export.csv"
    done = _cli(catalog, sl_home, "csv", "export", batch_id, str(exported))
    assert done.returncode == 0 and "3 row(s)" in done.stdout, done.stderr
    done = _cli(catalog, sl_home, "csv", "import", str(exported))
    assert done.returncode == 0 and "3 model run(s)" in done.stdout, done.stderr
    header = tmp_path / "header.csv"
    done = _cli(catalog, sl_home, "csv", "template", "flood-model", str(header))
    assert done.returncode == 0 and header.read_text().startswith("template,display_name")

    # Bad input: our error, with what to do, exit code 2 and nothing written.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([flood_record(setup, 9), flood_record(setup, 10, template="x")]))
    done = _cli(catalog, sl_home, "model-run", "batch", str(bad))
    assert done.returncode == 2 and "row 2: unknown workflow template 'x'" in done.stderr
    bad.write_text("{not json")
    done = _cli(catalog, sl_home, "model-run", "register", str(bad))
    assert done.returncode == 2 and "cannot read a model-run record as JSON" in done.stderr
    assert len(catalog.list_executions(workflow="flood-model", limit=None)) == 7


def test_pipeline_commands(catalog: sl.Catalog, sl_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "orders.json"
    config.write_text(json.dumps({"name": "orders", "default_watermark": "2024-01-01"}))
    done = _cli(catalog, sl_home, "pipeline", "sync", str(config))
    assert done.returncode == 0, done.stderr
    synced = catalog.get_pipeline("orders")
    assert synced.id in done.stdout and synced.active
    done = _cli(catalog, sl_home, "pipeline", "deactivate", "orders")
    assert done.returncode == 0 and not catalog.get_pipeline("orders").active
    done = _cli(catalog, sl_home, "pipeline", "list")
    assert "orders" in done.stdout and "no" in done.stdout
    config.write_text(json.dumps({"name": "orders", "activ": True}))
    done = _cli(catalog, sl_home, "pipeline", "sync", str(config))
    assert done.returncode == 2 and "invalid pipeline config (activ: Extra inputs" in done.stderr
