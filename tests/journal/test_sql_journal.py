"""SqlJournal beyond the shared contract: group commit, faults, schema checks, errors."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from casty.errors import (
    ConcurrencyConflict,
    DecodeError,
    InvalidArgument,
    JournalError,
    JournalUnavailable,
    SchemaError,
    SerializationError,
)
from casty.persistence import Codec
from casty_journal_sql import SqlJournal
from casty_journal_sql.migrate import head_revision


async def events_of(journal: SqlJournal, pid: str, lo: int = 1) -> list[Any]:
    return [pe.event async for pe in journal.read(pid, lo)]


# -- group commit ---------------------------------------------------------------


async def test_concurrent_appends_share_transactions(sql_journal: SqlJournal) -> None:
    await sql_journal.open()
    n = 300
    results = await asyncio.gather(*(sql_journal.append(f"gc-{i}", [i, -i], 0) for i in range(n)))
    assert results == [2] * n
    assert sql_journal.appends_committed == n
    assert 1 <= sql_journal.batches_committed < n
    for i in (0, 150, 299):
        assert await events_of(sql_journal, f"gc-{i}") == [i, -i]


async def test_batch_max_bounds_a_batch(sql_backend: Any) -> None:
    journal = sql_backend.make(batch_max=10)
    await journal.open()
    await asyncio.gather(*(journal.append(f"bm-{i}", [i], 0) for i in range(50)))
    assert journal.batches_committed >= 5


async def test_a_conflict_in_a_batch_fails_only_its_caller(sql_journal: SqlJournal) -> None:
    await sql_journal.append("busy", ["first"], 0)
    before = sql_journal.batches_committed
    results = await asyncio.gather(
        *(sql_journal.append(f"ok-{i}", [i], 0) for i in range(20)),
        sql_journal.append("busy", ["stale"], 0),
        sql_journal.append("chain", ["c1"], 0),
        sql_journal.append("chain", ["c2", "c3"], 1),  # expects the result of the previous append
        sql_journal.append("chain", ["stale"], 1),  # conflicts with the previous one
        return_exceptions=True,
    )
    assert results[:20] == [1] * 20
    assert isinstance(results[20], ConcurrencyConflict)
    assert results[20].persistence_id == "busy" and results[20].actual == 1
    assert results[21:23] == [1, 3]
    assert isinstance(results[23], ConcurrencyConflict) and results[23].actual == 3
    assert sql_journal.batches_committed - before <= 2  # shared a transaction
    assert await events_of(sql_journal, "busy") == ["first"]
    assert await events_of(sql_journal, "chain") == ["c1", "c2", "c3"]


POISON_SQLITE = """
CREATE TRIGGER casty_test_poison BEFORE INSERT ON casty_events
WHEN NEW.persistence_id = 'poison'
BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END
"""
POISON_PG_FUNCTION = """
CREATE FUNCTION casty_test_poison() RETURNS trigger AS $$
BEGIN
  IF NEW.persistence_id = 'poison' THEN RAISE EXCEPTION 'poisoned row refused'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
POISON_PG_TRIGGER = """
CREATE TRIGGER casty_test_poison BEFORE INSERT ON casty_events
FOR EACH ROW EXECUTE FUNCTION casty_test_poison()
"""


async def test_a_database_error_in_a_batch_fails_only_its_caller(
    sql_journal: SqlJournal, raw_sql: Any
) -> None:
    if sql_journal.dialect == "sqlite":
        await raw_sql(sql_journal, POISON_SQLITE)
    else:
        await raw_sql(sql_journal, POISON_PG_FUNCTION)
        await raw_sql(sql_journal, POISON_PG_TRIGGER)
    results = await asyncio.gather(
        *(sql_journal.append(f"fine-{i}", [i], 0) for i in range(10)),
        sql_journal.append("poison", ["boom"], 0),
        *(sql_journal.append(f"fine-{i}", [i * 10], 1) for i in range(10)),
        return_exceptions=True,
    )
    assert results[:10] == [1] * 10
    error = results[10]
    assert isinstance(error, JournalError) and not isinstance(error, ConcurrencyConflict)
    assert "poison" in str(error) and "\n" not in str(error)
    assert results[11:] == [2] * 10
    assert await events_of(sql_journal, "poison") == []
    assert await sql_journal.highest_sequence_nr("poison") == 0
    # the journal keeps working
    assert await sql_journal.append("after", ["x"], 0) == 1
    assert await events_of(sql_journal, "fine-3") == [3, 30]


