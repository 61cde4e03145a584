"""The SQL journal's fast paths: the group-commit fence, the SQLite writer thread, read-ahead paging."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from casty.errors import ConcurrencyConflict
from casty_journal_sql import SqlJournal
from casty_journal_sql.journal import _highest_sqlite


async def events_of(journal: Any, pid: str, from_seq: int = 1) -> list[Any]:
    return [pe.event async for pe in journal.read(pid, from_seq)]


async def test_one_entity_twice_in_one_batch_is_fenced_in_order(sql_journal: SqlJournal) -> None:
    await sql_journal.append("twice", ["a"], 0)
    results = await asyncio.gather(
        sql_journal.append("twice", ["b"], 1),
        sql_journal.append("twice", ["c", "d"], 2),  # sees the outcome of the first
        sql_journal.append("twice", ["x"], 1),  # stale: a conflict, nothing stored
        sql_journal.append("other", ["y"], 0),
        return_exceptions=True,
    )
    assert results[:2] == [2, 4] and results[3] == 1
    assert isinstance(results[2], ConcurrencyConflict)
    assert await events_of(sql_journal, "twice") == ["a", "b", "c", "d"]


async def test_the_fence_is_exact_after_retention_and_for_unknown_entities(sql_journal: SqlJournal) -> None:
    await sql_journal.append("kept", list(range(10)), 0)
    await sql_journal.delete_events("kept", 10)  # every event gone, the highest number remembered
    outcomes = await asyncio.gather(
        sql_journal.append("kept", ["again"], 0),
        sql_journal.append("kept", ["again"], 9),
        sql_journal.append("new", ["first"], 1),  # ahead of an empty entity
        return_exceptions=True,
    )
    assert all(isinstance(o, ConcurrencyConflict) for o in outcomes)
    assert await sql_journal.append("kept", ["eleven"], 10) == 11
    assert await events_of(sql_journal, "kept") == ["eleven"]


def test_the_sqlite_fence_seeks_the_index_once_per_entity(tmp_path: Path) -> None:
    """Regression guard: ``max() GROUP BY`` scanned every event of the batch's entities."""
    db = sqlite3.connect(tmp_path / "plan.db")
    db.execute(
        "CREATE TABLE casty_events (persistence_id TEXT, sequence_nr INTEGER, "
        "UNIQUE (persistence_id, sequence_nr))"
    )
    plan = " | ".join(
        row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _highest_sqlite(3), ["a", "b", "c"])
    )
    db.close()
    assert "CORRELATED SCALAR SUBQUERY" in plan
    assert "USING COVERING INDEX" in plan and "(persistence_id=?)" in plan


async def test_a_broken_sqlite_writer_connection_is_replaced(tmp_path: Path) -> None:
    async with SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}") as journal:
        assert await journal.append("w", [1], 0) == 1
        journal._writer_dbapi.driver_connection.close()  # as if the connection died
        assert await journal.append("w", [2], 1) == 2  # the batch is retried on a new connection
        assert await journal.append("w", [3], 2) == 3
        assert await events_of(journal, "w") == [1, 2, 3]


async def test_close_stops_the_sqlite_writer_thread(tmp_path: Path) -> None:
    journal = SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    await journal.append("t", [1], 0)
    thread = journal._write_thread
    assert thread is not None
    await journal.close()
    assert journal._write_thread is None and journal._writer_dbapi is None
    for worker in list(thread._threads):
        worker.join(timeout=5)
        assert not worker.is_alive()


async def test_paged_reads_stream_everything_in_order(sql_backend: Any) -> None:
    journal = sql_backend.make(page_size=3)
    await journal.append("p", list(range(10)), 0)
    assert await events_of(journal, "p") == list(range(10))
    assert await events_of(journal, "p", 4) == list(range(3, 10))
    assert [pe.event async for pe in journal.read("p", 2, 7)] == [1, 2, 3, 4, 5, 6]
    assert [pe.event async for pe in journal.read("p", 7, 2)] == []
    await journal.append("exact", list(range(6)), 0)  # a multiple of the page size
    before = journal.rows_read
    assert await events_of(journal, "exact") == list(range(6))
    assert journal.rows_read - before == 6


async def test_a_reader_that_stops_early_leaves_no_work_behind(sql_backend: Any) -> None:
    journal = sql_backend.make(page_size=2)
    await journal.append("early", list(range(9)), 0)
    before = journal.rows_read
    stream = journal.read("early")
    async with contextlib.aclosing(stream):
        async for pe in stream:
            assert pe.event == 0
            break
    await asyncio.sleep(0.05)
    assert journal.rows_read - before in (2, 4)  # the first page, maybe the read-ahead one
    pending = [t for t in asyncio.all_tasks() if "_read_page" in repr(t.get_coro())]
    assert pending == []
    assert await events_of(journal, "early", 8) == [7, 8]


@pytest.mark.postgres
async def test_a_dead_postgres_writer_connection_is_replaced(postgres_url: str, pg_schema: str) -> None:
    import asyncpg
    import sqlalchemy as sa

    async with SqlJournal(postgres_url, schema=pg_schema, auto_migrate=True) as journal:
        assert await journal.append("pgw", [1], 0) == 1
        writer = journal._pg_writer
        assert writer is not None  # kept for the next batch
        backend_pid = await writer.scalar(sa.text("SELECT pg_backend_pid()"))
        await writer.rollback()
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend_pid)
        finally:
            await admin.close()
        # nothing was committed on the dead connection: the batch is retried on a new one
        assert await journal.append("pgw", [2], 1) == 2
        assert journal._pg_writer is not None and journal._pg_writer is not writer
        assert await events_of(journal, "pgw") == [1, 2]
