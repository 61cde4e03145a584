"""Ask timeouts share one timer per timeout value; they must still fire on time and not leak."""

from __future__ import annotations

import asyncio
import time

import pytest

from casty.actors import ActorSystem, Behaviors, ask
from casty.actors.ref import _deadlines
from casty.errors import AskTimeout


def _silent():  # type: ignore[no-untyped-def]
    async def ignore(ctx, msg):  # type: ignore[no-untyped-def]
        return Behaviors.same

    return Behaviors.receive(ignore)


def _echo():  # type: ignore[no-untyped-def]
    async def answer(ctx, msg):  # type: ignore[no-untyped-def]
        value, reply_to = msg
        reply_to.succeed(value)
        return Behaviors.same

    return Behaviors.receive(answer)


async def test_unanswered_asks_time_out_each_at_its_own_deadline() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(_silent())
        start = time.monotonic()

        async def timed(timeout: float) -> float:
            with pytest.raises(AskTimeout):
                await ask(ref, lambda r: ("x", r), timeout=timeout)
            return time.monotonic() - start

        # Same timeout asked at different moments, and mixed timeouts.
        first = asyncio.create_task(timed(0.2))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(timed(0.2))
        short = asyncio.create_task(timed(0.05))
        long = asyncio.create_task(timed(0.4))
        t1, t2, ts, tl = await asyncio.gather(first, second, short, long)
        # Never early (no upper bounds: a loaded machine may be late).
        assert t1 >= 0.19 and t2 >= 0.29 and ts >= 0.14 and tl >= 0.49
        assert t1 < t2 < tl and ts < t2


async def test_answered_asks_leave_nothing_behind() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(_echo())
        for i in range(5000):
            assert await ask(ref, lambda r, i=i: (i, r), timeout=0.3) == i
        results = await asyncio.gather(*(ask(ref, lambda r, i=i: (i, r), timeout=0.3) for i in range(3000)))
        assert results == list(range(3000))
        assert await ask(ref, lambda r: ("last", r), timeout=0.3) == "last"
        bucket = _deadlines(asyncio.get_running_loop()).buckets.get(0.3)
        assert bucket is None or len(bucket.entries) <= 1  # answered asks are dropped as new ones come
        for _ in range(100):
            await asyncio.sleep(0.1)
            if 0.3 not in _deadlines(asyncio.get_running_loop()).buckets:
                break
        assert 0.3 not in _deadlines(asyncio.get_running_loop()).buckets


async def test_an_answered_ask_behind_a_slow_one_is_not_expired() -> None:
    async with ActorSystem() as system:
        silent, echo = system.spawn(_silent()), system.spawn(_echo())
        slow = asyncio.create_task(ask(silent, lambda r: ("x", r), timeout=1.0))
        await asyncio.sleep(0)
        assert await ask(echo, lambda r: ("y", r), timeout=1.0) == "y"
        with pytest.raises(AskTimeout):
            await slow
