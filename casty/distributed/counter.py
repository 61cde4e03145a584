"""Counter: a durable integer with atomic increments and compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass

from casty.distributed.client import StructureClient, check_int
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect
from casty.persistence.entity import EntityType

__all__ = ["COUNTER", "Counter"]


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True, match_args=True)
class Add:
    delta: int


@dataclass(frozen=True, slots=True, match_args=True)
class Get:
    pass


@dataclass(frozen=True, slots=True, match_args=True)
class SetValue:
    value: int


@dataclass(frozen=True, slots=True, match_args=True)
class CompareAndSet:
    expected: int
    new: int


# -- events ---------------------------------------------------------------------
@serializable("casty.counter.Added")
@dataclass(frozen=True, slots=True, match_args=True)
class Added:
    delta: int


@serializable("casty.counter.ValueSet")
@dataclass(frozen=True, slots=True, match_args=True)
class ValueSet:
    value: int


def _decide(value: int, command: object) -> Effect[Added | ValueSet]:
    # Class patterns without sub-patterns (``case Add():``) are plain isinstance
    # checks; positional captures would cost a __match_args__ lookup per call.
    match command:
        case Add():
            total = value + command.delta
            return Effect.persist(Added(command.delta)).then_reply(total)
        case Get():
            return Effect.reply(value)
        case CompareAndSet(expected, new):
            if value != expected:
                return Effect.reply(False)
            return Effect.persist(ValueSet(new)).then_reply(True)
        case SetValue(new):
            return Effect.persist(ValueSet(new)).then_reply(value)
    raise TypeError(f"unknown counter command {command!r}")


def _evolve(value: int, event: Added | ValueSet) -> int:
    match event:
        case Added():
            return value + event.delta
        case ValueSet():
            return event.value
    raise TypeError(f"unknown counter event {event!r}")


COUNTER: EntityType[int, object, Added | ValueSet] = EntityType(
    name="counter", initial=0, decide=_decide, evolve=_evolve, snapshot_every=1000
)
"""The counter reducer: state is the int value."""


class Counter(StructureClient):
    """A durable, atomic integer (like Redis ``INCR`` or Hazelcast ``IAtomicLong``).

    >>> import asyncio
    >>> from casty import ActorSystem, Distributed
    >>> async def main():
    ...     async with ActorSystem() as system:
    ...         hits = Distributed(system).counter("hits")
    ...         await hits.increment()
    ...         await hits.increment(5)
    ...         ok = await hits.compare_and_set(6, 10)
    ...         return await hits.decrement(), ok
    >>> asyncio.run(main())
    (9, True)
    """

    __slots__ = ()

    async def increment(self, n: int = 1) -> int:
        """Add ``n`` (default 1) and return the new value."""
        return await self._ask(self.name, Add(check_int(n, "n")))  # type: ignore[no-any-return]

    async def decrement(self, n: int = 1) -> int:
        """Subtract ``n`` (default 1) and return the new value."""
        return await self._ask(self.name, Add(-check_int(n, "n")))  # type: ignore[no-any-return]

    async def get(self) -> int:
        """The current value."""
        return await self._ask(self.name, Get())  # type: ignore[no-any-return]

    async def compare_and_set(self, expected: int, new: int) -> bool:
        """Set the value to ``new`` only if it is ``expected``; ``True`` if it was set."""
        command = CompareAndSet(check_int(expected, "expected"), check_int(new, "new"))
        return await self._ask(self.name, command)  # type: ignore[no-any-return]

    async def set(self, value: int) -> int:
        """Set the value unconditionally; return the previous value."""
        return await self._ask(self.name, SetValue(check_int(value, "value")))  # type: ignore[no-any-return]
