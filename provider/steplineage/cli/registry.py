"""Registry commands: ``steplineage model-run``, ``csv`` and ``pipeline``.

Example:
    $ steplineage model-run template flood-model.json
    $ steplineage csv template flood-model runs.csv
    $ steplineage csv import runs.csv
    $ steplineage csv export <batch-id> batch.csv
    $ steplineage model-run update <run-id> fixed.json --reason "wrong rainfall version"
    $ steplineage pipeline sync orders.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from steplineage.cli._common import HomeOption, UrlOption, console, open_catalog

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["audit_trail", "csv_app", "model_run_app", "pipeline_app"]

model_run_app = typer.Typer(help="Model runs registered after the fact, and their templates.",
                            no_args_is_help=True)
csv_app = typer.Typer(help="Model runs as CSV: template, import, export.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Pipeline configs (active flag, watermarks).",
                           no_args_is_help=True)


def _read_json(path: Path, error: type[Exception], what: str) -> Any:
    from steplineage.errors import ModelRunValidationError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        message = (f"{path}: cannot read {what} as JSON ({exc}); see docs/registry.md for "
                   "the format")
        if error is ModelRunValidationError:
            raise ModelRunValidationError([message], what) from None
        raise error(message) from None


def _model(cls: type[Any], data: Any, error: type[Exception], what: str) -> Any:
    from pydantic import ValidationError

    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or what}: {e['msg']}"
                             for e in exc.errors())
        raise error(f"invalid {what} ({problems})") from None


# -- model runs -------------------------------------------------------------------------


@model_run_app.command("template")
def template_add(file: Path, url: UrlOption = None, home: HomeOption = None) -> None:
    """Register a workflow template from a JSON file."""
    from steplineage.errors import TemplateError
    from steplineage.registry.csv_io import template_columns
    from steplineage.registry.templates import WorkflowTemplate

    data = _read_json(file, TemplateError, "a workflow template")
    if not isinstance(data, dict):
        raise TemplateError(f"{file}: a workflow template is a JSON object")
    with open_catalog(url, home) as cat:
        template = cat.add_workflow_template(WorkflowTemplate(**data))
    console.print(f"template {template.name} {template.id}")
    console.print(f"CSV columns: {', '.join(template_columns(template))}", soft_wrap=True)


@model_run_app.command("register")
def register(file: Path, url: UrlOption = None, home: HomeOption = None) -> None:
    """Register one model run from a JSON record."""
    from steplineage.errors import ModelRunValidationError

    record = _read_json(file, ModelRunValidationError, "a model-run record")
    with open_catalog(url, home) as cat:
        run_id = cat.register_model_run(record)
    console.print(f"registered model run {run_id}")


@model_run_app.command("batch")
def batch(file: Path, url: UrlOption = None, home: HomeOption = None) -> None:
    """Register a JSON list of model-run records as one batch (all or none)."""
    from steplineage.errors import ModelRunValidationError

    records = _read_json(file, ModelRunValidationError, "a list of model-run records")
    if not isinstance(records, list):
        raise ModelRunValidationError([f"{file}: a batch is a JSON list of records"], "batch")
    with open_catalog(url, home) as cat:
        result = cat.register_batch_model_runs(records)
    console.print(f"registered batch {result.batch_id}: {len(result.run_ids)} model run(s)")


@model_run_app.command("update")
def update(run_id: str, file: Path,
           reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
           url: UrlOption = None, home: HomeOption = None) -> None:
    """Replace a model run's record; the earlier one is kept with the reason."""
    from steplineage.errors import ModelRunValidationError

    record = _read_json(file, ModelRunValidationError, "a model-run record")
    with open_catalog(url, home) as cat:
        info = cat.update_model_run(run_id, reason, record)
    console.print(f"model run {run_id} is at revision {info.revision}")


