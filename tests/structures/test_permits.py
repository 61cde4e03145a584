from __future__ import annotations

import asyncio

import pytest

from casty import Distributed
from casty.errors import AskTimeout, InvalidArgument


async def test_lock_basics(d: Distributed, name: str) -> None:
    a, b = d.lock(name), d.lock(name)
    assert a.owner != b.owner
    token = await a.acquire()
    assert await b.try_acquire() is False
    assert await b.release() is False  # not the owner
    assert await a.locked() is True
    assert await a.held_by_me() and not await b.held_by_me()
    assert await a.release() is True
    assert await a.release() is False
    assert await b.try_acquire() is True
    assert b.token is not None and b.token > token  # fencing tokens grow
    await b.release()


async def test_50_racing_lockers_never_overlap(d: Distributed, name: str) -> None:
    inside = 0
    max_inside = 0
    order: list[int] = []

    async def worker(i: int) -> None:
        nonlocal inside, max_inside
        lock = d.lock(name, timeout=30)
        async with lock:
            inside += 1
            max_inside = max(max_inside, inside)
            await asyncio.sleep(0)
            order.append(i)
            inside -= 1

    await asyncio.gather(*(worker(i) for i in range(50)))
    assert max_inside == 1
    assert sorted(order) == list(range(50))
    assert await d.lock(name).locked() is False


async def test_waiters_are_served_fifo(d: Distributed, name: str) -> None:
    holder = d.lock(name)
    await holder.acquire()
    served: list[int] = []

    async def wait(i: int) -> None:
        lock = d.lock(name)
        await lock.acquire(timeout=10)
        served.append(i)
        await lock.release()

    tasks = []
    for i in range(5):
        tasks.append(asyncio.ensure_future(wait(i)))
        while (await holder.status()).waiting != i + 1:  # wait until queued, in order
            await asyncio.sleep(0.001)
    await holder.release()
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4]


async def test_acquire_times_out_and_the_waiter_does_not_hold_the_lock(d: Distributed, name: str) -> None:
    holder, waiter, third = d.lock(name), d.lock(name), d.lock(name)
    await holder.acquire()
    with pytest.raises(AskTimeout):
        await waiter.acquire(timeout=0.05)
    await holder.release()
    assert await third.try_acquire() is True  # the timed-out waiter got nothing


async def test_lease_expires(d: Distributed, name: str) -> None:
    crashed = d.lock(name)
    await crashed.acquire(lease=0.05)
    other = d.lock(name)
    token = await other.acquire(timeout=5)  # granted when the lease runs out
    assert token == (crashed.token or 0) + 1
    assert await crashed.release() is False
    assert await other.extend(10) is True
    assert await other.release() is True


async def test_semaphore_never_exceeds_permits(d: Distributed, name: str) -> None:
    inside = 0
    peak = 0

    async def worker() -> None:
        nonlocal inside, peak
        async with d.semaphore(name, permits=5, timeout=30):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(worker() for _ in range(40)))
    assert peak == 5
    status = await d.semaphore(name, permits=5).status()
    assert status.available == 5 and status.waiting == 0


async def test_semaphore_owner_semantics(d: Distributed, name: str) -> None:
    a = d.semaphore(name, permits=2)
    b = d.semaphore(name, permits=2)
    await a.acquire()
    await a.acquire()
    assert await b.try_acquire() is False
    assert await b.release() is False
    assert await a.release() is True
    assert await b.try_acquire() is True


@pytest.mark.parametrize("bad", [0, -1, "3", 2.0, True])
async def test_invalid_permits(d: Distributed, name: str, bad: object) -> None:
    with pytest.raises(InvalidArgument):
        d.semaphore(name, permits=bad)  # type: ignore[arg-type]


async def test_mismatched_permits(d: Distributed, name: str) -> None:
    await d.semaphore(name, permits=3).acquire()
    with pytest.raises(InvalidArgument, match="3 permits"):
        await d.semaphore(name, permits=4).acquire()


async def test_permit_granted_to_a_caller_that_gave_up_is_given_back(d: Distributed, name: str) -> None:
    holder, quitter, third = d.lock(name), d.lock(name), d.lock(name)
    await holder.acquire()
    waiting = asyncio.ensure_future(quitter.acquire(timeout=30))
    while (await holder.status()).waiting != 1:
        await asyncio.sleep(0.001)
    waiting.cancel()  # the caller is gone but its waiter is still queued in the entity
    await holder.release()  # grants to the gone caller, which gives the permit back
    assert await third.acquire(timeout=5) > 0
    assert await third.held_by_me()


async def test_status_before_first_use(d: Distributed, name: str) -> None:
    assert await d.lock(name).locked() is False
    status = await d.semaphore(name + "s", permits=3).status()
    assert (status.permits, status.available, status.waiting) == (3, 3, 0)


async def test_cancelled_acquire_withdraws_the_waiter(d: Distributed, name: str) -> None:
    holder = d.lock(name)
    await holder.acquire()
    waiting = asyncio.ensure_future(d.lock(name).acquire(timeout=30))
    while (await holder.status()).waiting != 1:
        await asyncio.sleep(0.001)
    waiting.cancel()
    while (await holder.status()).waiting != 0:
        await asyncio.sleep(0.001)
    await holder.release()
    assert await d.lock(name).try_acquire()
