"""docker/compose.yaml on a private engine: images, a host-network override, waits.

The override (written per run, see :func:`override`) changes only what this
machine needs: every service on the host's network (no bridge exists), bound to
127.0.0.1 on free ports, and a PostgreSQL image made from Debian's package in
place of the official ``postgres`` one. Everything else — commands, health
checks, volumes, dependencies, the connection and catalog settings — is the
user's compose file.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from docker_engine import PrivateDockerd

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
STACK = Path(__file__).resolve().parent / "stack"
PROJECT = "steplineage-ct"
POSTGRES_IMAGE = "steplineage-test-postgres:local"
PORTS = ("postgres", "airflow", "scheduler_health", "worker_logs", "trigger_logs",
         "prefect", "prefect_worker")


def compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin), else Debian's `docker-compose` (v1), else None."""
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def buildkit_cli(env: dict[str, str]) -> list[str] | None:
    """A docker client that builds with BuildKit (it reads <Dockerfile>.dockerignore;
    the legacy builder would send the whole repository, .venv included).

    The docker client with the buildx plugin, else Debian's 20.10 client, whose
    BuildKit support is built in; None if neither.
    """
    if subprocess.run(["docker", "buildx", "version"], env=env,
                      capture_output=True).returncode == 0:
        return ["docker", "build"]
    debian = Path("/usr/bin/docker")
    if debian.exists():
        version = subprocess.run([str(debian), "--version"], capture_output=True, text=True)
        if re.search(r"version (19\.03|2[0-9])\.", version.stdout):
            return [str(debian), "build"]
    return None


def secrets_env() -> dict[str, str]:
    """Fresh values for every credential docker/.env.example asks for."""
    from cryptography.fernet import Fernet

    def pw() -> str:
        return secrets.token_hex(16)  # hex: nothing compose or a URL would interpolate

    return {"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": pw(),
            "CATALOG_DB": "steplineage", "CATALOG_DB_USER": "steplineage",
            "CATALOG_DB_PASSWORD": pw(),
            "AIRFLOW_DB": "airflow", "AIRFLOW_DB_USER": "airflow", "AIRFLOW_DB_PASSWORD": pw(),
            "PREFECT_DB": "prefect", "PREFECT_DB_USER": "prefect", "PREFECT_DB_PASSWORD": pw(),
            "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW_JWT_SECRET": pw(), "AIRFLOW_API_SECRET_KEY": pw(),
            "AIRFLOW_USERS": "admin:admin,viewer:viewer"}