def audit_trail(cat: Catalog, execution_id: str) -> Table | None:
    """The model-run audit trail of an execution, or None if it is not a model run.

    Example:
        >>> console.print(audit_trail(cat, run_id))  # doctest: +SKIP
    """
    from steplineage.errors import NotFoundError

    try:
        info = cat.get_model_run(execution_id)
    except NotFoundError:
        return None
    table = Table(title=f"Model-run record: template {info.template}, revision {info.revision}"
                  + (f", batch {info.batch_id} row {info.batch_row}" if info.batch_id else ""))
    for column in ("revision", "replaced at (UTC)", "reason", "changed (then -> next)"):
        table.add_column(column, overflow="fold")
    records = [rev.record for rev in info.history] + [info.record]
    for rev, after in zip(info.history, records[1:]):
        table.add_row(str(rev.revision), rev.replaced_at.strftime("%Y-%m-%d %H:%M:%S"),
                      rev.reason, "\n".join(_changes(rev.record, after)) or "(nothing)")
    if not info.history:
        table.add_row("1", "", "", "(never updated)")
    return table


def _flat(record: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.model_dump(mode="json").items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            out[key] = str(value)
    return out


def _changes(before: Any, after: Any) -> list[str]:
    """``field: old -> new`` for every field that differs between two records."""
    old, new = _flat(before), _flat(after)
    return [f"{k}: {old.get(k, '(none)')} -> {new.get(k, '(none)')}"
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


# -- CSV ---------------------------------------------------------------------------------


@csv_app.command("template")
def csv_template(template: str, out: Path, url: UrlOption = None,
                 home: HomeOption = None) -> None:
    """Write the CSV header for a template's model runs."""
    from steplineage.registry.csv_io import generate_csv_template

    with open_catalog(url, home) as cat:
        header = generate_csv_template(cat, template, out)
    console.print(f"wrote {out}: {header.strip()}", soft_wrap=True, highlight=False)


@csv_app.command("import")
def csv_import(file: Path, url: UrlOption = None, home: HomeOption = None) -> None:
    """Register every row of a model-run CSV as one batch (all rows or none)."""
    from steplineage.registry.csv_io import import_model_runs_csv

    with open_catalog(url, home) as cat:
        result = import_model_runs_csv(cat, file)
    console.print(f"registered batch {result.batch_id}: {len(result.run_ids)} model run(s)")


@csv_app.command("export")
def csv_export(batch_id: str, out: Path, url: UrlOption = None,
               home: HomeOption = None) -> None:
    """Write a registered batch back as CSV (current records, original order)."""
    from steplineage.registry.csv_io import regenerate_csv_from_batch

    with open_catalog(url, home) as cat:
        text = regenerate_csv_from_batch(cat, batch_id, out)
    console.print(f"wrote {out}: {text.count(chr(10)) - 1} row(s)")


# -- pipelines ---------------------------------------------------------------------------


def _pipelines_table(pipes: list[Any]) -> Table:
    table = Table(title="Pipelines")
    for column in ("name", "id", "active", "default watermark", "next watermark"):
        table.add_column(column, overflow="fold")
    for p in pipes:
        table.add_row(p.name, p.id, "yes" if p.active else "no", p.default_watermark or "",
                      p.next_watermark or "")
    return table


@pipeline_app.command("sync")
def pipeline_sync(file: Path, url: UrlOption = None, home: HomeOption = None) -> None:
    """Create or update a pipeline from a JSON config; prints its id and active flag."""
    from steplineage.errors import ConfigurationError
    from steplineage.registry.pipelines import PipelineConfig

    config = _model(PipelineConfig, _read_json(file, ConfigurationError, "a pipeline config"),
                    ConfigurationError, "pipeline config")
    with open_catalog(url, home) as cat:
        synced = cat.sync_pipeline_config(config)
    console.print(_pipelines_table([synced]))


@pipeline_app.command("list")
def pipeline_list(url: UrlOption = None, home: HomeOption = None) -> None:
    """Every pipeline with its active flag and watermark settings."""
    with open_catalog(url, home) as cat:
        console.print(_pipelines_table(cat.list_pipelines()))


@pipeline_app.command("activate")
def pipeline_activate(name: str, url: UrlOption = None, home: HomeOption = None) -> None:
    """Switch a pipeline on."""
    with open_catalog(url, home) as cat:
        console.print(_pipelines_table([cat.set_pipeline_active(name, True)]))


@pipeline_app.command("deactivate")
def pipeline_deactivate(name: str, url: UrlOption = None, home: HomeOption = None) -> None:
    """Switch a pipeline off: its runs are recorded as skipped and do not run."""
    with open_catalog(url, home) as cat:
        console.print(_pipelines_table([cat.set_pipeline_active(name, False)]))
