"""Prefect tests: one ``prefect_test_harness`` per pytest worker, fast settings, example flows.

Prefect reads ``PREFECT_HOME`` and friends when it is first imported, so they
are set here, before anything imports it. Under ``pytest -n 2`` each worker
process starts its own harness (its own SQLite database and API server on a
free port), so the workers never share Prefect state either.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

_PREFECT_DIR = Path(tempfile.mkdtemp(prefix="steplineage-prefect-tests-"))
if "prefect" not in sys.modules:
    os.environ["PREFECT_HOME"] = str(_PREFECT_DIR / "home")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    # Cached task results must not leak between test sessions (cache keys would hit).
    os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] = str(_PREFECT_DIR / "storage")
    os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[str]:
    """A throwaway Prefect API for this worker; yields its URL."""
    from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
                                  PREFECT_HOME, PREFECT_RESULTS_LOCAL_STORAGE_PATH,
                                  PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings)
    from prefect.testing.utilities import prefect_test_harness

    # Without the heartbeat override every sync flow call costs about a second.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                             PREFECT_HOME: _PREFECT_DIR / "home",
                             PREFECT_RESULTS_LOCAL_STORAGE_PATH: _PREFECT_DIR / "storage",
                             PREFECT_SERVER_ANALYTICS_ENABLED: False}):
        with prefect_test_harness(server_startup_timeout=120):
            yield str(PREFECT_API_URL.value())


def load_example(name: str) -> ModuleType:
    """Import ``flows/<name>.py`` (the examples are scripts, not a package)."""
    module_name = f"steplineage_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "flows" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def etl_example() -> ModuleType:
    """The ETL example flow module."""
    return load_example("etl")


@pytest.fixture(scope="session")
def train_example() -> ModuleType:
    """The training example flow module."""
    return load_example("train")


@pytest.fixture
def prefect_client() -> Iterator[object]:
    """A sync Prefect client on the harness API."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        yield client
