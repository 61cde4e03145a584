"""Set: a distributed set of unique members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from casty.distributed.client import StructureClient
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect
from casty.persistence.entity import EntityType

__all__ = ["SET", "Set"]

V = TypeVar("V")


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Add:
    member: Any


@dataclass(frozen=True, slots=True)
class Remove:
    member: Any


@dataclass(frozen=True, slots=True)
class Contains:
    member: Any


@dataclass(frozen=True, slots=True)
class Size:
    pass


@dataclass(frozen=True, slots=True)
class Members:
    pass


@dataclass(frozen=True, slots=True)
class Clear:
    pass


# -- events ---------------------------------------------------------------------
@serializable("casty.set.MemberAdded")
@dataclass(frozen=True, slots=True)
class MemberAdded:
    member: Any


@serializable("casty.set.MemberRemoved")
@dataclass(frozen=True, slots=True)
class MemberRemoved:
    member: Any


@serializable("casty.set.Cleared")
@dataclass(frozen=True, slots=True)
class Cleared:
    pass


SetEvent = MemberAdded | MemberRemoved | Cleared


def _decide(members: set[Any], command: object) -> Effect[SetEvent]:
    match command:
        case Add(member):
            if member in members:
                return Effect.reply(False)
            return Effect.persist(MemberAdded(member)).then_reply(True)
        case Remove(member):
            if member not in members:
                return Effect.reply(False)
            return Effect.persist(MemberRemoved(member)).then_reply(True)
        case Contains(member):
            return Effect.reply(member in members)
        case Size():
            return Effect.reply(len(members))
        case Members():
            return Effect.reply(frozenset(members))
        case Clear():
            return Effect.persist(Cleared()).then_reply(len(members)) if members else Effect.reply(0)
    raise TypeError(f"unknown set command {command!r}")


def _evolve(members: set[Any], event: SetEvent) -> set[Any]:
    match event:
        case MemberAdded(member):
            members.add(member)
        case MemberRemoved(member):
            members.discard(member)
        case Cleared():
            members.clear()
    return members


SET: EntityType[set[Any], object, SetEvent] = EntityType(
    name="set", initial=set, decide=_decide, evolve=_evolve, snapshot_every=500
)
"""The set reducer: state is a Python ``set`` (updated in place)."""


class Set(StructureClient, Generic[V]):
    """A distributed set (like Redis ``SADD``/``SISMEMBER`` or Hazelcast ``ISet``).

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         tags = Distributed(system).set[str]("tags")
        ...         added = [await tags.add("a"), await tags.add("a"), await tags.add("b")]
        ...         return added, await tags.contains("a"), await tags.size()
        >>> asyncio.run(main())
        ([True, False, True], True, 2)

    Members must be hashable and serializable.
    """

    __slots__ = ()

    def _check(self, member: V) -> V:
        self._checked(member, "member")
        try:
            hash(member)
        except TypeError:
            from casty.errors import InvalidArgument

            raise InvalidArgument(f"set members must be hashable, got {type(member).__name__}") from None
        return member

    async def add(self, member: V) -> bool:
        """Add ``member``; ``True`` if it was not there before."""
        return await self._ask(self.name, Add(self._check(member)))  # type: ignore[no-any-return]

    async def remove(self, member: V) -> bool:
        """Remove ``member``; ``True`` if it was there."""
        return await self._ask(self.name, Remove(self._check(member)))  # type: ignore[no-any-return]

    async def contains(self, member: V) -> bool:
        """``True`` if ``member`` is in the set."""
        return await self._ask(self.name, Contains(self._check(member)))  # type: ignore[no-any-return]

    async def size(self) -> int:
        """The number of members."""
        return await self._ask(self.name, Size())  # type: ignore[no-any-return]

    async def members(self) -> frozenset[V]:
        """A copy of all members."""
        return await self._ask(self.name, Members())  # type: ignore[no-any-return]

    async def clear(self) -> int:
        """Remove every member; return how many there were."""
        return await self._ask(self.name, Clear())  # type: ignore[no-any-return]
