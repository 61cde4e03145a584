from __future__ import annotations

import asyncio
from typing import Any

import pytest

from casty import ActorSystem, Behaviors, SupervisorStrategy
from casty.actors import ActorContext, Behavior, ask
from casty.errors import ActorStopped, AskTimeout, InvalidArgument, MailboxFull


def accumulator(total: int = 0) -> Behavior[Any]:
    async def handle(ctx: ActorContext[Any], msg: Any) -> Behavior[Any]:
        match msg:
            case ("add", n):
                return accumulator(total + n)
            case ("get", reply_to):
                reply_to.succeed(total)
                return Behaviors.same
            case ("boom", _):
                raise RuntimeError("boom")
            case "stop":
                return Behaviors.stopped
        return Behaviors.same

    return Behaviors.receive(handle)


async def test_tell_and_ask() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(accumulator())
        for n in range(10):
            ref.tell(("add", n))
        assert await ref.ask(lambda r: ("get", r), timeout=1) == 45


async def test_ask_timeout_is_typed() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Behaviors.receive(lambda ctx, msg: _same()))
        with pytest.raises(AskTimeout):
            await ask(ref, lambda r: ("ignored", r), timeout=0.02)
        with pytest.raises(InvalidArgument):
            await ask(ref, lambda r: ("ignored", r), timeout=0)


async def _same() -> Behavior[Any]:
    return Behaviors.same


async def test_unsupervised_actor_stops_on_failure_and_system_survives() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(accumulator())
        ref.tell(("boom", None))
        await system.drain(ref)
        while ref.is_alive:
            await asyncio.sleep(0)
        with pytest.raises(ActorStopped):
            ref.tell(("add", 1))
        other = system.spawn(accumulator(5))
        assert await other.ask(lambda r: ("get", r), timeout=1) == 5


async def test_supervised_actor_restarts_with_initial_state() -> None:
    starts = 0

    async def setup(ctx: ActorContext[Any]) -> Behavior[Any]:
        nonlocal starts
        starts += 1
        return accumulator(100)

    async with ActorSystem() as system:
        ref = system.spawn(Behaviors.supervise(Behaviors.setup(setup), SupervisorStrategy.restart()))
        ref.tell(("add", 1))
        ref.tell(("boom", None))
        assert await ref.ask(lambda r: ("get", r), timeout=1) == 100
        assert starts == 2
        assert ref.is_alive


async def test_restart_limit_stops_the_actor() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(Behaviors.supervise(accumulator(), SupervisorStrategy.restart(max_restarts=2)))
        for _ in range(3):
            ref.tell(("boom", None))
        while ref.is_alive:
            await asyncio.sleep(0)


async def test_stopped_behavior_and_bounded_mailbox() -> None:
    async with ActorSystem() as system:
        ref = system.spawn(accumulator(), mailbox_capacity=2)
        ref.tell(("add", 1))
        ref.tell(("add", 1))
        with pytest.raises(MailboxFull):
            ref.tell(("add", 1))
        ref2 = system.spawn(accumulator())
        ref2.tell("stop")
        while ref2.is_alive:
            await asyncio.sleep(0)


async def test_timers_deliver_messages() -> None:
    got = asyncio.get_running_loop().create_future()

    async def setup(ctx: ActorContext[Any]) -> Behavior[Any]:
        ctx.schedule_once(0.01, "tick")

        async def handle(ctx: ActorContext[Any], msg: Any) -> Behavior[Any]:
            got.set_result(msg)
            return Behaviors.same

        return Behaviors.receive(handle)

    async with ActorSystem() as system:
        system.spawn(Behaviors.setup(setup))
        assert await asyncio.wait_for(got, 2) == "tick"


async def test_shutdown_stops_everything_and_refuses_spawns() -> None:
    system = ActorSystem()
    for _ in range(10):
        system.spawn(accumulator())
    assert system.live_actors == 10
    await system.shutdown()
    assert system.live_actors == 0
    with pytest.raises(ActorStopped):
        system.spawn(accumulator())
    await system.shutdown()  # idempotent