def override(env: dict[str, str], ports: dict[str, int]) -> dict[str, Any]:
    """The test's compose override: host network, 127.0.0.1, free ports, local PostgreSQL."""
    pg = f"127.0.0.1:{ports['postgres']}"
    catalog_url = (f"postgresql+psycopg://{env['CATALOG_DB_USER']}:{env['CATALOG_DB_PASSWORD']}"
                   f"@{pg}/{env['CATALOG_DB']}")
    api = f"http://127.0.0.1:{ports['airflow']}"
    prefect_api = f"http://127.0.0.1:{ports['prefect']}/api"
    airflow_env = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            f"postgresql+psycopg://{env['AIRFLOW_DB_USER']}:{env['AIRFLOW_DB_PASSWORD']}"
            f"@{pg}/{env['AIRFLOW_DB']}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW_CONN_STEPLINEAGE_DEFAULT": json.dumps({
            "conn_type": "steplineage",
            "extra": {"catalog_url": f"postgresql+psycopg://{env['CATALOG_DB_USER']}@{pg}/"
                                     f"{env['CATALOG_DB']}",
                      "object_store": "file:///data/objects", "strict": False},
            "password": env["CATALOG_DB_PASSWORD"]}),
        "STEPLINEAGE_UI_URL": f"{api}/steplineage",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports["scheduler_health"]),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_logs"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_logs"]),
        # On the host's network getfqdn() is "localhost" while $HOSTNAME is the host's
        # name; the `airflow jobs check --hostname "$HOSTNAME"` health checks need the
        # jobs recorded under $HOSTNAME (on compose's bridge network both are the id).
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
        # Tasks call the API server's execution API; on a loaded 2-core machine its answer
        # can take longer than the default 5 s, which fails the task before it starts.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
    }

    def probe(url: str) -> list[str]:
        return ["CMD", "python", "-c",
                f"import urllib.request; urllib.request.urlopen({url!r}, timeout=5)"]

    host = {"network_mode": "host"}
    services: dict[str, Any] = {
        "postgres": {**host, "image": POSTGRES_IMAGE, "environment": {"PGPORT": str(ports["postgres"])},
                     "command": ["postgres", "-c", "listen_addresses=127.0.0.1"]},
        "airflow-init": {**host, "environment": {**airflow_env,
                                                 "STEPLINEAGE_CATALOG_URL": catalog_url}},
        "airflow-apiserver": {
            **host, "environment": airflow_env,
            "command": ["airflow", "api-server", "--host", "127.0.0.1",
                        "--port", str(ports["airflow"])],
            "healthcheck": {"test": probe(f"{api}/api/v2/monitor/health")}},
        "airflow-scheduler": {
            **host, "environment": airflow_env,
            "healthcheck": {"test": probe(f"http://127.0.0.1:{ports['scheduler_health']}/health")}},
        # `airflow jobs check` starts a whole Airflow CLI: on a 2-core machine that also runs
        # the stack (and, on a developer's machine, other tests) it can take longer than
        # the file's 20 s, and docker leaves a timed-out check running, piling them up.
        "airflow-dag-processor": {**host, "environment": airflow_env,
                                  "healthcheck": {"timeout": "120s"}},
        "airflow-triggerer": {**host, "environment": airflow_env,
                              "healthcheck": {"timeout": "120s"}},
        "prefect-server": {
            **host,
            "command": ["prefect", "server", "start", "--host", "127.0.0.1",
                        "--port", str(ports["prefect"])],
            "environment": {
                "PREFECT_API_DATABASE_CONNECTION_URL":
                    f"postgresql+asyncpg://{env['PREFECT_DB_USER']}:{env['PREFECT_DB_PASSWORD']}"
                    f"@{pg}/{env['PREFECT_DB']}",
                "PREFECT_UI_API_URL": prefect_api},
            "healthcheck": {"test": probe(f"{prefect_api}/health")}},
        "prefect-deploy": {**host, "environment": {"PREFECT_API_URL": prefect_api,
                                                   "STEPLINEAGE_CATALOG_URL": catalog_url}},
        "prefect-worker": {
            **host,
            "environment": {"PREFECT_API_URL": prefect_api, "STEPLINEAGE_CATALOG_URL": catalog_url,
                            "PREFECT_WORKER_WEBSERVER_PORT": str(ports["prefect_worker"])},
            "healthcheck": {"test": probe(f"http://127.0.0.1:{ports['prefect_worker']}/health")}},
    }
    return {"services": services}


def host_network_copy(v1: bool) -> dict[str, Any]:
    """docker/compose.yaml without its published ports (meaningless on the host's network,
    and Compose v1 refuses them there; an override cannot remove a key in v1), and for
    v1 without the top-level `name:` that v1 rejects. Variables stay uninterpolated;
    relative paths are resolved from docker/ (``--project-directory``)."""
    model = yaml.safe_load(COMPOSE.read_text())
    for svc in model["services"].values():
        svc.pop("ports", None)
    if v1:
        model.pop("name", None)
    return {k: v for k, v in model.items() if not k.startswith("x-")}


