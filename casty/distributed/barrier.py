"""Barrier: parties wait until ``expected`` of them have arrived, round after round."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from casty.actors.ref import Tellable
from casty.distributed.client import StructureClient, check_timeout
from casty.errors import BrokenBarrier, InvalidArgument
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect, Failure
from casty.persistence.entity import EntityType
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["BARRIER", "Barrier", "BarrierState"]


@serializable("casty.barrier.Arrival")
@dataclass(frozen=True, slots=True)
class Arrival:
    request_id: str
    deadline: float


@serializable("casty.barrier.State")
@dataclass(slots=True)
class BarrierState:
    """The current round number, its party count and who has arrived (party → arrival)."""

    round: int = 0
    expected: int = 0
    arrived: dict[str, Arrival] = field(default_factory=dict)


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Arrive:
    party: str
    request_id: str
    expected: int
    deadline: float


@dataclass(frozen=True, slots=True)
class Tick:
    now: float


@dataclass(frozen=True, slots=True)
class Count:
    pass


@dataclass(frozen=True, slots=True)
class Leave:
    """The caller of ``arrive`` gave up before the round completed."""

    party: str
    request_id: str


# -- events ---------------------------------------------------------------------
@serializable("casty.barrier.Arrived")
@dataclass(frozen=True, slots=True)
class Arrived:
    party: str
    request_id: str
    expected: int
    deadline: float


@serializable("casty.barrier.Left")
@dataclass(frozen=True, slots=True)
class Left:
    party: str


@serializable("casty.barrier.RoundCompleted")
@dataclass(frozen=True, slots=True)
class RoundCompleted:
    round: int


@serializable("casty.barrier.RoundBroken")
@dataclass(frozen=True, slots=True)
class RoundBroken:
    round: int
    party: str


BarrierEvent = Arrived | Left | RoundCompleted | RoundBroken


def _decide(state: BarrierState, command: object) -> Effect[BarrierEvent]:
    if type(command) is Arrive:
        if state.arrived and command.expected != state.expected:
            return Effect.fail(
                InvalidArgument(
                    f"barrier round {state.round} expects {state.expected} parties, not {command.expected}"
                )
            )
        effect: Effect[BarrierEvent] = Effect.persist(
            Arrived(command.party, command.request_id, command.expected, command.deadline)
        )
        previous = state.arrived.get(command.party)
        if previous is not None:
            effect = effect.and_notify(
                previous.request_id,
                Failure(InvalidArgument("superseded by a later arrive of the same party")),
            )
        effect = effect.then_park(command.request_id)
        parties = [a.request_id for p, a in state.arrived.items() if p != command.party]
        parties.append(command.request_id)
        if len(parties) >= command.expected:
            effect = effect.also(Effect.persist(RoundCompleted(state.round)))
            for index, rid in enumerate(parties):
                effect = effect.and_notify(rid, index)
        return effect
    if type(command) is Count:
        return Effect.reply(len(state.arrived))
    if type(command) is Leave:
        arrival = state.arrived.get(command.party)
        if arrival is None or arrival.request_id != command.request_id:
            return Effect.none()
        return Effect.persist(Left(command.party))
    if type(command) is Tick:
        late = [p for p, a in state.arrived.items() if a.deadline <= command.now]
        if not late:
            return Effect.none()
        effect = Effect.persist(RoundBroken(state.round, late[0]))
        error = BrokenBarrier(f"barrier round {state.round} broken: party {late[0]!r} timed out")
        for arrival in state.arrived.values():
            effect = effect.and_notify(arrival.request_id, Failure(error))
        return effect
    raise TypeError(f"unknown barrier command {command!r}")


def _evolve(state: BarrierState, event: BarrierEvent) -> BarrierState:
    if type(event) is Arrived:
        state.expected = event.expected
        state.arrived[event.party] = Arrival(event.request_id, event.deadline)
    elif type(event) is Left:
        state.arrived.pop(event.party, None)
        if not state.arrived:
            state.expected = 0
    else:
        state.round += 1
        state.expected = 0
        state.arrived.clear()
    return state


def _wakeup(state: BarrierState) -> float | None:
    return min(a.deadline for a in state.arrived.values()) if state.arrived else None


BARRIER: EntityType[BarrierState, object, BarrierEvent] = EntityType(
    name="barrier",
    initial=BarrierState,
    decide=_decide,
    evolve=_evolve,
    snapshot_every=200,
    wakeup=_wakeup,
    tick=Tick,
)
"""The barrier reducer: reusable rounds; a party that times out breaks the round for all."""


class Barrier(StructureClient):
    """A distributed, reusable barrier (like ``asyncio.Barrier`` across processes).

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         d = Distributed(system)
        ...         parties = [d.barrier("phase-1") for _ in range(3)]
        ...         return sorted(await asyncio.gather(*(p.arrive(expected=3) for p in parties)))
        >>> asyncio.run(main())
        [0, 1, 2]

    ``arrive`` returns the arrival index (0 … expected-1) once all have
    arrived. If any party's timeout passes first, the round is broken for
    everyone: all waiting ``arrive`` calls raise :class:`~casty.errors.BrokenBarrier`
    and the next round starts empty. ``node_id`` names the party (default:
    unique per client instance); a party that arrives again in the same round
    replaces its earlier arrival.
    """

    __slots__ = ("node_id",)

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        node_id: str | None = None,
    ) -> None:
        super().__init__(gateway, region, name, timeout)
        if node_id is not None and (type(node_id) is not str or not node_id):
            raise InvalidArgument(f"node_id must be a non-empty str, got {node_id!r}")
        self.node_id = node_id or self.owner

    async def arrive(self, expected: int, timeout: float | None = None) -> int:
        """Arrive and wait until ``expected`` parties have; return this party's arrival index."""
        if type(expected) is not int or expected < 1:
            raise InvalidArgument(f"expected must be a positive int, got {expected!r}")
        wait = self.timeout if timeout is None else check_timeout(timeout)
        rid = self._request_id()
        command = Arrive(self.node_id, rid, expected, time.time() + wait)
        return await self._ask_parked(command, wait + 1.0, lambda: Leave(self.node_id, rid))  # type: ignore[no-any-return]

    async def arrived(self) -> int:
        """How many parties are waiting in the current round."""
        return await self._ask(self.name, Count())  # type: ignore[no-any-return]
