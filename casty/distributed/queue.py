"""Queue: a distributed FIFO queue with blocking ``take``."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from casty.distributed.client import StructureClient, check_timeout
from casty.errors import AskTimeout
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect, Failure
from casty.persistence.entity import EntityType

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
class CancelTake:
    """The caller of a ``take`` gave up."""

    request_id: str


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


def _hand_to_taker(state: QueueState, item: Any, now: float) -> Effect[Dequeued] | None:
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


def _arrive(state: QueueState, arrival: Enqueued | Returned, now: float) -> Effect[QueueEvent]:
    effect: Effect[QueueEvent] = Effect.persist(arrival)
    handed = None if state.items else _hand_to_taker(state, arrival.item, now)
    return effect if handed is None else effect.also(handed)


def _decide(state: QueueState, command: object) -> Effect[QueueEvent]:
    match command:
        case Enqueue(item, now):
            return _arrive(state, Enqueued(item), now).then_reply(None)
        case GiveBack(item, now):
            return _arrive(state, Returned(item), now)
        case Dequeue():
            if not state.items:
                return Effect.reply(None)
            return Effect.persist(Dequeued()).then_reply(state.items[0])
        case Take(request_id, deadline, _now):
            if state.items:
                return Effect.persist(Dequeued()).then_reply(state.items[0])
            return Effect.persist(TakerWaiting(request_id, deadline)).then_park(request_id)
        case Peek():
            return Effect.reply(state.items[0] if state.items else None)
        case Size():
            return Effect.reply(len(state.items))
        case Tick(now):
            return _expire(state, now)
        case CancelTake(request_id):
            return Effect.persist(TakerExpired(request_id)) if request_id in state.takers else Effect.none()
    raise TypeError(f"unknown queue command {command!r}")


def _evolve(state: QueueState, event: QueueEvent) -> QueueState:
    match event:
        case Enqueued(item):
            state.items.append(item)
        case Dequeued(taker):
            state.items.popleft()
            if taker is not None:
                state.takers.pop(taker, None)
        case Returned(item):
            state.items.appendleft(item)
        case TakerWaiting(request_id, deadline):
            state.takers[request_id] = deadline
        case TakerExpired(request_id):
            state.takers.pop(request_id, None)
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
        ...         head = await jobs.peek()
        ...         return head, await jobs.dequeue(), await jobs.take(timeout=1), await jobs.size()
        >>> asyncio.run(main())
        ('a', 'a', 'b', 0)

    ``dequeue``/``peek`` return ``None`` when empty; ``take`` waits for an item.
    """

    __slots__ = ()

    async def enqueue(self, item: V) -> None:
        """Append ``item`` at the tail."""
        self._checked(item, "item")
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
        rid = self._request_id()
        return await self._ask_parked(Take(rid, now + wait, now), wait + 1.0, lambda: CancelTake(rid))  # type: ignore[no-any-return]

    async def peek(self) -> V | None:
        """The head item without removing it, or ``None``."""
        return await self._ask(self.name, Peek())  # type: ignore[no-any-return]

    async def size(self) -> int:
        """The number of items."""
        return await self._ask(self.name, Size())  # type: ignore[no-any-return]
