"""The EventJournal contract, run against every backend.

InMemoryJournal is the reference; SqlJournal on SQLite and on PostgreSQL must
behave the same way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest

from casty.errors import ConcurrencyConflict
from casty.persistence import EventJournal, PersistedEvent, register


@dataclass(frozen=True)
class Deposited:
    account: str
    amount: int


register(Deposited, name="tests.journal.Deposited")


async def read(journal: EventJournal, pid: str, lo: int = 1, hi: int | None = None) -> list[PersistedEvent]:
    return [pe async for pe in journal.read(pid, lo, hi)]


async def events_of(journal: EventJournal, pid: str, lo: int = 1, hi: int | None = None) -> list[Any]:
    return [pe.event for pe in await read(journal, pid, lo, hi)]


async def read_all(
    journal: EventJournal, from_offset: int = 0, limit: int | None = None
) -> list[PersistedEvent]:
    return [pe async for pe in journal.read_all(from_offset, limit)]


async def test_append_then_read_with_bounds(journal: EventJournal) -> None:
    assert await journal.append("acc-1", ["a", "b", "c"], 0) == 3
    assert await journal.append("acc-1", ["d"], 3) == 4
    stored = await read(journal, "acc-1")
    assert [pe.event for pe in stored] == ["a", "b", "c", "d"]
    assert [pe.sequence_nr for pe in stored] == [1, 2, 3, 4]
    assert all(pe.persistence_id == "acc-1" for pe in stored)
    assert all(abs(pe.timestamp - time.time()) < 60 for pe in stored)
    assert await events_of(journal, "acc-1", 2) == ["b", "c", "d"]
    assert await events_of(journal, "acc-1", 1, 2) == ["a", "b"]
    assert await events_of(journal, "acc-1", 3, 3) == ["c"]
    assert await events_of(journal, "acc-1", 5) == []
    assert await events_of(journal, "acc-1", 3, 2) == []
    assert await events_of(journal, "unknown") == []


async def test_typed_events_round_trip(journal: EventJournal) -> None:
    evs = [Deposited("alice", 10), {"k": (1, 2), 3: {4}}, None, 1.5, [b"\x00\xff"]]
    await journal.append("typed", evs, 0)
    assert await events_of(journal, "typed") == evs


async def test_highest_sequence_nr(journal: EventJournal) -> None:
    assert await journal.highest_sequence_nr("nobody") == 0
    await journal.append("h", [1, 2], 0)
    assert await journal.highest_sequence_nr("h") == 2
    await journal.append("h", [3], 2)
    assert await journal.highest_sequence_nr("h") == 3
    assert await journal.highest_sequence_nr("nobody") == 0


async def test_empty_append_checks_the_fence(journal: EventJournal) -> None:
    assert await journal.append("e", [], 0) == 0
    await journal.append("e", [1], 0)
    assert await journal.append("e", [], 1) == 1
    with pytest.raises(ConcurrencyConflict):
        await journal.append("e", [], 0)


async def test_wrong_expected_sequence_nr_is_a_conflict_and_stores_nothing(journal: EventJournal) -> None:
    with pytest.raises(ConcurrencyConflict) as info:
        await journal.append("c", ["x"], 5)
    assert info.value.persistence_id == "c"
    assert info.value.expected == 5
    await journal.append("c", ["a", "b"], 0)
    with pytest.raises(ConcurrencyConflict):
        await journal.append("c", ["x", "y", "z"], 1)  # stale writer
    with pytest.raises(ConcurrencyConflict):
        await journal.append("c", ["x"], 3)  # from the future
    assert await events_of(journal, "c") == ["a", "b"]
    assert await journal.highest_sequence_nr("c") == 2


async def test_multi_event_append_is_atomic(journal: EventJournal) -> None:
    await journal.append("m", ["a"], 0)
    with pytest.raises(ConcurrencyConflict):
        await journal.append("m", ["x1", "x2", "x3"], 0)
    assert await events_of(journal, "m") == ["a"]
    assert await journal.append("m", ["b", "c", "d"], 1) == 4
    assert await events_of(journal, "m") == ["a", "b", "c", "d"]
    assert [pe.event for pe in await read_all(journal)] == ["a", "b", "c", "d"]


async def test_two_concurrent_writers_at_the_same_expected_seq(backend: Any) -> None:
    j1 = backend.make()
    j2 = backend.make() if backend.is_sql else j1  # SQL: two engines racing on one database
    for round_ in range(5):
        pid = f"race-{round_}"
        results = await asyncio.gather(
            j1.append(pid, ["one-1", "one-2"], 0),
            j2.append(pid, ["two-1", "two-2", "two-3"], 0),
            return_exceptions=True,
        )
        wins = [r for r in results if isinstance(r, int)]
        conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
        assert len(wins) == 1 and len(conflicts) == 1, results
        stored = await events_of(j1, pid)
        assert stored in (["one-1", "one-2"], ["two-1", "two-2", "two-3"])
        assert await j2.highest_sequence_nr(pid) == len(stored) == wins[0]


async def test_delete_events_keeps_the_highest_sequence_nr(journal: EventJournal) -> None:
    await journal.append("d", ["a", "b", "c", "d", "e"], 0)
    await journal.delete_events("d", 3)
    assert [pe.sequence_nr for pe in await read(journal, "d")] == [4, 5]
    assert await events_of(journal, "d", 1, 4) == ["d"]
    assert await journal.highest_sequence_nr("d") == 5
    await journal.delete_events("d", 99)  # everything
    assert await events_of(journal, "d") == []
    assert await journal.highest_sequence_nr("d") == 5  # never lowers
    with pytest.raises(ConcurrencyConflict):
        await journal.append("d", ["reuse"], 0)  # a number is never reused
    with pytest.raises(ConcurrencyConflict):
        await journal.append("d", ["reuse"], 3)
    assert await journal.append("d", ["f"], 5) == 6
    assert [(pe.sequence_nr, pe.event) for pe in await read(journal, "d")] == [(6, "f")]
    await journal.delete_events("d", 0)  # no-op
    await journal.delete_events("unknown", 10)  # no-op
    assert await events_of(journal, "d") == ["f"]


async def test_deleted_events_leave_read_all(journal: EventJournal) -> None:
    await journal.append("x", [1, 2, 3], 0)
    await journal.append("y", [10], 0)
    await journal.delete_events("x", 2)
    assert [(pe.persistence_id, pe.event) for pe in await read_all(journal)] == [("x", 3), ("y", 10)]
    await journal.delete_events("x", 3)
    assert [(pe.persistence_id, pe.event) for pe in await read_all(journal)] == [("y", 10)]


async def test_snapshots_latest_wins_and_old_ones_are_pruned(backend: Any) -> None:
    journal = backend.make(keep_snapshots=2)
    assert await journal.load_snapshot("s") is None
    await journal.save_snapshot("s", 10, {"n": 10})
    await journal.save_snapshot("s", 20, {"n": 20})
    await journal.save_snapshot("s", 30, Deposited("bob", 30))
    snap = await journal.load_snapshot("s")
    assert snap is not None
    assert (snap.persistence_id, snap.sequence_nr, snap.state) == ("s", 30, Deposited("bob", 30))
    assert abs(snap.timestamp - time.time()) < 60
    assert await journal.snapshot_count("s") == 2
    await journal.save_snapshot("s", 30, {"n": "replaced"})  # same number: replaced
    snap = await journal.load_snapshot("s")
    assert snap is not None and snap.state == {"n": "replaced"}
    assert await journal.snapshot_count("s") == 2
    await journal.save_snapshot("s", 25, {"n": 25})  # older than the latest: latest still wins
    snap = await journal.load_snapshot("s")
    assert snap is not None and snap.sequence_nr == 30
    assert await journal.snapshot_count("s") == 2
    assert await journal.load_snapshot("other") is None


async def test_keep_snapshots_is_configurable(backend: Any) -> None:
    journal = backend.make(keep_snapshots=3)
    for seq in range(1, 8):
        await journal.save_snapshot("k", seq, seq)
    assert await journal.snapshot_count("k") == 3
    snap = await journal.load_snapshot("k")
    assert snap is not None and snap.state == 7


async def test_persistence_ids_sorted_with_prefix(journal: EventJournal) -> None:
    for pid in ["map:users:b", "counter:hits", "map:users:a", "map:orders:1", "counter:cats", "zeta"]:
        await journal.append(pid, [pid], 0)
    everything = [pid async for pid in journal.persistence_ids()]
    assert everything == sorted(everything)
    assert len(everything) == 6
    assert [pid async for pid in journal.persistence_ids("map:")] == [
        "map:orders:1",
        "map:users:a",
        "map:users:b",
    ]
    assert [pid async for pid in journal.persistence_ids("counter:")] == ["counter:cats", "counter:hits"]
    assert [pid async for pid in journal.persistence_ids("nope")] == []


async def test_read_all_is_ordered_and_resumable(journal: EventJournal) -> None:
    expected: list[tuple[str, int]] = []
    highest: dict[str, int] = {}
    for i in range(30):
        pid = f"p{i % 4}"
        n = highest.get(pid, 0)
        highest[pid] = await journal.append(pid, [i, i + 0.5], n)
        expected += [(pid, n + 1), (pid, n + 2)]
    everything = await read_all(journal)
    assert [(pe.persistence_id, pe.sequence_nr) for pe in everything] == expected
    offsets = [pe.offset for pe in everything]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    # resume from the middle, in pages
    resumed: list[PersistedEvent] = []
    cursor = everything[9].offset
    while True:
        page = await read_all(journal, cursor, limit=7)
        if not page:
            break
        assert len(page) <= 7
        resumed += page
        cursor = page[-1].offset
    assert resumed == everything[10:]
    assert await read_all(journal, everything[-1].offset) == []
    assert await read_all(journal, 0, limit=0) == []


async def test_one_megabyte_payloads(journal: EventJournal) -> None:
    big = "é" * 500_000 + "x" * 500_000  # 1,000,000 characters, 1.5 MB of UTF-8
    blob = bytes(range(256)) * 4096  # 1 MiB of bytes
    await journal.append("big", [big, blob], 0)
    assert await events_of(journal, "big") == [big, blob]
    await journal.save_snapshot("big", 2, {"big": big})
    snap = await journal.load_snapshot("big")
    assert snap is not None and snap.state == {"big": big}


ODD_IDS = [
    "it's",
    'say "hi"',
    "with space",
    "emoji 🎉🚀",
    "100%_done",
    "back\\slash",
    "ünïcödé/ключ/键",
    "semi;colon--",
    "",
    "x" * 255,
]


async def test_unicode_and_odd_persistence_ids(journal: EventJournal) -> None:
    for pid in ODD_IDS:
        assert await journal.append(pid, [f"event of {pid}", "日本語 ✓"], 0) == 2
        await journal.save_snapshot(pid, 2, pid)
    for pid in ODD_IDS:
        assert await events_of(journal, pid) == [f"event of {pid}", "日本語 ✓"]
        assert await journal.highest_sequence_nr(pid) == 2
        snap = await journal.load_snapshot(pid)
        assert snap is not None and snap.state == pid
    listed = [pid async for pid in journal.persistence_ids()]
    assert listed == sorted(ODD_IDS)
    assert [pid async for pid in journal.persistence_ids("100%")] == ["100%_done"]
    assert [pid async for pid in journal.persistence_ids("it'")] == ["it's"]
    assert [pid async for pid in journal.persistence_ids("emoji 🎉")] == ["emoji 🎉🚀"]


async def test_many_entities_appending_concurrently(journal: EventJournal) -> None:
    async def entity(n: int) -> None:
        seq = 0
        for i in range(5):
            seq = await journal.append(f"e{n}", [i], seq)

    await asyncio.gather(*(entity(n) for n in range(40)))
    for n in range(40):
        assert await events_of(journal, f"e{n}") == [0, 1, 2, 3, 4]
    assert len(await read_all(journal)) == 200


async def test_one_hundred_thousand_events_are_streamed(backend: Any) -> None:
    journal = backend.make()
    total, chunk = 100_000, 5_000
    seq = 0
    for start in range(0, total, chunk):
        seq = await journal.append("long", list(range(start, start + chunk)), seq)
    assert seq == total
    count = 0
    expected = 0
    async for pe in journal.read("long"):
        if count == 0 and backend.is_sql:
            # only the first page has been fetched, not the whole entity
            assert journal.rows_read <= 1000
        assert pe.event == expected and pe.sequence_nr == expected + 1
        expected += 1
        count += 1
    assert count == total
    if backend.is_sql:
        assert journal.rows_read == total
        before = journal.rows_read
        tail = [pe.sequence_nr async for pe in journal.read("long", total - 9)]
        assert tail == list(range(total - 9, total + 1))
        assert journal.rows_read - before == 10  # recovery reads only the tail
