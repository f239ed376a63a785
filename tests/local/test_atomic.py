"""Atomic writes: the old file or the new one, never half of either, and no debris."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steplineage.local.atomic import atomic_path, is_temporary, write_json, write_text


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "results.json"
    write_json(target, {"b": 2, "a": 1})
    write_json(target, {"rows": 3}, durable=True)
    assert json.loads(target.read_text()) == {"rows": 3}
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_text(target, "a,b\r\n1,2\r\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"a,b\r\n1,2\r\n"  # line endings kept as given
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_temporary_names_are_recognised(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "model.bin") as tmp:
        assert is_temporary(tmp.name) and tmp.parent == tmp_path
        tmp.write_bytes(b"w")
    assert not is_temporary("model.bin") and not is_temporary(".hidden")
