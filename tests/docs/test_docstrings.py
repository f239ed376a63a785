"""The ``Example:`` sections of the core modules' docstrings run as doctests.

The adapters (airflow/, prefect/) and the web app need a running orchestrator
or server for their examples, which are marked ``+SKIP`` or covered by their own
tests; the Alembic ``env.py`` only runs inside Alembic.
"""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "provider" / "steplineage"
EXCLUDED = ("airflow", "prefect", "web", "store/migrations")


def _runnable(text: str) -> bool:
    """Whether any docstring example is not marked +SKIP (those need real files or servers)."""
    if ">>>" not in text:
        return False
    parser, skip = doctest.DocTestParser(), doctest.OPTIONFLAGS_BY_NAME["SKIP"]
    nodes = [n for n in ast.walk(ast.parse(text))
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    return any(not example.options.get(skip) for node in nodes
               for example in parser.get_examples(ast.get_docstring(node) or ""))


def _modules() -> list[pytest.param]:
    params = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(EXCLUDED) or not _runnable(path.read_text(encoding="utf-8")):
            continue
        parts = ["steplineage", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        params.append(pytest.param(name, id=name))
    return params


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples(module_name: str, sl_home: Path, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example in the module's docstrings gives the output it shows."""
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = doctest.DocTestFinder().find(module, module_name)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"no example of {module_name} ran"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
