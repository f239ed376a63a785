"""Provider registration, the connection form, the hook's settings, decorator and track() misuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow_env import AIRFLOW, AIRFLOW_ENV

import steplineage as sl
from steplineage.airflow.hooks import SteplineageHook


def test_providers_list_shows_steplineage(airflow_db: Path) -> None:
    out = subprocess.run([AIRFLOW, "providers", "list", "--output", "json"], check=True,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, **AIRFLOW_ENV}).stdout
    providers = {p["package_name"]: p for p in json.loads(out[out.index("["):])}
    assert providers["steplineage"]["version"] == sl.__version__


def test_connection_form_shows_our_fields() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = {m.connection_type: m for m in HookMetaService.hook_meta_data()}["steplineage"]
    assert meta.hook_class_name == "steplineage.airflow.hooks.SteplineageHook"
    assert set(meta.extra_fields) == {"catalog_url", "object_store", "strict", "timeout_seconds"}
    assert meta.extra_fields["catalog_url"]["schema"]["title"] == "Catalog URL"
    assert meta.extra_fields["strict"]["schema"]["type"] == ["boolean", "null"]
    fields = meta.standard_fields
    assert fields.host.hidden and fields.login.hidden and fields.port.hidden
    assert fields.password.title == "Catalog database password"


def test_task_steplineage_resolves_to_our_operator() -> None:
    from airflow.sdk import task

    from steplineage.airflow.decorators import _SteplineageDecoratedOperator, steplineage_task

    assert task.steplineage is steplineage_task

    @task.steplineage(outputs=["/data/out.csv"])
    def produce(exe: sl.Execution) -> None: ...

    assert produce.operator_class is _SteplineageDecoratedOperator


def test_importing_steplineage_does_not_import_airflow() -> None:
    code = ("import sys, steplineage, steplineage.airflow, steplineage.airflow.provider_info as p;"
            "p.get_provider_info();"
            "bad = [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')];"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hook_settings_precedence(monkeypatch: pytest.MonkeyPatch, sl_home: Path) -> None:
    # Nothing configured: the embedded default under STEPLINEAGE_HOME.
    assert SteplineageHook("sl_none").get_settings().resolved_catalog_url() == \
        f"sqlite:///{sl_home / 'catalog.db'}"
    monkeypatch.setenv("STEPLINEAGE_CATALOG_URL", "sqlite:////env/c.db")
    assert SteplineageHook("sl_none").get_settings().catalog_url == "sqlite:////env/c.db"
    monkeypatch.setenv("AIRFLOW__STEPLINEAGE__CATALOG_URL", "sqlite:////config/c.db")
    assert SteplineageHook("sl_none").get_settings().catalog_url == "sqlite:////config/c.db"
    monkeypatch.setenv("AIRFLOW_CONN_SL_PRECEDENCE", json.dumps({
        "conn_type": "steplineage", "password": "pw",
        "extra": {"catalog_url": "postgresql+psycopg://me@db:5432/sl", "strict": True,
                  "object_store": "s3://bucket/sl"}}))
    settings = SteplineageHook("sl_precedence").get_settings()
    assert settings.catalog_url == "postgresql+psycopg://me:pw@db:5432/sl"
    assert settings.strict is True and settings.object_store == "s3://bucket/sl"
    # An argument beats the connection.
    assert SteplineageHook("sl_precedence", strict=False).get_settings().strict is False


@pytest.mark.postgres
def test_hook_opens_postgres_catalog_from_connection(monkeypatch: pytest.MonkeyPatch,
                                                    pg_url: str, sl_home: Path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SL_PG", json.dumps(
        {"conn_type": "steplineage", "extra": {"catalog_url": pg_url}}))
    hook = SteplineageHook("sl_pg")
    assert hook.test_connection()[0] is True
    assert hook.get_catalog().engine.dialect.name == "postgresql"
    assert SteplineageHook("sl_down").test_connection()[0] is False


def test_execution_parameter_in_the_wrong_place_fails_at_decoration() -> None:
    from airflow.sdk import task

    with pytest.raises(sl.ConfigurationError, match=r"def train\(rows, exe: sl.Execution\)"):
        @task.steplineage
        def train(exe: sl.Execution, rows: list) -> None: ...


def test_track_refuses_what_is_not_an_operator() -> None:
    from steplineage.airflow import track

    with pytest.raises(sl.ConfigurationError, match="subclass instead"):
        track(object())  # type: ignore[type-var]


def test_track_keeps_the_operator_and_declares_asset_outlets() -> None:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, Asset

    from steplineage.airflow import SteplineageMixin, track

    out = Asset(name="dump", uri="file:///data/dump.sql")
    with DAG("sl_track_shape", schedule=None):
        op = track(BashOperator(task_id="dump", bash_command="echo hi"), outputs=[out],
                   inputs=["/data/in.csv"])
    assert isinstance(op, BashOperator) and isinstance(op, SteplineageMixin)
    assert type(op).__name__ == "TrackedBashOperator"
    assert op.bash_command == "echo hi"
    assert out in op.outlets  # Airflow emits the asset event as usual
    assert {"bash_command", "env", "sl_inputs", "sl_outputs"} <= set(op.template_fields)
