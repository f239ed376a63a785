"""The durable queue behind the spool and the outbox: order per key, bounds, failures, claims,
and files left by the previous release."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from steplineage.local.outbox import Outbox
from steplineage.local.queue import DrainResult, DurableQueue


def test_items_come_back_in_order_per_key_and_are_deleted_once_handled(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.db", what="queue")
    assert q.pending() == 0 and not (tmp_path / "q.db").exists()  # nothing made by a look
    q.append("a", ["a1", "a2"])
    q.append("b", ["b1"])
    q.append("a", ["a3"])
    assert q.peek("a") == ["a1", "a2", "a3"]  # a look leaves them there
    seen: list[str] = []
    assert q.drain("a", seen.append, batch=2) == DrainResult(3, 0, 0)
    assert seen == ["a1", "a2", "a3"]
    assert (q.pending("a"), q.pending("b"), q.pending()) == (0, 1, 1)
    assert set(q.status()) == {"b"}


def test_a_failure_keeps_the_item_with_its_error_and_the_next_drain_resumes_there(
        tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.db", what="queue")
    q.append("k", ["1", "2", "3"])
    seen: list[str] = []

    def refuse_two(body: str) -> None:
        if body == "2":
            raise ConnectionError("backend down")
        seen.append(body)

    result = q.drain("k", refuse_two)
    assert (result.done, result.failed, result.remaining) == (1, 1, 2)
    assert result.error == "ConnectionError: backend down"
    status = q.status()["k"]
    assert (status.items, status.attempts, status.last_error) == (2, 1, result.error)
    assert q.drain("k", seen.append) == DrainResult(2, 0, 0)
    assert seen == ["1", "2", "3"]


def test_past_its_bound_items_are_dropped_with_a_warning(tmp_path: Path, caplog) -> None:
    q = DurableQueue(tmp_path / "q.db", what="queue", max_items=3, when_full="do something")
    assert q.append("k", ["1", "2"]) == 2
    assert q.append("other", ["3", "4"], about="of job 7") == 1
    assert q.pending() == 3
    assert "is full" in caplog.text and "1 item(s) of job 7 DROPPED; do something" in caplog.text


def test_while_one_drainer_holds_a_key_another_gets_nothing(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.db", what="queue")
    q.append("k", ["1", "2"])
    other: list[DrainResult] = []

    def handle(body: str) -> None:
        if not other:  # mid-drain, a second drainer (another thread) tries the same key
            t = threading.Thread(target=lambda: other.append(q.drain("k", handle)))
            t.start()
            t.join()

    assert q.drain("k", handle) == DrainResult(2, 0, 0)
    assert other == [DrainResult(0, 0, 2)]  # it left both to the first, in order


def test_claims_of_a_drainer_that_died_expire(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.db", what="queue", claim_seconds=-1)  # expired at once
    q.append("k", ["1"])
    assert q._claim("k", 10) == [(1, "1")]  # claimed, never finished (the process died)
    seen: list[str] = []
    assert q.drain("k", seen.append) == DrainResult(1, 0, 0) and seen == ["1"]


def test_an_outbox_file_of_the_previous_release_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "openlineage-outbox.db"
    with sqlite3.connect(path) as conn:  # the table as release 0.1.0 made it
        conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " body TEXT NOT NULL, created_at REAL NOT NULL, attempts INTEGER NOT NULL"
                     " DEFAULT 0, last_error TEXT, claimed_by TEXT, claimed_at REAL)")
        conn.executemany("INSERT INTO events (body, created_at, attempts, last_error)"
                         " VALUES (?, ?, ?, ?)", [('{"eventType":"START"}', 1700000000.5, 2,
                                                   "ConnectError: refused"),
                                                  ('{"eventType":"COMPLETE"}', 1700000001.0,
                                                   0, None)])
    conn.close()
    box = Outbox(path)
    assert box.status() == {"events": 2, "oldest": 1700000000.5, "attempts": 2,
                            "last_error": "ConnectError: refused"}
    sent: list[str] = []
    assert box.send(lambda e: sent.append(e["eventType"])).sent == 2
    assert sent == ["START", "COMPLETE"]
    box.close()
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "events" not in tables


@pytest.mark.parametrize("durable", [True, False])
def test_files_are_in_wal_mode(tmp_path: Path, durable: bool) -> None:
    from steplineage.local.sqlite import connect

    conn = connect(tmp_path / "x.db", durable=durable)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == (2 if durable else 1)
    conn.close()
