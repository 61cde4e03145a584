from __future__ import annotations

import asyncio

import pytest

from casty import Distributed
from casty.errors import BrokenBarrier, InvalidArgument


async def test_releases_everyone_together_and_is_reusable(d: Distributed, name: str) -> None:
    for _round in range(2):
        released: list[int] = []

        async def party(i: int, released: list[int] = released) -> int:
            index = await d.barrier(name).arrive(expected=3)
            released.append(i)
            return index

        first_two = [asyncio.ensure_future(party(i)) for i in range(2)]
        await until_arrived(d, name, 2)
        assert released == []  # nobody passes before the third arrives
        last = await party(2)
        indexes = sorted([*(await asyncio.gather(*first_two)), last])
        assert indexes == [0, 1, 2]
        assert sorted(released) == [0, 1, 2]


async def test_different_expected_in_a_round_is_refused(d: Distributed, name: str) -> None:
    waiting = asyncio.ensure_future(d.barrier(name).arrive(expected=2, timeout=5))
    await until_arrived(d, name, 1)
    with pytest.raises(ValueError):
        await d.barrier(name).arrive(expected=3)
    assert await d.barrier(name).arrive(expected=2) in (0, 1)
    assert await waiting in (0, 1)


async def test_timeout_breaks_the_round_for_everyone(d: Distributed, name: str) -> None:
    patient = asyncio.ensure_future(d.barrier(name).arrive(expected=3, timeout=10))
    await until_arrived(d, name, 1)
    with pytest.raises(BrokenBarrier):
        await d.barrier(name).arrive(expected=3, timeout=0.05)
    with pytest.raises(BrokenBarrier):
        await patient
    # the next round starts empty
    results = await asyncio.gather(*(d.barrier(name).arrive(expected=2) for _ in range(2)))
    assert sorted(results) == [0, 1]


async def test_bad_arguments(d: Distributed, name: str) -> None:
    with pytest.raises(InvalidArgument):
        await d.barrier(name).arrive(expected=0)
    with pytest.raises(InvalidArgument):
        d.barrier(name, node_id="")


async def test_a_party_that_gives_up_leaves_the_round(d: Distributed, name: str) -> None:
    quitter = asyncio.ensure_future(d.barrier(name).arrive(expected=2, timeout=10))
    await until_arrived(d, name, 1)
    quitter.cancel()
    await until_arrived(d, name, 0)
    with pytest.raises(BrokenBarrier):  # alone in the round: the other party left
        await d.barrier(name).arrive(expected=2, timeout=0.1)


async def until_arrived(d: Distributed, name: str, parties: int) -> None:
    """Wait until the entity has recorded ``parties`` arrivals (its answers come in order)."""
    await asyncio.sleep(0)  # let the arriving tasks send their calls
    while await d.barrier(name).arrived() != parties:
        await asyncio.sleep(0)
