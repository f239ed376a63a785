"""Hostile input, generated (4 x 2000 + 3 x 2 backends x 350 = 10,100 cases): only
SteplineageError subclasses, nothing outside its place,
and whatever is stored comes back verbatim (SQL injection payloads included)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steplineage as sl
from steplineage.store.engine import normalise_url
from steplineage.tracking.staging import safe_child

INJECTIONS = ["'; DROP TABLE executions; --", "\" OR 1=1 --", "x'); DELETE FROM assets; --",
              "${jndi:ldap://x}", "<script>alert(1)</script>", "../../etc/passwd", "%s%s%n",
              "Robert'); DROP TABLE students;--", "\\", "'", "\"", "`rm -rf /`"]

names = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=40))
FAST = settings(max_examples=2000, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
DB = settings(max_examples=350, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])


@FAST
@given(name=names, subpath=st.one_of(st.none(), names))
def test_resource_refs_are_valid_or_refused(name: str, subpath: str | None) -> None:
    try:
        ref = sl.ResourceRef(name, subpath)
    except sl.SteplineageError:
        return
    assert "/" not in ref.name and ref.name
    if ref.subpath is not None:
        assert not ref.subpath.startswith("/") and ".." not in ref.subpath.split("/")
    assert ref.covers(ref) is False and ref.overlaps(ref)


@FAST
@given(parts=st.lists(names, min_size=1, max_size=3))
def test_paths_from_names_stay_inside(tmp_path_factory: pytest.TempPathFactory,
                                      parts: list[str]) -> None:
    base = tmp_path_factory.getbasetemp() / "base"
    base.mkdir(exist_ok=True)
    try:
        path = safe_child(base, *parts)
    except sl.SteplineageError:
        return
    assert path.resolve().is_relative_to(base.resolve())


@FAST
@given(url=st.one_of(names, st.builds(lambda a, b: f"{a}://{b}", names, names)))
def test_catalog_urls_are_normalised_or_refused(url: str) -> None:
    try:
        out = normalise_url(url)
    except sl.SteplineageError:
        return
    assert out.startswith(("sqlite", "postgresql+psycopg", "postgresql+psycopg2"))


counts = st.one_of(st.none(), st.integers(min_value=-10**12, max_value=10**12),
                   st.floats(allow_nan=True), st.text(max_size=5))


@FAST
@given(inserts=counts, updates=counts, total_rows=counts)
def test_etl_metrics_are_valid_or_refused(inserts, updates, total_rows) -> None:
    try:
        m = sl.ETLMetrics(inserts=inserts, updates=updates, total_rows=total_rows)
    except sl.SteplineageError:
        return
    for v in (m.inserts, m.updates, m.total_rows):
        assert v is None or (isinstance(v, int) and v >= 0)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
              st.floats(allow_nan=False, allow_infinity=False), names),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(names, children, max_size=3)),
    max_leaves=8)


@pytest.fixture
def running(catalog: sl.Catalog, tmp_path: Path):
    exe = catalog.create_execution(sl.ExecutionConfig(workflow="hostile"))
    exe.execution_start()
    return catalog, exe, tmp_path


@DB
@given(params=st.dictionaries(names, json_values, max_size=4), message=names)
def test_payloads_round_trip_verbatim(running, params, message) -> None:
    cat, exe, _ = running
    key = "p"  # one key per example; secret-looking keys are redacted by design
    exe.log_params({key: params})
    exe.update_status(sl.Status.running, message)
    rec = cat.get_execution(exe.id)
    from steplineage.redaction import jsonable, redact

    assert rec.parameters[key] == redact(jsonable({key: params}),
                                         cat.settings.redact_keys)[key]
    assert rec.history[-1].message == message.replace("\x00", "\ufffd")


@DB
@given(name=names, table=names)
def test_hostile_vocabulary_and_asset_names(running, name: str, table: str) -> None:
    cat, exe, tmp_path = running
    try:
        cat.create_asset_table(table)
    except sl.SteplineageError:
        return
    assert table in cat.list_asset_tables()
    try:
        path = exe.asset_file_path(table, name)
    except sl.SteplineageError:
        return
    assert path.resolve().is_relative_to(exe.working_dir.resolve())


@DB
@given(name=names)
def test_hostile_resource_names_round_trip(catalog: sl.Catalog, name: str) -> None:
    try:
        rec = catalog.add_resource(name, uri="postgresql://dw/x", role="source-data")
    except sl.SteplineageError:
        return
    assert catalog.get_resource(name) == rec
    assert not math.isnan(len(rec.name))
