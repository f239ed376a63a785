"""The public surface: ``__all__`` agrees with the namespace, and importing stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import steplineage as sl
from steplineage import errors


def test_all_names_resolve_and_public_names_are_exported() -> None:
    for name in sl.__all__:
        assert getattr(sl, name) is not None, name
    # Everything public that steplineage itself defines at the top level is exported.
    defined_here = {
        n for n in dir(sl)
        if not n.startswith("_") and not inspect.ismodule(getattr(sl, n))
        and getattr(getattr(sl, n), "__module__", "").startswith("steplineage")
    }
    assert defined_here == set(sl.__all__) - {"__version__"}


def test_every_error_derives_from_the_root() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), sl.SteplineageError)
        assert name in sl.__all__
        assert name in errors.__doc__


@pytest.mark.parametrize("module", ["steplineage",
                                    # graph values travel without a catalog (exports, JSON)
                                    "steplineage.lineage.graph"])
def test_import_is_light(module: str) -> None:
    code = (f"import sys, {module}; "
            "heavy = [m for m in ('airflow', 'prefect', 'networkx', 'sqlalchemy', 'fastapi') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_core_never_imports_an_orchestrator() -> None:
    code = ("import sys, tempfile, steplineage as sl; cat = sl.Catalog(home=tempfile.mkdtemp()); "
            "cat.create_execution(sl.ExecutionConfig(workflow='w')).execution_start(); "
            "print([m for m in ('airflow', 'prefect') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
