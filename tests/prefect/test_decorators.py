"""The decorators return Prefect's own objects and keep Prefect's behaviour."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path

import prefect
import pytest
from prefect.tasks import MaterializingTask

import steplineage as sl
from steplineage.prefect import (current_execution, task_execution_id, tracked_flow,
                                 tracked_task)


def add(x: int, y: int = 2) -> int:
    """Add two numbers."""
    return x + y


tracked_add = tracked_task(add)


@tracked_task(retries=1, tags=["math"])
def where_am_i() -> str:
    exe = current_execution()
    assert exe is not None
    return exe.id


@tracked_flow(name="decorator-checks")
def calls(x: int) -> dict[str, object]:
    renamed = tracked_add.with_options(name="renamed-add")
    return {"sum": tracked_add(x), "renamed": renamed(x, 5), "me": where_am_i()}


def test_decorators_return_real_prefect_objects_with_the_functions_signature() -> None:
    assert isinstance(tracked_add, prefect.Task) and isinstance(calls, prefect.Flow)
    assert inspect.signature(tracked_add.fn) == inspect.signature(add)
    assert tracked_add.fn.__wrapped__ is add and tracked_add.fn.__doc__ == add.__doc__
    assert tracked_add.name == "add" and where_am_i.retries == 1 and where_am_i.tags == {"math"}
    plain = prefect.flow(lambda x: x, name="plain")
    assert calls.parameters.properties.keys() == {"x"}
    assert calls.parameters.required == plain.parameters.required == ["x"]
    # Prefect's own hooks list carries ours, after any the user gave.
    assert [h.__name__ for h in where_am_i.on_completion_hooks] == [
        "steplineage_record_cache_hit"]


def test_with_options_copies_stay_tracked(sl_home: Path) -> None:
    out = calls(3)
    assert out["sum"] == 5 and out["renamed"] == 8
    cat = sl.Catalog(home=sl_home)
    (root,) = [r for r in cat.list_executions(limit=None) if r.name == "decorator-checks"]
    children = {r.name.rsplit("-", 1)[0]: r for r in cat.list_executions(parent_id=root.id)}
    assert set(children) == {"add", "renamed-add", "where_am_i"}
    assert children["renamed-add"].parameters == {"x": 3, "y": 5}
    assert children["add"].parameters == {"x": 3, "y": 2}
    # The task asked for its own execution and got the one the catalog recorded.
    me = children["where_am_i"]
    assert out["me"] == me.id == task_execution_id(me.orchestrator.task_run_id, 1)


def test_prefect_still_validates_parameters() -> None:
    from prefect.exceptions import ParameterTypeError

    with pytest.raises(ParameterTypeError):
        calls(x="three")


@tracked_task
async def fetch(n: int) -> int:
    await asyncio.sleep(0)
    return n * 10


@tracked_flow
async def gather(n: int) -> list[int]:
    return list(await asyncio.gather(*(fetch(i) for i in range(n))))


def test_async_functions_stay_async_and_are_tracked(sl_home: Path, prefect_client) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    assert inspect.iscoroutinefunction(fetch.fn) and inspect.iscoroutinefunction(gather.fn)
    assert asyncio.run(gather(3)) == [0, 10, 20]
    cat = sl.Catalog(home=sl_home)
    (root,) = [r for r in cat.list_executions(limit=None) if r.name == "gather"]
    kids = cat.list_executions(parent_id=root.id)
    assert sorted(k.parameters["n"] for k in kids) == [0, 1, 2]
    assert {k.status for k in kids} == {sl.Status.completed} and root.status is sl.Status.completed
    arts = prefect_client.read_artifacts(flow_run_filter=FlowRunFilter(
        id=FlowRunFilterId(any_=[root.orchestrator.flow_run_id])))
    assert {a.key for a in arts} == {"steplineage-lineage-gather", "steplineage-executions-gather"}


@tracked_task(outputs=["s3://lake/sales/{day}.parquet", "s3://lake/summary.json"],
              inputs=["postgres://warehouse/orders"])
def publish(day: str) -> None: ...


def test_uri_outputs_are_prefect_assets() -> None:
    assert isinstance(publish, MaterializingTask)
    assert [a.key for a in publish.assets] == ["s3://lake/summary.json"]  # templates: at run time
    assert [a.key if hasattr(a, "key") else a for a in publish.asset_deps] == [
        "postgres://warehouse/orders"]
    assert not isinstance(tracked_add, MaterializingTask)


@pytest.mark.parametrize("make, message", [
    (lambda: tracked_task(retry=3), "did you mean 'retries'"),
    (lambda: tracked_flow(task_runer=None), "did you mean 'task_runner'"),
    (lambda: tracked_task(inputs="raw/jan.csv"), r"inputs=\['raw/jan.csv'\]"),
    (lambda: tracked_task(outputs=[42]), "is a int"),
    (lambda: tracked_task(upload="later"), "'auto'"),
    (lambda: tracked_task()(lambda: (yield 1)), "generator"),
    (lambda: tracked_flow(3), "decorates a function"),
])
def test_misuse_fails_at_decoration_time_with_an_example(make, message: str) -> None:
    with pytest.raises(sl.ConfigurationError, match=message):
        make()


def test_current_execution_outside_a_tracked_run_says_how_to_use_it() -> None:
    with pytest.raises(sl.ExecutionError, match="@tracked_task"):
        current_execution()


def test_calling_the_function_outside_prefect_runs_it_untracked(sl_home: Path) -> None:
    assert tracked_add.fn(1, 1) == 2
    assert sl.Catalog(home=sl_home).list_executions() == []


@tracked_task(outputs=["{missing}/out.csv"])
def misdeclared(day: str) -> str:
    return day


@tracked_flow
def runs_misdeclared() -> str:
    return misdeclared("mon")


def test_a_template_naming_no_argument_fails_the_task(sl_home: Path) -> None:
    with pytest.raises(sl.ConfigurationError, match="names 'missing'.*arguments are: day"):
        runs_misdeclared()


@tracked_task
def must_not_run() -> str:
    raise AssertionError("an inactive workflow's step must not run")


@tracked_flow(workflow="retired-pipeline")
def retired() -> str:
    return must_not_run()


def test_inactive_workflow_is_skipped_without_running(sl_home: Path) -> None:
    cat = sl.Catalog(home=sl_home)
    cat.add_workflow("retired-pipeline", "prefect-flow")
    cat.set_workflow_active("retired-pipeline", False)
    state = retired(return_state=True)
    assert state.is_completed() and state.name == "Skipped"
    (record,) = cat.list_executions()
    assert record.status is sl.Status.skipped and "inactive" in record.status_message


@tracked_task
def inner(n: int) -> int:
    return n + 1


@tracked_task
def outer(n: int) -> int:
    return inner(n) * 2


@tracked_flow
def nesting() -> int:
    return outer(1)


def test_a_task_called_from_a_task_is_its_child(sl_home: Path) -> None:
    assert nesting() == 4
    cat = sl.Catalog(home=sl_home)
    by_task = {r.orchestrator.task_id: r for r in cat.list_executions(limit=None)
               if r.orchestrator.task_id}
    assert by_task["inner"].parent_id == by_task["outer"].id
    assert cat.get_execution(by_task["outer"].parent_id).name == "nesting"


def test_importing_steplineage_does_not_import_prefect() -> None:
    code = ("import sys, steplineage as sl; sl.ResourceRef('a'); sl.Catalog; "
            "assert 'prefect' not in sys.modules, 'prefect was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_match_the_namespace() -> None:
    import steplineage.prefect as slp

    # ("@py_..." names are pytest's assertion rewriting, not ours.)
    public = {n for n in vars(slp) if not n.startswith(("_", "@"))} - {
        "annotations", "prefect", "adapter", "artifacts", "decorators", "hooks", "runtime",
        "specs"}
    assert set(slp.__all__) == public
