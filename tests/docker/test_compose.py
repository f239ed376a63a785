"""docker/: the compose file is valid and complete, the image build files only copy
files that exist, and the PostgreSQL init script makes the databases it promises.

``docker compose config`` needs the Compose plugin of the docker client (no
engine); without it the test uses the standalone ``docker-compose`` (v1, Debian's
package) if present, and skips if neither is. The rest check the same file
without either: interpolation against docker/.env.example, profiles,
healthchecks, named volumes, bind mounts, build contexts, and that no secret is
written into compose.yaml.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_stack import compose_cli

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
INIT_SCRIPT = DOCKER / "postgres" / "init-databases.sh"

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer"}
PREFECT_SERVICES = {"prefect-server", "prefect-deploy", "prefect-worker"}
_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


def env_example() -> dict[str, str]:
    """The variables docker/.env.example sets (KEY=VALUE lines)."""
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op and op.endswith("-") and not value:
            return arg
        if op and op.endswith("?") and not value:
            raise KeyError(f"${{{name}}} is required: {arg}")
        return value or ""
    return _VAR.sub(one, text)


def compose_model(env: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml parsed after interpolation with docker/.env.example."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env_example() if env is None else env))


def services_in(model: dict[str, Any], profile: str | None) -> set[str]:
    """Services that `docker compose [--profile P] up` starts."""
    return {name for name, svc in model["services"].items()
            if not svc.get("profiles") or profile in svc["profiles"]}


@pytest.mark.skipif(compose_cli() is None and os.environ.get("CI") != "true",
                    reason="neither `docker compose` (plugin) nor `docker-compose` is installed; "
                           "the other tests check the file without them")
@pytest.mark.parametrize("profile", [None, "prefect"])
def test_docker_compose_config_accepts_the_file(profile: str | None, tmp_path: Path) -> None:
    cli = compose_cli()
    compose_file = COMPOSE
    if cli == ["docker-compose"]:
        # Compose v1 predates the top-level `name:` key (v2 reads it; v1 rejects it):
        # check a copy without it, resolving relative paths from docker/ as v2 would.
        compose_file = tmp_path / "compose.yaml"
        compose_file.write_text(re.sub(r"(?m)^name: .*$", "", COMPOSE.read_text()))
        cli = [*cli, "--project-directory", str(DOCKER)]
    args = [*cli, "-f", str(compose_file), "--env-file", str(ENV_EXAMPLE)]
    if profile:
        args += ["--profile", profile]
    done = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    expected = AIRFLOW_SERVICES | {"postgres"} | (PREFECT_SERVICES if profile else set())
    # v1 prints every service with its profiles; v2 only the active ones.
    assert services_in(resolved, profile) == expected
    conn = resolved["services"]["airflow-scheduler"]["environment"][
        "AIRFLOW_CONN_STEPLINEAGE_DEFAULT"]
    assert json.loads(conn)["password"] == env_example()["CATALOG_DB_PASSWORD"]


def test_profiles_airflow_by_default_prefect_on_request() -> None:
    model = compose_model()
    assert services_in(model, None) == AIRFLOW_SERVICES | {"postgres"}
    assert services_in(model, "prefect") == AIRFLOW_SERVICES | PREFECT_SERVICES | {"postgres"}


def test_every_variable_is_set_by_the_env_example_or_has_a_default() -> None:
    text = COMPOSE.read_text()
    example = env_example()
    used = {m["name"] for m in _VAR.finditer(text) if m["name"]}
    defaulted = {m["name"] for m in _VAR.finditer(text) if m["name"] and m["op"]
                 and m["op"].endswith("-")}
    assert used - example.keys() - defaulted == set()
    assert example.keys() - used == set(), "docker/.env.example sets variables nobody reads"
    with pytest.raises(KeyError, match="docker/.env"):
        compose_model(env={})  # without docker/.env, compose stops and says what to do


def test_no_secret_is_written_in_the_compose_file() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    secretish = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN", re.I)
    for name, svc in raw["services"].items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            if secretish.search(key):
                assert "${" in str(value), f"{name}: {key} must come from docker/.env"
    text = COMPOSE.read_text()
    for key, value in env_example().items():
        if secretish.search(key):
            assert value not in text, f"the example value of {key} is written in compose.yaml"


def test_long_running_services_have_healthchecks_and_one_shots_do_not_restart() -> None:
    model = compose_model()
    for name, svc in model["services"].items():
        if svc.get("restart") == "no":
            continue  # a one-shot; dependants wait for service_completed_successfully
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        assert svc["healthcheck"]["test"], name


def test_dependencies_exist_and_are_started_with_their_dependants() -> None:
    model = compose_model()
    for profile in (None, "prefect"):
        started = services_in(model, profile)
        for name in started:
            for dep, spec in (model["services"][name].get("depends_on") or {}).items():
                assert dep in started, f"{name} depends on {dep}, not started with {profile}"
                one_shot = model["services"][dep].get("restart") == "no"
                wanted = "service_completed_successfully" if one_shot else "service_healthy"
                assert spec["condition"] == wanted, f"{name} -> {dep}"


def test_volumes_are_named_and_bind_mounts_exist_in_the_repo() -> None:
    model = compose_model()
    declared = set(model.get("volumes") or {})
    used = set()
    for name, svc in model["services"].items():
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                path = (DOCKER / source).resolve()
                assert path.exists(), f"{name} mounts {source}, which is not in the repo"
                assert path.is_relative_to(REPO), f"{name} mounts {source} from outside the repo"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared
    mounts = {m for svc in model["services"].values() for m in svc.get("volumes", [])}
    assert "../dags:/opt/airflow/dags:ro" in mounts
    assert "../flows:/opt/prefect/flows:ro" in mounts


def _copy_sources(dockerfile: Path) -> list[str]:
    """Source paths of the COPY/ADD instructions (not --from= stage copies)."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].upper() not in ("COPY", "ADD"):
            continue
        args = [p for p in parts[1:] if not p.startswith("--")]
        if any(p.startswith("--from") for p in parts[1:]):
            continue
        sources += args[:-1]
    return sources


