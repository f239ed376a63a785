"""Fixtures for export, report and CLI tests: known graphs.

``Steps`` (in ``lineage_steps.py``, importable by the tests) builds pipelines over placeholder refs in a non-file resource (fast,
exact). The ``chromium`` fixture lives in ``tests/conftest.py`` (the web tests use it too).
"""

from __future__ import annotations


import pytest

import steplineage as sl
from lineage_steps import Steps


@pytest.fixture
def steps(catalog: sl.Catalog) -> Steps:
    return Steps(catalog)
