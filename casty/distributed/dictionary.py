"""Dict: a distributed map with one entity per key (so keys scale across shards)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from casty.actors.ref import Tellable
from casty.distributed.client import StructureClient, check_value
from casty.errors import InvalidArgument
from casty.persistence.codec import default_codec, serializable
from casty.persistence.effect import Effect
from casty.persistence.entity import EntityType
from casty.persistence.journal import EventJournal
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["DICT_ENTRY", "Dict", "Entry"]

K = TypeVar("K")
V = TypeVar("V")


@serializable("casty.map.Entry")
@dataclass(frozen=True, slots=True)
class Entry:
    """The state of a present key (an absent key's state is ``None``).

    ``key`` is kept only for keys too long to be part of a persistence id
    (those entities are named by a hash of the key).
    """

    value: Any
    key: Any = None


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Put:
    value: Any
    only_if_absent: bool = False
    key: Any = None


@dataclass(frozen=True, slots=True)
class Get:
    pass


@dataclass(frozen=True, slots=True)
class Delete:
    pass


# -- events ---------------------------------------------------------------------
@serializable("casty.map.ValuePut")
@dataclass(frozen=True, slots=True)
class ValuePut:
    value: Any
    key: Any = None


@serializable("casty.map.KeyDeleted")
@dataclass(frozen=True, slots=True)
class KeyDeleted:
    pass


def _decide(entry: Entry | None, command: object) -> Effect[ValuePut | KeyDeleted]:
    match command:
        case Get():
            return Effect.reply(entry)
        case Put():  # no positional captures: a plain isinstance check (hot path)
            if command.only_if_absent and entry is not None:
                return Effect.reply(entry)
            return Effect.persist(ValuePut(command.value, command.key)).then_reply(entry)
        case Delete():
            if entry is None:
                return Effect.reply(False)
            return Effect.persist(KeyDeleted()).then_reply(True)
    raise TypeError(f"unknown map command {command!r}")


def _evolve(entry: Entry | None, event: ValuePut | KeyDeleted) -> Entry | None:
    return Entry(event.value, event.key) if isinstance(event, ValuePut) else None


DICT_ENTRY: EntityType[Entry | None, object, ValuePut | KeyDeleted] = EntityType(
    name="map", initial=None, decide=_decide, evolve=_evolve, snapshot_every=100
)
"""The reducer of one map key: state is ``Entry(value)`` or ``None``."""


MAX_PERSISTENCE_ID = 255
"""The longest persistence id a journal stores (the SQL column's width)."""
_HASHED = "~h:"


def key_to_entity_id(key: object) -> str:
    """``str`` keys are used as is; other keys as ``~j:`` + their JSON encoding.

    A ``str`` key that itself starts with ``~`` is escaped as ``~s:key``.
    """
    if type(key) is str:
        return "~s:" + key if key.startswith("~") else key
    return "~j:" + default_codec.dumps(key)


def entity_id_to_key(entity_id: str) -> Any:
    """Inverse of :func:`key_to_entity_id`."""
    if entity_id.startswith("~j:"):
        return default_codec.loads(entity_id[3:])
    if entity_id.startswith("~s:"):
        return entity_id[3:]
    return entity_id


class Dict(StructureClient, Generic[K, V]):
    """A distributed dictionary; each key is its own entity, spread over the shards.

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         ages = Distributed(system).map[str, int]("ages")
        ...         first = await ages.put("alice", 30)
        ...         second = await ages.put("alice", 31)
        ...         return first, second, await ages.get("alice"), await ages.delete("alice")
        >>> asyncio.run(main())
        (None, 30, 31, True)

    ``get`` returns ``None`` for a missing key, so store ``None`` only if you
    use :meth:`contains` to tell the two apart.
    """

    __slots__ = ("_journal", "_key_type", "_max_id")

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        key_type: type | None = None,
        value_type: type | None = None,
        journal: EventJournal | None = None,
    ) -> None:
        super().__init__(gateway, region, name, timeout, value_type=value_type)
        self._max_id = MAX_PERSISTENCE_ID - len(f"map:{name}:")
        self._key_type = key_type
        self._journal = journal

    def _entity(self, key: K) -> str:
        check_value(key, self._key_type, "key")
        entity_id = key_to_entity_id(key)
        if len(entity_id) > self._max_id or "\x00" in entity_id:
            return _HASHED + hashlib.sha256(default_codec.dumps(key).encode()).hexdigest()
        return entity_id

    def _put(self, key: K, value: V, only_if_absent: bool) -> Any:
        entity = self._entity(key)
        self._checked(value, "value")
        return self._ask(entity, Put(value, only_if_absent, key if entity.startswith(_HASHED) else None))

    async def put(self, key: K, value: V) -> V | None:
        """Store ``value`` under ``key``; return the previous value or ``None``."""
        previous: Entry | None = await self._put(key, value, False)
        return None if previous is None else previous.value

    async def put_if_absent(self, key: K, value: V) -> V | None:
        """Store ``value`` only if ``key`` is absent; return the existing value or ``None``."""
        existing: Entry | None = await self._put(key, value, True)
        return None if existing is None else existing.value

    async def get(self, key: K, default: V | None = None) -> V | None:
        """The value under ``key``, or ``default`` (``None``) if absent."""
        entry: Entry | None = await self._ask(self._entity(key), Get())
        return default if entry is None else entry.value

    async def contains(self, key: K) -> bool:
        """``True`` if ``key`` is present."""
        return await self._ask(self._entity(key), Get()) is not None

    async def delete(self, key: K) -> bool:
        """Remove ``key``; ``True`` if it was present."""
        return await self._ask(self._entity(key), Delete())  # type: ignore[no-any-return]

    async def keys(self) -> AsyncIterator[K]:
        """Stream the present keys (in the journal's id order).

        Every key ever written is looked up, so this costs one call per key
        ever written: meant for administration and small maps, not hot paths.
        """
        if self._journal is None:
            raise InvalidArgument("keys() needs the map's journal: create the map through Distributed")
        prefix = f"map:{self.name}:"
        async for pid in self._journal.persistence_ids(prefix):
            entity_id = pid[len(prefix) :]
            entry: Entry | None = await self._ask(entity_id, Get())
            if entry is not None:
                yield entry.key if entity_id.startswith(_HASHED) else entity_id_to_key(entity_id)

    async def size(self) -> int:
        """The number of present keys (see :meth:`keys` for the cost)."""
        return sum([1 async for _ in self.keys()])