async def test_unserializable_event_fails_only_its_caller(sql_journal: SqlJournal) -> None:
    results = await asyncio.gather(
        sql_journal.append("u-ok", ["fine"], 0),
        sql_journal.append("u-bad", ["fine", object()], 0),
        sql_journal.append("u-ok2", ["fine"], 0),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 1
    assert isinstance(results[1], SerializationError)
    assert "u-bad" in str(results[1])
    assert await sql_journal.highest_sequence_nr("u-bad") == 0
    assert await sql_journal.append("u-bad", ["now fine"], 0) == 1
    with pytest.raises(SerializationError):
        await sql_journal.save_snapshot("u-bad", 1, {"lock": asyncio.Lock()})
    assert await sql_journal.load_snapshot("u-bad") is None


async def test_close_writes_every_queued_append(sql_backend: Any) -> None:
    journal = sql_backend.make()
    await journal.open()
    tasks = [asyncio.create_task(journal.append(f"q-{i}", [i], 0)) for i in range(100)]
    await asyncio.sleep(0)  # every task has queued its append
    await journal.close()
    assert [await t for t in tasks] == [1] * 100
    with pytest.raises(JournalError, match="closed"):
        await journal.append("q-0", [1], 1)
    reopened = sql_backend.make()
    assert [pid async for pid in reopened.persistence_ids("q-")] == sorted(f"q-{i}" for i in range(100))


async def test_async_with_and_reopening_keeps_data_and_offsets(sql_backend: Any) -> None:
    async with sql_backend.make() as journal:
        await journal.append("dur", ["a", "b"], 0)
        first = [pe.offset async for pe in journal.read_all()]
    async with sql_backend.make() as journal:
        assert await events_of(journal, "dur") == ["a", "b"]
        await journal.append("dur", ["c"], 2)
        offsets = [pe.offset async for pe in journal.read_all()]
    assert offsets[:2] == first and offsets[2] > first[1]


# -- storage format and decoding --------------------------------------------------


@dataclass(frozen=True)
class PriceSet:
    amount: int
    currency: str


async def test_events_are_stored_as_json_with_type_and_version(sql_backend: Any, raw_sql: Any) -> None:
    codec = Codec()
    codec.register(
        PriceSet, name="shop.PriceSet", version=2, upcasters={1: lambda f: {**f, "currency": "EUR"}}
    )
    journal = sql_backend.make(codec=codec)
    await journal.append("item-1", [PriceSet(5, "USD"), 7], 0)
    rows = await raw_sql(
        journal,
        "SELECT sequence_nr, event_type, event_version, payload FROM casty_events ORDER BY sequence_nr",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "shop.PriceSet", 2), (2, "int", 1)]
    assert json.loads(rows[0][3]) == {"$t": "shop.PriceSet", "$v": 2, "amount": 5, "currency": "USD"}
    # an old (version 1) event is upcast on read
    await raw_sql(
        journal,
        "UPDATE casty_events SET payload = :p, event_version = 1 WHERE sequence_nr = 1",
        {"p": '{"$t":"shop.PriceSet","amount":3}'},
    )
    assert await events_of(journal, "item-1") == [PriceSet(3, "EUR"), 7]
    await journal.save_snapshot("item-1", 2, PriceSet(1, "GBP"))
    snap_rows = await raw_sql(journal, "SELECT state_type, state_version FROM casty_snapshots")
    assert snap_rows == [("shop.PriceSet", 2)]


