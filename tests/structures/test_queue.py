from __future__ import annotations

import asyncio

import pytest

from casty import ActorSystem, Distributed
from casty.errors import AskTimeout, InvalidArgument

from .conftest import Backend


async def test_fifo(d: Distributed, name: str) -> None:
    q = d.queue[str](name)
    assert await q.dequeue() is None
    assert await q.peek() is None
    for item in "abc":
        await q.enqueue(item)
    assert await q.size() == 3
    assert await q.peek() == "a"
    assert [await q.dequeue() for _ in range(3)] == ["a", "b", "c"]
    assert await q.size() == 0


async def test_take_waits_for_an_item(d: Distributed, name: str) -> None:
    q = d.queue[int](name)
    takers = [asyncio.ensure_future(q.take(timeout=5)) for _ in range(3)]
    await asyncio.sleep(0)  # the takers send their calls
    assert await q.size() == 0  # answered after the takes: they are parked, not answered
    assert not any(t.done() for t in takers)
    for i in range(3):
        await q.enqueue(i)
    assert sorted(await asyncio.gather(*takers)) == [0, 1, 2]
    assert await q.size() == 0


async def test_take_times_out(d: Distributed, name: str) -> None:
    q = d.queue[int](name)
    with pytest.raises(AskTimeout):
        await q.take(timeout=0.05)
    await q.enqueue(1)
    assert await q.take(timeout=1) == 1
    with pytest.raises(InvalidArgument):
        await q.take(timeout=-1)


async def test_item_for_a_gone_taker_is_not_lost(d: Distributed, name: str) -> None:
    q = d.queue[int](name)
    taker = asyncio.ensure_future(q.take(timeout=5))
    await asyncio.sleep(0)  # the taker sends its call
    assert await q.size() == 0  # answered after the take: it is parked
    taker.cancel()  # the caller gives up; its waiter stays in the entity until delivery
    await q.enqueue(42)
    assert await q.take(timeout=2) == 42


async def test_queue_survives_restart(backend: Backend, name: str) -> None:
    journal = await backend.open()
    async with ActorSystem() as system:
        q = Distributed(system, journal=journal).queue[int](name)
        for i in range(700):
            await q.enqueue(i)
        for _ in range(100):
            await q.dequeue()
    await backend.close(journal)
    journal = await backend.open()
    async with ActorSystem() as system:
        q = Distributed(system, journal=journal).queue[int](name)
        assert await q.size() == 600
        assert await q.dequeue() == 100
    await backend.close(journal)
