"""Queue: a distributed FIFO queue with blocking ``take``."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from casty.actors.ref import Tellable
from casty.distributed.client import StructureClient, check_timeout, check_value
from casty.errors import AskTimeout
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect, Failure
from casty.persistence.entity import EntityType
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["QUEUE", "Queue", "QueueState"]

V = TypeVar("V")


@serializable("casty.queue.State")
@dataclass(slots=True)
class QueueState:
    """Items in FIFO order and the callers blocked in ``take`` (request id → deadline)."""

    items: deque[Any] = field(default_factory=deque)
    takers: dict[str, float] = field(default_factory=dict)


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Enqueue:
    item: Any
    now: float


@dataclass(frozen=True, slots=True)
class Dequeue:
    pass


@dataclass(frozen=True, slots=True)
class Take:
    request_id: str
    deadline: float
    now: float


@dataclass(frozen=True, slots=True)
class Peek:
    pass


@dataclass(frozen=True, slots=True)
class Size:
    pass


@dataclass(frozen=True, slots=True)
class Tick:
    now: float


@dataclass(frozen=True, slots=True)
class GiveBack:
    """An item taken for a caller that had gone: put it back at the head."""

    item: Any
    now: float


# -- events ---------------------------------------------------------------------
@serializable("casty.queue.Enqueued")
@dataclass(frozen=True, slots=True)
class Enqueued:
    item: Any


@serializable("casty.queue.Dequeued")
@dataclass(frozen=True, slots=True)
class Dequeued:
    """The head item was removed (by ``dequeue``, ``take``, or handed to a taker)."""

    taker: str | None = None


@serializable("casty.queue.Returned")
@dataclass(frozen=True, slots=True)
class Returned:
    item: Any


@serializable("casty.queue.TakerWaiting")
@dataclass(frozen=True, slots=True)
class TakerWaiting:
    request_id: str
    deadline: float


@serializable("casty.queue.TakerExpired")
@dataclass(frozen=True, slots=True)
class TakerExpired:
    request_id: str


QueueEvent = Enqueued | Dequeued | Returned | TakerWaiting | TakerExpired


def _hand_to_taker(state: QueueState, item: Any, now: float) -> Effect[QueueEvent] | None:
    for rid, deadline in state.takers.items():
        if deadline > now:
            return Effect.persist(Dequeued(rid)).and_notify(rid, item)
    return None


def _expire(state: QueueState, now: float) -> Effect[QueueEvent]:
    expired = [rid for rid, deadline in state.takers.items() if deadline <= now]
    effect: Effect[QueueEvent] = Effect.persist(*(TakerExpired(rid) for rid in expired))
    for rid in expired:
        effect = effect.and_notify(rid, Failure(AskTimeout("no item arrived before the take timed out")))
    return effect


def _decide(state: QueueState, command: object) -> Effect[QueueEvent]:
    kind = type(command)
    if kind is Enqueue or kind is GiveBack:
        item = command.item  # type: ignore[attr-defined]
        arrive = Enqueued(item) if kind is Enqueue else Returned(item)
        effect = Effect.persist(arrive)
        handed = _hand_to_taker(state, item, command.now)  # type: ignore[attr-defined]
        if handed is not None and not state.items:
            effect = effect.also(handed)
        return effect.then_reply(None) if kind is Enqueue else effect
    if kind is Dequeue:
        if not state.items:
            return Effect.reply(None)
        return Effect.persist(Dequeued()).then_reply(state.items[0])
    if kind is Take:
        if state.items:
            return Effect.persist(Dequeued()).then_reply(state.items[0])
        return Effect.persist(TakerWaiting(command.request_id, command.deadline)).then_park(  # type: ignore[attr-defined]
            command.request_id  # type: ignore[attr-defined]
        )
    if kind is Peek:
        return Effect.reply(state.items[0] if state.items else None)
    if kind is Size:
        return Effect.reply(len(state.items))
    if kind is Tick:
        return _expire(state, command.now)  # type: ignore[attr-defined]
    raise TypeError(f"unknown queue command {command!r}")


def _evolve(state: QueueState, event: QueueEvent) -> QueueState:
    kind = type(event)
    if kind is Enqueued:
        state.items.append(event.item)  # type: ignore[union-attr]
    elif kind is Dequeued:
        state.items.popleft()
        if event.taker is not None:  # type: ignore[union-attr]
            state.takers.pop(event.taker, None)  # type: ignore[union-attr]
    elif kind is Returned:
        state.items.appendleft(event.item)  # type: ignore[union-attr]
    elif kind is TakerWaiting:
        state.takers[event.request_id] = event.deadline  # type: ignore[union-attr]
    elif kind is TakerExpired:
        state.takers.pop(event.request_id, None)  # type: ignore[union-attr]
    return state


def _wakeup(state: QueueState) -> float | None:
    return min(state.takers.values()) if state.takers else None


QUEUE: EntityType[QueueState, object, QueueEvent] = EntityType(
    name="queue",
    initial=QueueState,
    decide=_decide,
    evolve=_evolve,
    snapshot_every=500,
    wakeup=_wakeup,
    tick=Tick,
    abandon=lambda request_id, item, now: GiveBack(item, now),
)
"""The queue reducer. An item handed to a taker that gave up is put back at the head."""


class Queue(StructureClient, Generic[V]):
    """A distributed FIFO queue (like Redisson ``RBlockingQueue``).

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         jobs = Distributed(system).queue[str]("jobs")
        ...         await jobs.enqueue("a"); await jobs.enqueue("b")
        ...         return await jobs.peek(), await jobs.dequeue(), await jobs.take(timeout=1), await jobs.size()
        >>> asyncio.run(main())
        ('a', 'a', 'b', 0)

    ``dequeue``/``peek`` return ``None`` when empty; ``take`` waits for an item.
    """

    __slots__ = ("_item_type",)

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        item_type: type | None = None,
    ) -> None:
        super().__init__(gateway, region, name, timeout)
        self._item_type = item_type

    async def enqueue(self, item: V) -> None:
        """Append ``item`` at the tail."""
        check_value(item, self._item_type, "item")
        await self._ask(self.name, Enqueue(item, time.time()))

    async def dequeue(self) -> V | None:
        """Remove and return the head item, or ``None`` if the queue is empty."""
        return await self._ask(self.name, Dequeue())  # type: ignore[no-any-return]

    async def take(self, timeout: float | None = None) -> V:
        """Remove and return the head item, waiting up to ``timeout`` seconds for one.

        Raises :class:`~casty.errors.AskTimeout` if none arrives in time. An
        item is never lost to a caller that gave up: it goes back to the head.
        """
        wait = self.timeout if timeout is None else check_timeout(timeout)
        now = time.time()
        command = Take(self._request_id(), now + wait, now)
        return await self._ask(self.name, command, timeout=wait + 1.0)  # type: ignore[no-any-return]

    async def peek(self) -> V | None:
        """The head item without removing it, or ``None``."""
        return await self._ask(self.name, Peek())  # type: ignore[no-any-return]

    async def size(self) -> int:
        """The number of items."""
        return await self._ask(self.name, Size())  # type: ignore[no-any-return]