async def test_corrupt_event_is_a_decode_error_naming_pid_and_seq(
    sql_journal: SqlJournal, raw_sql: Any
) -> None:
    await sql_journal.append("bad 'one'", ["a", "b", "c"], 0)
    await raw_sql(
        sql_journal,
        "UPDATE casty_events SET payload = '{not json' WHERE persistence_id = :pid AND sequence_nr = 2",
        {"pid": "bad 'one'"},
    )
    seen: list[Any] = []
    with pytest.raises(DecodeError) as info:
        async for pe in sql_journal.read("bad 'one'"):
            seen.append(pe.event)
    assert seen == ["a"]
    assert info.value.persistence_id == "bad 'one'" and info.value.sequence_nr == 2
    assert "bad 'one'" in str(info.value) and "2" in str(info.value)
    assert await events_of(sql_journal, "bad 'one'", 3) == ["c"]  # the rest stays readable
    with pytest.raises(DecodeError):
        _ = [pe async for pe in sql_journal.read_all()]

    await raw_sql(
        sql_journal,
        "UPDATE casty_events SET payload = :p WHERE sequence_nr = 3",
        {"p": '{"$t":"no.such.Type","x":1}'},
    )
    with pytest.raises(DecodeError, match=r"no\.such\.Type") as info:
        await events_of(sql_journal, "bad 'one'", 3)
    assert info.value.sequence_nr == 3


async def test_corrupt_snapshot_is_a_decode_error(sql_journal: SqlJournal, raw_sql: Any) -> None:
    await sql_journal.save_snapshot("snap", 4, {"ok": True})
    await raw_sql(sql_journal, "UPDATE casty_snapshots SET payload = '[1,'")
    with pytest.raises(DecodeError) as info:
        await sql_journal.load_snapshot("snap")
    assert (info.value.persistence_id, info.value.sequence_nr) == ("snap", 4)


# -- ordering under concurrency ----------------------------------------------------


async def test_tailing_reader_never_skips_an_event(sql_backend: Any) -> None:
    """Writers on separate engines commit concurrently while a reader tails read_all."""
    writers = [sql_backend.make() for _ in range(3)]
    reader = sql_backend.make(page_size=50)
    for journal in (*writers, reader):
        await journal.open()
    done = asyncio.Event()

    async def entity(journal: SqlJournal, pid: str) -> None:
        seq = 0
        for i in range(15):
            seq = await journal.append(pid, [i, i], seq)
            await asyncio.sleep(0)

    async def write_all() -> None:
        await asyncio.gather(*(entity(w, f"w{n}-e{k}") for n, w in enumerate(writers) for k in range(8)))
        done.set()

    seen: list[Any] = []
    last = 0

    async def tail() -> None:
        nonlocal last
        while True:
            finished = done.is_set()
            async for pe in reader.read_all(last):
                assert pe.offset > last
                seen.append((pe.persistence_id, pe.sequence_nr))
                last = pe.offset
            if finished:
                return
            await asyncio.sleep(0.001)

    await asyncio.gather(write_all(), tail())
    expected = {(f"w{n}-e{k}", s) for n in range(3) for k in range(8) for s in range(1, 31)}
    assert len(seen) == len(expected) == len(set(seen))
    assert set(seen) == expected


# -- schema checks ------------------------------------------------------------------


async def test_sqlite_file_without_schema_is_created(tmp_path: Path) -> None:
    async with SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}") as journal:
        assert await journal.current_revision() == head_revision()
        assert await journal.append("x", [1], 0) == 1


async def test_sqlite_pragmas_make_appends_durable(tmp_path: Path, raw_sql: Any) -> None:
    async with SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}") as journal:
        assert await raw_sql(journal, "PRAGMA journal_mode") == [("wal",)]
        assert await raw_sql(journal, "PRAGMA synchronous") == [(2,)]  # FULL
        assert (await raw_sql(journal, "PRAGMA busy_timeout"))[0][0] > 0


async def test_sqlite_without_auto_migrate_reports_missing_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"
    journal = SqlJournal(url, auto_migrate=False)
    with pytest.raises(SchemaError, match="casty-journal migrate upgrade --url"):
        await journal.highest_sequence_nr("x")
    await journal.close()


@pytest.mark.postgres
async def test_postgres_without_schema_raises_schema_error(postgres_url: str, pg_schema: str) -> None:
    journal = SqlJournal(postgres_url, schema=pg_schema)
    with pytest.raises(SchemaError) as info:
        await journal.append("x", [1], 0)
    assert "casty-journal migrate upgrade --url" in str(info.value)
    assert pg_schema in str(info.value)
    assert await journal.current_revision() is None
    await journal.create_schema()
    assert await journal.current_revision() == head_revision()
    assert await journal.append("x", [1], 0) == 1
    await journal.close()