def test_image_build_files_copy_only_files_that_exist() -> None:
    model = compose_model()
    builds = {(svc["build"]["context"], svc["build"]["dockerfile"])
              for svc in model["services"].values() if "build" in svc}
    assert {d for _, d in builds} == {"docker/airflow.Dockerfile", "docker/prefect.Dockerfile"}
    for context, dockerfile in builds:
        root = (DOCKER / context).resolve()
        assert root == REPO
        sources = _copy_sources(root / dockerfile)
        assert sources, f"{dockerfile} copies nothing"
        for source in sources:
            assert (root / source).exists(), f"{dockerfile}: COPY {source} does not exist"
        # BuildKit's per-Dockerfile ignore file must let every copied source through.
        ignore = (root / f"{dockerfile}.dockerignore").read_text().splitlines()
        allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
        for source in sources:
            assert source.rstrip("/") in allowed, f"{source} is excluded by the .dockerignore"


def test_airflow_connection_points_at_the_catalog_database_not_airflows() -> None:
    model = compose_model()
    example = env_example()
    env = model["services"]["airflow-scheduler"]["environment"]
    conn = json.loads(env["AIRFLOW_CONN_STEPLINEAGE_DEFAULT"])
    assert conn["conn_type"] == "steplineage"
    assert conn["extra"]["catalog_url"].endswith(f"@postgres:5432/{example['CATALOG_DB']}")
    assert conn["password"] == example["CATALOG_DB_PASSWORD"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith(f"/{example['AIRFLOW_DB']}")
    assert example["CATALOG_DB"] != example["AIRFLOW_DB"]
    worker = model["services"]["prefect-worker"]["environment"]
    assert worker["STEPLINEAGE_CATALOG_URL"].endswith(f"/{example['CATALOG_DB']}")


@pytest.mark.postgres
def test_init_script_creates_separate_databases_the_catalog_can_use(pg_template: str) -> None:
    """Run docker/postgres/init-databases.sh against the real test PostgreSQL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if shutil.which("psql") is None:
        pytest.fail("psql is needed to run the init script (apt-get install postgresql-client)")
    pg_url = os.environ.get("STEPLINEAGE_TEST_PG_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin_url = make_url(pg_url)
    tag = uuid.uuid4().hex[:8]
    names = {kind: f"sl_dock_{kind}_{tag}" for kind in ("catalog", "airflow", "prefect")}
    env = {**os.environ, "PGHOST": admin_url.host or "127.0.0.1",
           "PGPORT": str(admin_url.port or 5432), "POSTGRES_USER": admin_url.username or "postgres"}
    if admin_url.password:
        env["PGPASSWORD"] = admin_url.password
    for kind, name in names.items():
        env[f"{kind.upper()}_DB"] = name
        env[f"{kind.upper()}_DB_USER"] = name
        env[f"{kind.upper()}_DB_PASSWORD"] = f"pw-{tag}-{kind}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        done = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        with admin.connect() as conn:
            owners = dict(conn.execute(text(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                "WHERE datname LIKE :p"), {"p": f"sl_dock_%_{tag}"}).all())
        assert owners == {name: name for name in names.values()}
        catalog_url = admin_url.set(username=names["catalog"], database=names["catalog"],
                                    password=env["CATALOG_DB_PASSWORD"])
        upgrade = subprocess.run(
            [str(Path(sys.executable).with_name("steplineage")), "db", "upgrade", "--url",
             catalog_url.render_as_string(hide_password=False)],
            capture_output=True, text=True, timeout=120)
        assert upgrade.returncode == 0, upgrade.stderr
        assert "schema empty ->" in upgrade.stdout
    finally:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_both_images_write_the_shared_volume_as_the_same_uid() -> None:
    uids = {name: re.search(r"useradd [^\n]*--uid (\d+)", (DOCKER / name).read_text())[1]
            for name in ("airflow.Dockerfile", "prefect.Dockerfile")}
    assert len(set(uids.values())) == 1, uids


_DEPLOY_AGAINST_REAL_SERVER = """
import asyncio, json, runpy, sys
from prefect.testing.utilities import prefect_test_harness
from prefect.client.orchestration import get_client

with prefect_test_harness(server_startup_timeout=120):
    runpy.run_path(sys.argv[1], run_name="__main__")
    runpy.run_path(sys.argv[1], run_name="__main__")   # again: the service may be restarted

    async def read():
        async with get_client() as client:
            pool = await client.read_work_pool("steplineage")
            names = [d.name for d in await client.read_deployments()]
            flows = {d.name: d.entrypoint for d in await client.read_deployments()}
            return {"pool_type": pool.type, "has_template": bool(pool.base_job_template),
                    "deployments": sorted(names), "entrypoints": flows}
    print(json.dumps(asyncio.run(read())))
"""


@pytest.mark.slow
def test_prefect_deploy_script_registers_pool_and_deployments(tmp_path: Path) -> None:
    """docker/prefect/deploy.py against a real (temporary) Prefect server, run twice."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "STEPLINEAGE_FLOWS_DIR": str(REPO / "flows"), "STEPLINEAGE_HOME": str(tmp_path / "sl")}
    done = subprocess.run([sys.executable, "-c", _DEPLOY_AGAINST_REAL_SERVER,
                           str(DOCKER / "prefect" / "deploy.py")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pool_type"] == "process" and result["has_template"]
    assert result["deployments"] == ["etl", "train"]
    assert result["entrypoints"] == {"etl": "etl.py:etl", "train": "train.py:train_model"}


@pytest.mark.slow
def test_airflow_reads_the_connection_from_the_environment_as_steplineage_settings() -> None:
    """Airflow's own parser turns AIRFLOW_CONN_STEPLINEAGE_DEFAULT into our settings."""
    from airflow.sdk.definitions.connection import Connection
    from sqlalchemy.engine import make_url

    from steplineage.airflow.conf import connection_extras, settings_from

    example = env_example()
    value = compose_model()["services"]["airflow-scheduler"]["environment"][
        "AIRFLOW_CONN_STEPLINEAGE_DEFAULT"]
    conn = Connection.from_json(value, conn_id="steplineage_default")
    assert conn.conn_type == "steplineage"
    settings = settings_from(connection_extras(conn), conn.password)
    url = make_url(settings.catalog_url)
    assert (url.username, url.password, url.host, url.database) == (
        example["CATALOG_DB_USER"], example["CATALOG_DB_PASSWORD"], "postgres",
        example["CATALOG_DB"])
    assert settings.object_store == "file:///data/objects"
    assert settings.strict is False
