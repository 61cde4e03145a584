from __future__ import annotations

import asyncio

import pytest

from casty import ActorSystem, Distributed
from casty.errors import InvalidArgument

from .conftest import Backend


async def test_counter_operations(d: Distributed, name: str) -> None:
    c = d.counter(name, shards=50)
    assert await c.get() == 0
    assert await c.increment() == 1
    assert await c.increment(5) == 6
    assert await c.decrement() == 5
    assert await c.decrement(10) == -5
    assert await c.compare_and_set(0, 1) is False
    assert await c.compare_and_set(-5, 7) is True
    assert await c.set(3) == 7
    assert await c.get() == 3


async def test_same_name_same_data(d: Distributed, name: str) -> None:
    await d.counter(name).increment(2)
    assert await d.counter(name).get() == 2
    assert await d.counter(name + "x").get() == 0


async def test_200_concurrent_increments_are_exact(d: Distributed, name: str) -> None:
    c = d.counter(name)
    results = await asyncio.gather(*(c.increment() for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    assert await c.get() == 200


@pytest.mark.parametrize("bad", ["1", 1.5, True, None])
async def test_bad_amount_is_refused(d: Distributed, name: str, bad: object) -> None:
    c = d.counter(name)
    with pytest.raises(InvalidArgument):
        await c.increment(bad)  # type: ignore[arg-type]
    assert await c.increment() == 1


async def test_counter_survives_restart(backend: Backend, name: str) -> None:
    journal = await backend.open()
    async with ActorSystem() as system:
        c = Distributed(system, journal=journal).counter(name)
        for _ in range(250):  # crosses snapshot boundaries? (snapshot_every=1000) — plain replay
            await c.increment()
    await backend.close(journal)
    journal = await backend.open()
    async with ActorSystem() as system:
        assert await Distributed(system, journal=journal).counter(name).increment() == 251
    await backend.close(journal)