@pytest.mark.postgres
async def test_postgres_auto_migrate_true_creates_the_schema(postgres_url: str, pg_schema: str) -> None:
    async with SqlJournal(postgres_url, schema=pg_schema, auto_migrate=True) as journal:
        assert await journal.current_revision() == head_revision()
    async with SqlJournal(postgres_url, schema=pg_schema) as journal:  # now up to date: no error
        assert await journal.highest_sequence_nr("x") == 0


async def test_unknown_revision_in_database_is_a_schema_error(sql_backend: Any, raw_sql: Any) -> None:
    journal = sql_backend.make()
    await raw_sql(journal, "UPDATE casty_alembic_version SET version_num = 'ffff_from_the_future'")
    other = sql_backend.make(auto_migrate=None)
    with pytest.raises(SchemaError, match="ffff_from_the_future"):
        await other.open()


async def test_tables_without_revision_stamp_are_a_schema_error(sql_backend: Any, raw_sql: Any) -> None:
    journal = sql_backend.make()
    await raw_sql(journal, "DROP TABLE casty_alembic_version")
    with pytest.raises(SchemaError, match="no schema revision"):
        await sql_backend.make(auto_migrate=True).open()


# -- bad URLs and unreachable databases ----------------------------------------------


@pytest.mark.parametrize(
    "url", ["mysql+aiomysql://u@h/db", "oracle://x", "sqlite+pysqlcipher:///x.db", "not a url"]
)
def test_unknown_url_scheme_is_invalid_argument(url: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        SqlJournal(url)
    assert "sqlite+aiosqlite" in str(info.value) and "postgresql+asyncpg" in str(info.value)


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="InMemoryJournal"):
        SqlJournal("sqlite+aiosqlite://")


def test_plain_schemes_map_to_the_async_drivers(tmp_path: Path) -> None:
    assert SqlJournal(f"sqlite:///{tmp_path / 'a.db'}").url.startswith("sqlite+aiosqlite:")
    assert SqlJournal("postgresql://u:secret@h/db").url == "postgresql+asyncpg://u:***@h/db"


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    journal = SqlJournal(f"sqlite+aiosqlite:///{path}")
    with pytest.raises(JournalUnavailable) as info:
        await journal.append("x", [1], 0)
    assert "not a database" in str(info.value) and "\n" not in str(info.value)
    await journal.close()
    assert path.read_text().startswith("these are my notes")  # untouched


async def test_a_missing_directory(tmp_path: Path) -> None:
    journal = SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(JournalUnavailable):
        await journal.highest_sequence_nr("x")
    await journal.close()


async def test_unreachable_postgres_is_journal_unavailable() -> None:
    journal = SqlJournal("postgresql+asyncpg://nobody:pw@127.0.0.1:1/nothing", connect_timeout=2)
    with pytest.raises(JournalUnavailable) as info:
        await journal.highest_sequence_nr("x")
    assert "127.0.0.1:1" in str(info.value) and "pw" not in str(info.value)
    await journal.close()


async def test_bad_arguments_are_invalid_argument(sql_journal: SqlJournal) -> None:
    with pytest.raises(InvalidArgument):
        await sql_journal.append("x" * 256, [1], 0)
    with pytest.raises(InvalidArgument):
        await sql_journal.append("x", [1], -1)
    with pytest.raises(InvalidArgument):
        await sql_journal.append("x", "abc", 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await sql_journal.append(42, [1], 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await sql_journal.append("nul\x00", [1], 0)
    with pytest.raises(InvalidArgument):
        SqlJournal("sqlite+aiosqlite:///x.db", keep_snapshots=0)
    assert await sql_journal.append("x", [1], 0) == 1


@pytest.mark.postgres
async def test_survives_the_server_dropping_its_connections(postgres_url: str, pg_schema: str) -> None:
    import asyncpg
    import sqlalchemy as sa

    async with SqlJournal(postgres_url, schema=pg_schema, auto_migrate=True) as journal:
        assert await journal.append("r", [1], 0) == 1
        async with journal.engine.connect() as conn:
            backend_pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend_pid)
        finally:
            await admin.close()
        assert await journal.append("r", [2], 1) == 2  # the pool replaced the dead connection
        assert await events_of(journal, "r") == [1, 2]


def test_sql_journal_is_an_event_journal(tmp_path: Path) -> None:
    from casty.persistence import EventJournal

    assert isinstance(SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"), EventJournal)
