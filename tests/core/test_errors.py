"""Every error a user can cause is a SteplineageError subclass with a message saying what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import steplineage as sl


def _bad_calls(cat: sl.Catalog) -> dict[str, tuple[Callable[[], Any], type[Exception]]]:
    dup = {"name": "t", "inputs": [{"name": "a", "kind": "ref"}, {"name": "a", "kind": "ref"}]}
    return {
        "walk capped at 0 nodes": (lambda: cat.lineage.upstream("execution:x", max_nodes=0),
                                   sl.LineageQueryError),
        "node missing from a graph": (lambda: sl.LineageGraph().node("execution:x"),
                                      sl.NodeNotInGraphError),
        "run that ends before it starts": (lambda: sl.ModelRunRecord(
            template="t", display_name="r", start_time="2024-01-02", end_time="2024-01-01"),
            sl.ModelRunValidationError),
        "slot of an unknown kind": (lambda: sl.TemplateSlot(name="a", kind="table"),
                                    sl.TemplateError),
        "template validated from a dict": (lambda: sl.WorkflowTemplate.model_validate(dup),
                                           sl.TemplateError),
    }


@pytest.mark.parametrize("case", ["walk capped at 0 nodes", "node missing from a graph",
                                  "run that ends before it starts", "slot of an unknown kind",
                                  "template validated from a dict"])
def test_user_mistakes_raise_our_typed_errors(tmp_path: Any, case: str) -> None:
    call, expected = _bad_calls(sl.Catalog(home=tmp_path))[case]
    with pytest.raises(expected) as info:
        call()
    assert isinstance(info.value, sl.SteplineageError)
    message = str(info.value)
    assert message and "validation error for" not in message  # ours, not pydantic's dump


def test_node_not_in_graph_is_still_a_key_error_for_old_callers() -> None:
    with pytest.raises(KeyError):
        sl.LineageGraph().node("execution:x")