@dataclass
class Stack:
    """One project of docker/compose.yaml (profile "prefect") on a private engine."""

    engine: PrivateDockerd
    workdir: Path
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=secrets_env)
    cli: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cli = self.cli or compose_cli() or []
        if not self.cli:
            raise RuntimeError("neither `docker compose` nor `docker-compose` is installed")
        self.env_file = self.workdir / "compose.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.override_file = self.workdir / "compose.override.yaml"
        self.override_file.write_text(yaml.safe_dump(override(self.env, self.ports)))
        self.compose_file = self.workdir / "compose.yaml"
        self.compose_file.write_text(yaml.safe_dump(
            host_network_copy(v1=self.cli == ["docker-compose"]), sort_keys=False))
        self.base = [*self.cli, "-p", PROJECT, "--project-directory", str(DOCKER),
                     "-f", str(self.compose_file),
                     "-f", str(self.override_file), "--env-file", str(self.env_file),
                     "--profile", "prefect"]

    def compose(self, *args: str, timeout: float = 600,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.base, *args], env=self.engine.env, capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stderr[-4000:]}\n{self.logs()}")
        return done

    def docker(self, *args: str, timeout: float = 120) -> str:
        return subprocess.run(["docker", *args], env=self.engine.env, capture_output=True,
                              text=True, timeout=timeout, check=True).stdout

    def model(self) -> dict[str, Any]:
        """The resolved compose model (``config``), as compose itself reads the files."""
        return yaml.safe_load(self.compose("config").stdout)

    def build_images(self, base_image: str, log: Path) -> dict[str, float]:
        """Build every image of the model from the repository; returns seconds per image."""
        cli = buildkit_cli(self.engine.env)
        if cli is None:
            raise RuntimeError("no docker client that builds with BuildKit (install the buildx "
                               "plugin, or Debian's docker.io for its 20.10 client)")
        jobs: dict[str, list[str]] = {}
        for svc in self.model()["services"].values():
            build = svc.get("build")
            if build and svc["image"] not in jobs:
                context = Path(build["context"] if isinstance(build, dict) else build)
                dockerfile = context / build.get("dockerfile", "Dockerfile")
                jobs[svc["image"]] = ["-f", str(dockerfile), str(context)]
        jobs[POSTGRES_IMAGE] = ["-f", str(STACK / "postgres.Dockerfile"), str(STACK)]
        took = {}
        with log.open("a") as out:
            for image, args in jobs.items():
                start = time.monotonic()
                done = subprocess.run(
                    ["nice", "-n", "10", *cli, "--network", "host", "--progress", "plain",
                     "--build-arg", f"BASE_IMAGE={base_image}", "-t", image, *args],
                    env=self.engine.env, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
                if done.returncode != 0:
                    raise AssertionError(f"docker build of {image} failed; see {log}:\n"
                                         f"{log.read_text()[-4000:]}")
                took[image] = round(time.monotonic() - start, 1)
        return took

    def containers(self) -> dict[str, dict[str, Any]]:
        """service name -> ``docker inspect`` of its container."""
        ids = self.docker("ps", "-aq", "--filter",
                          f"label=com.docker.compose.project={PROJECT}").split()
        if not ids:
            return {}
        found = json.loads(self.docker("inspect", *ids))
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in found}

    def wait_healthy(self, timeout: float = 900) -> dict[str, str]:
        """Until every long-running service is healthy and every one-shot exited 0."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {}
            for name, c in self.containers().items():
                state = c["State"]
                if "Health" in state:
                    states[name] = state["Health"]["Status"]
                elif state["Status"] == "exited":
                    states[name] = f"exited {state['ExitCode']}"
                    if state["ExitCode"] != 0:
                        raise AssertionError(f"{name} exited with {state['ExitCode']}:\n"
                                             f"{self.logs()}")
                else:
                    states[name] = state["Status"]
            if states and all(s in ("healthy", "exited 0") for s in states.values()):
                return states
            time.sleep(3)
        raise AssertionError(f"not healthy after {timeout:.0f} s: {states}\n{self.logs()}")

    def logs(self, tail: int = 80) -> str:
        done = subprocess.run([*self.base, "logs", "--no-color", "--tail", str(tail)],
                              env=self.engine.env, capture_output=True, text=True, timeout=120)
        return done.stdout[-20000:] + done.stderr[-2000:]

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300,
                     check=False)
