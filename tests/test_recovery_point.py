"""``recovery_point``: the latest snapshot and highest sequence number in one round trip.

Checked on every journal that offers it, beside what ``load_snapshot`` and
``highest_sequence_nr`` say, and through the entity runtime (which uses it to
start entities).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from casty import ActorSystem, Distributed
from casty.errors import DecodeError
from casty.persistence import InMemoryJournal

PG_URL = os.environ.get("CASTY_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield InMemoryJournal()
        return
    from casty_journal_sql import SqlJournal

    if request.param == "sqlite":
        j = SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
        yield j
        await j.close()
        return
    postgres_url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("pg_schema")
    j = SqlJournal(postgres_url, schema=schema, auto_migrate=True)
    yield j
    await j.close()


@dataclass(frozen=True)
class Note:
    text: str


async def test_recovery_point_matches_snapshot_and_highest(journal: Any) -> None:
    pid = f"t:{uuid.uuid4().hex[:8]}"
    assert await journal.recovery_point(pid) == (None, 0)
    await journal.append(pid, [Note("a"), Note("b"), Note("c")], 0)
    snapshot, highest = await journal.recovery_point(pid)
    assert snapshot is None and highest == 3
    await journal.save_snapshot(pid, 2, {"notes": ["a", "b"]})
    await journal.save_snapshot(pid, 1, {"notes": ["a"]})
    snapshot, highest = await journal.recovery_point(pid)
    assert highest == 3 and snapshot is not None
    assert (snapshot.sequence_nr, snapshot.state) == (2, {"notes": ["a", "b"]})
    assert snapshot.state == (await journal.load_snapshot(pid)).state
    await journal.delete_events(pid, 3)  # retention never lowers the highest number
    assert (await journal.recovery_point(pid))[1] == 3 == await journal.highest_sequence_nr(pid)


async def test_concurrent_recovery_points_each_get_their_own(journal: Any) -> None:
    pids = [f"c:{uuid.uuid4().hex[:8]}:{i}" for i in range(120)]
    for i, pid in enumerate(pids[:60]):
        await journal.append(pid, [Note(str(n)) for n in range(i % 4 + 1)], 0)
    points = await asyncio.gather(*(journal.recovery_point(pid) for pid in pids))
    assert [h for _, h in points] == [i % 4 + 1 for i in range(60)] + [0] * 60
    assert all(s is None for s, _ in points)


async def test_an_undecodable_snapshot_fails_only_its_own_entity(tmp_path: Path) -> None:
    from casty_journal_sql import SqlJournal

    journal = SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    try:
        await journal.append("bad", [Note("x")], 0)
        await journal.save_snapshot("bad", 1, {"fine": 1})
        async with journal.engine.begin() as conn:
            await conn.exec_driver_sql('UPDATE casty_snapshots SET payload = \'{"$t":"no.such.Type"}\'')
        bad, good = await asyncio.gather(
            journal.recovery_point("bad"), journal.recovery_point("good"), return_exceptions=True
        )
        assert isinstance(bad, DecodeError) and "bad" in str(bad)
        assert good == (None, 0)
    finally:
        await journal.close()


async def test_entities_recover_through_recovery_points(tmp_path: Path) -> None:
    from casty_journal_sql import SqlJournal

    url = f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    journal = SqlJournal(url)
    async with ActorSystem() as system:
        d = Distributed(system, journal=journal)
        m, c = d.map[str, int]("m"), d.counter("c")
        await asyncio.gather(*(m.put(f"k{i}", i) for i in range(200)))
        for _ in range(150):
            await c.increment()
    await journal.close()
    journal = SqlJournal(url)
    async with ActorSystem() as system:
        d = Distributed(system, journal=journal)
        m, c = d.map[str, int]("m"), d.counter("c")
        assert await asyncio.gather(*(m.get(f"k{i}") for i in range(200))) == list(range(200))
        assert await c.get() == 150
        assert await c.increment() == 151
    await journal.close()
