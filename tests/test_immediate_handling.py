"""Immediate handling (``handle_now``): an idle actor handles a message in the sender's call.

The actor guarantees must not change: one message at a time, arrival order,
supervision on failure, no starvation of other tasks, no unbounded recursion.
"""

from __future__ import annotations

import asyncio
from typing import Any

from casty import ActorSystem, Distributed
from casty.actors import Behaviors, ask


async def test_a_loop_of_immediate_asks_still_lets_other_tasks_run() -> None:
    async with ActorSystem() as system:
        queue = Distributed(system).queue[int]("q")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        task = asyncio.create_task(ticker())
        for _ in range(200):
            assert await queue.dequeue() is None  # answered at once: the queue is empty
        task.cancel()
        assert ticks >= 20


def _recorder(log: list[Any], *, fail_on: Any = None) -> Any:
    def now(ctx: Any, msg: Any) -> bool:
        if msg == "slow" or isinstance(msg, tuple):
            return False  # declined: goes through the mailbox and the task
        if msg == fail_on:
            raise RuntimeError("boom")
        log.append(("now", msg))
        if msg == "echo-self":
            ctx.send_to_self("from-self")
        return True

    async def handler(ctx: Any, msg: Any) -> Any:
        if isinstance(msg, tuple):
            msg[1].succeed(list(log))
            return Behaviors.same
        log.append(("task", msg))
        if msg == "echo-self":
            ctx.send_to_self("from-self")
        return Behaviors.same

    return Behaviors.supervise(Behaviors.receive(handler, handle_now=now))


async def test_order_is_kept_between_immediate_and_queued_messages() -> None:
    log: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(_recorder(log))
        await asyncio.sleep(0)  # let it start: now it is idle
        ref.tell("a")  # handled at once
        ref.tell("slow")  # queued for the task
        ref.tell("b")  # the task is busy/has mail: queued behind "slow"
        ref.tell("echo-self")
        await system.drain(ref)
        assert log[0] == ("now", "a")
        assert [m for _, m in log] == ["a", "slow", "b", "echo-self", "from-self"]


async def test_a_failure_in_handle_now_goes_through_supervision() -> None:
    log: list[Any] = []
    async with ActorSystem() as system:
        ref = system.spawn(_recorder(log, fail_on="bad"))
        await asyncio.sleep(0)
        ref.tell("bad")  # raises inside the sender's call: not propagated to the sender
        await system.drain(ref)
        assert ref.is_alive  # restarted by its supervisor
        ref.tell("after")
        await system.drain(ref)
        assert ("now", "after") in await ask(ref, lambda r: ("get", r), timeout=1)


async def test_actors_telling_each_other_immediately_do_not_recurse_without_bound() -> None:
    async with ActorSystem() as system:
        refs: list[Any] = []
        count = 0
        done = asyncio.get_running_loop().create_future()

        def now(ctx: Any, msg: int) -> bool:
            nonlocal count
            count += 1
            if msg == 0:
                done.set_result(count)
            else:
                refs[msg % 2].tell(msg - 1)  # ping-pong between two actors
            return True

        async def handler(ctx: Any, msg: int) -> Any:
            now(ctx, msg)
            return Behaviors.same

        refs.extend(system.spawn(Behaviors.receive(handler, handle_now=now)) for _ in range(2))
        await asyncio.sleep(0)
        refs[0].tell(5000)
        assert await asyncio.wait_for(done, 5) == 5001
