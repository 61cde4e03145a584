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


async def test_an_immediate_setup_starts_without_a_task_until_mail_must_wait() -> None:
    log: list[Any] = []
    stopped: list[str] = []

    def setup(ctx: Any) -> Any:
        def now(ctx: Any, msg: Any) -> bool:
            if msg == "queue-me":
                return False
            log.append(msg)
            return True

        async def handler(ctx: Any, msg: Any) -> Any:
            log.append(("task", msg))
            return Behaviors.same

        return Behaviors.receive(handler, handle_now=now, on_stop=lambda ctx: stopped.append("x"))

    async with ActorSystem() as system:
        ref = system.spawn(Behaviors.setup(setup, immediate=True))
        cell = ref._cell
        assert cell.task is None and cell.is_idle
        ref.tell(1)
        assert log == [1] and cell.task is None  # handled in this call
        ref.tell("queue-me")
        assert cell.task is not None  # now it needs one
        await system.drain(ref)
        ref.tell(2)
        assert log == [1, ("task", "queue-me"), 2]
        idle = system.spawn(Behaviors.setup(setup, immediate=True))
        assert idle._cell.task is None
    assert stopped == ["x", "x"]  # shutdown stopped both, task or not
    assert not idle.is_alive


async def test_a_failing_immediate_setup_stops_the_actor_like_a_failing_start() -> None:
    def setup(ctx: Any) -> Any:
        raise RuntimeError("no")

    async with ActorSystem() as system:
        ref = system.spawn(Behaviors.setup(setup, immediate=True))
        assert ref.is_alive  # reported by its task, after spawn returned
        for _ in range(10):
            await asyncio.sleep(0)
        assert not ref.is_alive


async def test_in_memory_entities_passivate_and_come_back_with_their_state() -> None:
    async with ActorSystem() as system:
        d = Distributed(system, passivate_after=0.05)
        ages = d.map[str, int]("ages")
        await ages.put("alice", 30)
        region = system._regions["map:ages"]
        assert region._entities["alice"].cell.task is None
        for _ in range(100):
            await asyncio.sleep(0.02)
            if region.live_entities == 0:
                break
        assert region.live_entities == 0
        assert await ages.get("alice") == 30
