"""The shape of the package holds: layered imports (import-linter) and modules a person can read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "provider" / "steplineage"
MAX_LINES = 600


def test_import_contracts_hold() -> None:
    # The contracts live in pyproject.toml ([tool.importlinter]): layers, and SQLAlchemy,
    # Airflow, Prefect and FastAPI only in their own packages.
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache", str(REPO / "pyproject.toml")], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_no_module_passes_600_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (more than {MAX_LINES} lines): {long}"
